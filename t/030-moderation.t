# /api/moderation, one request at a time: input validation (checked
# before any access check), anonymous callers, the public lists and
# filters, methods and the CSRF rule.  The signed-in flows, the permission
# matrix and the events are in t/031-moderation-flow.t.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", <<'_EOC_');
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    location /api/ { twitch_api; }
_EOC_
    }

    if (!defined $block->no_error_log && !defined $block->error_log) {
        $block->set_value("no_error_log", "[error]\n[warn]\n");
    }
});

run_tests();

__DATA__

=== TEST 1: ban: userId is required, before any access check
--- request
POST /api/moderation/1/ban
{}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId is required"}



=== TEST 2: ban: userId must be a number
--- request
POST /api/moderation/1/ban
{"userId":"4"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId must be an integer"}



=== TEST 3: ban: userId must be positive
--- request
POST /api/moderation/1/ban
{"userId":0}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId must be from 1 to 9223372036854775807"}



=== TEST 4: ban: durationSeconds out of range
--- request
POST /api/moderation/1/ban
{"userId":4,"durationSeconds":1209601}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationSeconds must be from 1 to 1209600"}



=== TEST 5: ban: reason longer than 500 characters
--- request
POST /api/moderation/1/ban
{"userId":4,"reason":"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"reason must be at most 500 characters"}



=== TEST 6: ban: reason must be a string
--- request
POST /api/moderation/1/ban
{"userId":4,"reason":["x"]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"reason must be a string"}



=== TEST 7: ban: a channel id that is not a number
--- request
POST /api/moderation/shroud/ban
{"userId":4}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"channelId must be a positive integer"}



=== TEST 8: ban: anonymous is 401
--- request
POST /api/moderation/1/ban
{"userId":4}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 9: ban: a forged session is 401
--- request
POST /api/moderation/1/ban
{"userId":4}
--- more_headers
Content-Type: application/json
Cookie: session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
--- error_code: 401
--- response_body chomp
{"error":"Session expired"}



=== TEST 10: ban: GET is 405 with Allow
--- request
GET /api/moderation/1/ban
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body chomp
{"error":"Method not allowed"}



=== TEST 11: ban: a cross-site form post is refused
--- request
POST /api/moderation/1/ban
userId=4
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 403
--- response_body_like: ^\{"error":"state-changing requests must be sent with Content-Type: application/json"\}$



=== TEST 12: ban: a foreign Origin is refused
--- request
POST /api/moderation/1/ban
{"userId":4}
--- more_headers
Content-Type: application/json
Origin: http://evil.example
--- error_code: 403
--- response_body chomp
{"error":"cross-site request refused"}
--- error_log
cross-site request from origin



=== TEST 13: unban: the user id must be a number
--- request
DELETE /api/moderation/1/ban/ninja
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId must be a positive integer"}



=== TEST 14: unban: anonymous is 401
--- request
DELETE /api/moderation/1/ban/4
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 15: bans: anonymous is 401
--- request
GET /api/moderation/1/bans
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 16: bans: bad paging is 400
--- request
GET /api/moderation/1/bans?limit=101
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 17: timeout: durationSeconds is required
--- request
POST /api/moderation/1/timeout
{"userId":4}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationSeconds is required"}



=== TEST 18: timeout: durationSeconds at least 1
--- request
POST /api/moderation/1/timeout
{"userId":4,"durationSeconds":0}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationSeconds must be from 1 to 1209600"}



=== TEST 19: timeout: durationSeconds must be an integer
--- request
POST /api/moderation/1/timeout
{"userId":4,"durationSeconds":1.5}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationSeconds must be an integer"}



=== TEST 20: timeout: anonymous is 401
--- request
POST /api/moderation/1/timeout
{"userId":4,"durationSeconds":60}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 21: untimeout: anonymous is 401
--- request
DELETE /api/moderation/1/timeout/4
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 22: filters: public, the chat_settings of a channel
--- request
GET /api/moderation/4/filters
--- error_code: 200
--- response_body_like: ^\{"filters":\{"slowMode":\{"enabled":(true|false),"durationSeconds":\d+\},"emoteOnly":(true|false),"subscriberOnly":(true|false),"followerOnly":\{"enabled":(true|false),"durationMinutes":\d+\},"uniqueChat":(true|false)\}\}$



=== TEST 23: filters: unknown channel is 404
--- request
GET /api/moderation/999999999/filters
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 24: filters: a channel id with a leading zero is 400
--- request
GET /api/moderation/01/filters
--- error_code: 400
--- response_body chomp
{"error":"channelId must be a positive integer"}



=== TEST 25: slow mode: enabled is required
--- request
POST /api/moderation/1/filters/slow-mode
{"durationSeconds":30}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"enabled is required"}



=== TEST 26: slow mode: enabled must be a boolean
--- request
POST /api/moderation/1/filters/slow-mode
{"enabled":1}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"enabled must be a boolean"}



=== TEST 27: slow mode: 3 to 120 seconds
--- request
POST /api/moderation/1/filters/slow-mode
{"enabled":true,"durationSeconds":121}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationSeconds must be from 3 to 120"}



=== TEST 28: slow mode: anonymous is 401
--- request
POST /api/moderation/1/filters/slow-mode
{"enabled":true}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 29: emote only: anonymous is 401
--- request
POST /api/moderation/1/filters/emote-only
{"enabled":true}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 30: subscriber only: enabled is required
--- request
POST /api/moderation/1/filters/subscriber-only
{}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"enabled is required"}



=== TEST 31: follower only: at most 129600 minutes
--- request
POST /api/moderation/1/filters/follower-only
{"enabled":true,"durationMinutes":129601}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"durationMinutes must be from 0 to 129600"}



=== TEST 32: unique chat: anonymous is 401
--- request
POST /api/moderation/1/filters/unique-chat
{"enabled":false}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 33: moderator: userId is required
--- request
POST /api/moderation/1/moderator
{"user":4}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId is required"}



=== TEST 34: moderator: anonymous is 401
--- request
POST /api/moderation/1/moderator
{"userId":4}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 35: moderator: remove, anonymous is 401
--- request
DELETE /api/moderation/1/moderator/4
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 36: moderators: public list
--- request
GET /api/moderation/2/moderators
--- error_code: 200
--- response_body_like: ^\{"moderators":\[(\{"userId":\d+,"username":"\w+","displayName":"[^"]*","avatarUrl":(null|"[^"]*"),"addedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","addedByUsername":(null|"\w+")\},?)*\]\}$



=== TEST 37: moderators: unknown channel is 404
--- request
GET /api/moderation/999999999/moderators
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 38: vip: userId is required
--- request
POST /api/moderation/1/vip
{}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"userId is required"}



=== TEST 39: vip: remove, anonymous is 401
--- request
DELETE /api/moderation/1/vip/4
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 40: vips: public list
--- request
GET /api/moderation/1/vips?limit=5
--- error_code: 200
--- response_body_like: ^\{"vips":\[.*\]\}$



=== TEST 41: vips: unknown channel is 404
--- request
GET /api/moderation/999999999/vips
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 42: message: the id must be a number
--- request
DELETE /api/moderation/1/message/abc
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"messageId must be a positive integer"}



=== TEST 43: message: anonymous is 401
--- request
DELETE /api/moderation/1/message/101
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 44: clear: anonymous is 401
--- request
POST /api/moderation/1/clear
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 45: clear: GET is 405
--- request
GET /api/moderation/1/clear
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body chomp
{"error":"Method not allowed"}
