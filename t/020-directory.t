# The public read routes, anonymously: channel listings, channel pages,
# categories, users, emotes, search validation; 404s for unknown names;
# limit/offset validation; routes that need a session.  (Signed-in flows
# are in t/021-t/026.)  Lists are matched loosely: other test files share
# the database and may add channels or follows.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<'_EOC_')
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
        unless defined $block->http_config;

    $block->set_value('config', "    location /api/ { twitch_api; }\n")
        unless defined $block->config;

    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: all channels, live first, each a channel card with tags
--- request
GET /api/channels
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like chomp
^\{"channels":\[\{"id":\d+,"name":"\w+","title":"[^"]*","isLive":(true|false),"viewerCount":\d+,"followerCount":\d+,"thumbnailUrl":(null|"[^"]*"),"tags":\[[^\]]*\],"user":\{"username":"\w+","displayName":"[^"]*","avatarUrl":(null|"[^"]*")\},"category":(null|\{"name":"[^"]*","slug":"[a-z0-9-]+"\})\}.*\]\}$



=== TEST 2: the demo channels are listed with their owners and categories
--- request
GET /api/channels?limit=100
--- error_code: 200
--- response_body_like chomp
"id":1,"name":"shroud","title":"FPS Games with shroud","isLive":false,"viewerCount":0,"followerCount":\d+,"thumbnailUrl":null,"tags":\["FPS","English"\],"user":\{"username":"shroud","displayName":"shroud","avatarUrl":null\},"category":\{"name":"Counter-Strike 2","slug":"cs2"\}\}



=== TEST 3: category filter
--- request
GET /api/channels?category=fortnite&limit=100
--- error_code: 200
--- response_body_like chomp
^\{"channels":\[(\{[^{}]*"user":\{[^{}]*\},"category":\{"name":"Fortnite","slug":"fortnite"\}\},?)+\]\}$



=== TEST 4: category filter ignores case
--- request
GET /api/channels?category=FortNite
--- error_code: 200
--- response_body_like chomp
"name":"ninja"



=== TEST 5: an unknown category filters everything out
--- request
GET /api/channels?category=no-such-category
--- error_code: 200
--- response_body chomp
{"channels":[]}



=== TEST 6: a filter that cannot be a slug is 400
--- request
GET /api/channels?category=a%27%20OR%201%3D1
--- error_code: 400
--- response_body chomp
{"error":"category must be a category slug"}



=== TEST 7: live channels only
--- request
GET /api/channels/live
--- error_code: 200
--- response_body_like chomp
^\{"channels":\[(\{"id":\d+,"name":"\w+","title":"[^"]*","isLive":true,.*)?\]\}$



=== TEST 8: HEAD on the live list
--- request
HEAD /api/channels/live
--- error_code: 200
--- response_body



=== TEST 9: limit=0 is 400
--- request
GET /api/channels/live?limit=0
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 10: limit=101 is 400
--- request
GET /api/channels/live?limit=101
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 11: limit=-1 is 400
--- request
GET /api/channels?limit=-1
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 12: limit=abc is 400
--- request
GET /api/channels?limit=abc
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 13: offset=-1 is 400
--- request
GET /api/channels/live?offset=-1
--- error_code: 400
--- response_body chomp
{"error":"offset must be an integer of at least 0"}



=== TEST 14: offset=abc is 400
--- request
GET /api/categories?offset=abc
--- error_code: 400
--- response_body chomp
{"error":"offset must be an integer of at least 0"}



=== TEST 15: limit and offset page through the list
--- request
GET /api/channels?limit=1&offset=1
--- error_code: 200
--- response_body_like chomp
^\{"channels":\[\{"id":\d+,[^\[]*\[[^\]]*\][^\[\]]*\}\]\}$



=== TEST 16: a channel page, anonymously: no stream key, no viewer flags
--- request
GET /api/channels/shroud
--- error_code: 200
--- response_body_like chomp
^\{"channel":\{"id":1,"name":"shroud","title":"FPS Games with shroud","description":"Aim, movement and the occasional clutch\.","tags":\["FPS","English"\],"isLive":false,"viewerCount":0,"followerCount":\d+,"subscriberCount":\d+,"thumbnailUrl":null,"offlineBannerUrl":null,"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","user":\{"id":1,"username":"shroud","displayName":"shroud","avatarUrl":null,"bio":"Professional gamer and streamer"\},"category":\{"id":7,"name":"Counter-Strike 2","slug":"cs2"\},"isFollowing":false,"isSubscribed":false,"subscriptionTier":null,"isOwner":false\}\}$



=== TEST 17: channel names ignore case
--- request
GET /api/channels/ShRoUd
--- error_code: 200
--- response_body_like chomp
^\{"channel":\{"id":1,"name":"shroud",



=== TEST 18: unknown channel
--- request
GET /api/channels/no_such_channel
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"Channel not found"}



=== TEST 19: a name longer than 25 characters is 404 without a query
--- request
GET /api/channels/aaaaaaaaaaaaaaaaaaaaaaaaaa
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 20: a name with SQL in it is just an unknown channel
--- request
GET /api/channels/x%27%20OR%20%271%27=%271
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 21: followers need a session
--- request
GET /api/channels/shroud/followers
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 22: subscribers need a session
--- request
GET /api/channels/shroud/subscribers
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 23: follow needs a session
--- request
POST /api/channels/shroud/follow
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 24: follow without a JSON content type is refused (CSRF rule)
--- request
POST /api/channels/shroud/follow
--- more_headers
Content-Type: text/plain
--- error_code: 403



=== TEST 25: unfollow, subscribe, stream key and PATCH need a session
--- request eval
["DELETE /api/channels/shroud/follow",
 "POST /api/channels/shroud/subscribe\n{}",
 "POST /api/channels/shroud/stream-key",
 "PATCH /api/channels/shroud\n{\"title\":\"x\"}"]
--- more_headers eval
[("Content-Type: application/json") x 4]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
['{"error":"Not authenticated"}', '{"error":"Not authenticated"}',
 '{"error":"Not authenticated"}', '{"error":"Not authenticated"}']



=== TEST 26: a method a route does not have is 405
--- request
DELETE /api/categories
--- more_headers
Content-Type: application/json
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 27: categories, by live viewers then name
--- request
GET /api/categories
--- error_code: 200
--- response_body_like chomp
^\{"categories":\[(\{"id":\d+,"name":"[^"]+","slug":"[a-z0-9-]+","imageUrl":"/categories/[a-z0-9-]+\.svg","liveChannels":\d+,"viewerCount":\d+\},?){10,}\]\}$



=== TEST 28: categories paging
--- request
GET /api/categories?limit=2
--- error_code: 200
--- response_body_like chomp
^\{"categories":\[\{[^{}]+\},\{[^{}]+\}\]\}$



=== TEST 29: one category
--- request
GET /api/categories/cs2
--- error_code: 200
--- response_body_like chomp
^\{"category":\{"id":7,"name":"Counter-Strike 2","slug":"cs2","imageUrl":"/categories/cs2\.svg","liveChannels":\d+,"viewerCount":\d+\}\}$



=== TEST 30: unknown category
--- request
GET /api/categories/no-such-category
--- error_code: 404
--- response_body chomp
{"error":"Category not found"}



=== TEST 31: a slug with other characters is 404
--- request
GET /api/categories/cs_2
--- error_code: 404
--- response_body chomp
{"error":"Category not found"}



=== TEST 32: live channels of a category
--- request
GET /api/categories/software-dev/channels
--- error_code: 200
--- response_body_like chomp
^\{"channels":\[(\{"id":\d+,"name":"\w+","title":"[^"]*","isLive":true,.*)?\]\}$



=== TEST 33: live channels of an unknown category
--- request
GET /api/categories/no-such-category/channels
--- error_code: 404
--- response_body chomp
{"error":"Category not found"}



=== TEST 34: category channels paging is validated
--- request
GET /api/categories/cs2/channels?limit=101
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 35: a user profile with its channel
--- request
GET /api/users/Pokimane
--- error_code: 200
--- response_body_like chomp
^\{"user":\{"id":2,"username":"pokimane","displayName":"[^"]*","avatarUrl":(null|"[^"]*"),"bio":(null|"[^"]*"),"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","channel":\{"id":2,"name":"pokimane","followerCount":\d+,"subscriberCount":\d+,"isLive":(true|false)\}\}\}$



=== TEST 36: a user without a channel
--- request
GET /api/users/admin
--- error_code: 200
--- response_body_like chomp
^\{"user":\{"id":5,"username":"admin",.*"channel":null\}\}$



=== TEST 37: unknown user
--- request
GET /api/users/no_such_user
--- error_code: 404
--- response_body chomp
{"error":"User not found"}



=== TEST 38: /api/users/me is the caller: 401 without a session
--- request
GET /api/users/me
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 39: PATCH /api/users/me needs a session
--- request
PATCH /api/users/me
{"bio":"x"}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 40: who a user follows, live first (public)
--- request
GET /api/users/admin/following?limit=100
--- error_code: 200
--- response_body_like chomp
^\{"following":\[(\{"id":\d+,"name":"\w+","title":"[^"]*","isLive":(true|false),"viewerCount":\d+,"thumbnailUrl":(null|"[^"]*"),"tags":\[[^\]]*\],"followedAt":"[^"]+Z","user":\{"username":"\w+","displayName":"[^"]*","avatarUrl":(null|"[^"]*")\},"category":(null|\{"name":"[^"]*","slug":"[a-z0-9-]+"\})\},?){4,}\]\}$



=== TEST 41: following of an unknown user
--- request
GET /api/users/no_such_user/following
--- error_code: 404
--- response_body chomp
{"error":"User not found"}



=== TEST 42: following paging is validated
--- request
GET /api/users/admin/following?offset=-5
--- error_code: 400
--- response_body chomp
{"error":"offset must be an integer of at least 0"}



=== TEST 43: /api/following needs a session
--- request
GET /api/following
--- error_code: 401
--- response_body chomp
{"error":"Not authenticated"}



=== TEST 44: global emotes by code
--- request
GET /api/emotes/global
--- error_code: 200
--- response_body_like chomp
^\{"emotes":\[\{"id":\d+,"code":"EZ","imageUrl":"/emotes/ez\.svg","tier":0,"isGlobal":true\},\{"id":\d+,"code":"FeelsBadMan",.*\{"id":\d+,"code":"monkaS","imageUrl":"/emotes/monkas\.svg","tier":0,"isGlobal":true\}\]\}$



=== TEST 45: a channel's emotes by tier
--- request
GET /api/emotes/channel/1
--- error_code: 200
--- response_body_like chomp
^\{"emotes":\[\{"id":\d+,"code":"shroudHi","imageUrl":"/emotes/shroudhi\.svg","tier":1,"isGlobal":false\},\{"id":\d+,"code":"shroudAim","imageUrl":"/emotes/shroudaim\.svg","tier":2,"isGlobal":false\},\{"id":\d+,"code":"shroudGG","imageUrl":"/emotes/shroudgg\.svg","tier":3,"isGlobal":false\}\]\}$



=== TEST 46: a channel without emotes
--- request
GET /api/emotes/channel/3
--- error_code: 200
--- response_body chomp
{"emotes":[]}



=== TEST 47: emotes of an unknown channel
--- request
GET /api/emotes/channel/999999999
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 48: a channel id that is not a number
--- request
GET /api/emotes/channel/shroud
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 49: available emotes, anonymously: subscriber emotes are locked
--- request
GET /api/emotes/available/2
--- error_code: 200
--- response_body_like chomp
^\{"emotes":\[\{"id":\d+,"code":"EZ","imageUrl":"/emotes/ez\.svg","tier":0,"isGlobal":true,"locked":false\},.*\{"id":\d+,"code":"pokiWave","imageUrl":"/emotes/pokiwave\.svg","tier":1,"isGlobal":false,"locked":true\},\{"id":\d+,"code":"pokiLove",[^{}]*"locked":true\},\{"id":\d+,"code":"pokiCozy",[^{}]*"locked":true\}\]\}$



=== TEST 50: available emotes of an unknown channel
--- request
GET /api/emotes/available/999999999
--- error_code: 404
--- response_body chomp
{"error":"Channel not found"}



=== TEST 51: search needs q
--- request
GET /api/search
--- error_code: 400
--- response_body chomp
{"error":"q must be 1 to 100 characters of text"}



=== TEST 52: q of spaces only is 400
--- request
GET /api/search?q=+%20+
--- error_code: 400
--- response_body chomp
{"error":"q must be 1 to 100 characters of text"}



=== TEST 53: q of 101 characters is 400
--- request eval
"GET /api/search?q=" . ("a" x 101)
--- error_code: 400
--- response_body chomp
{"error":"q must be 1 to 100 characters of text"}



=== TEST 54: q of 100 characters (multi-byte) is fine
--- request eval
"GET /api/search?q=" . ("%C3%A9" x 100)
--- error_code: 200
--- response_body chomp
{"channels":[],"categories":[],"users":[]}



=== TEST 55: q with invalid UTF-8 or control characters is 400
--- request eval
["GET /api/search?q=%FF%FE", "GET /api/search?q=a%00b",
 "GET /api/search?q=a%0Ab"]
--- error_code eval
[400, 400, 400]



=== TEST 56: search limit is validated
--- request
GET /api/search?q=shroud&limit=0
--- error_code: 400
--- response_body chomp
{"error":"limit must be an integer from 1 to 100"}



=== TEST 57: search finds channels, categories and users
--- request
GET /api/search?q=SHROUD
--- error_code: 200
--- response_body_like chomp
^\{"channels":\[\{"id":1,"name":"shroud",.*\],"categories":\[\],"users":\[\{"id":1,"username":"shroud","displayName":"shroud","avatarUrl":null\}.*\]\}$



=== TEST 58: a category by a word inside its name
--- request
GET /api/search?q=strike
--- error_code: 200
--- response_body_like chomp
"categories":\[\{"id":7,"name":"Counter-Strike 2","slug":"cs2","imageUrl":"/categories/cs2\.svg","liveChannels":\d+,"viewerCount":\d+\}\]



=== TEST 59: SQL in q is searched for, literally
--- request
GET /api/search?q=%27%3B%20DROP%20TABLE%20users%3B%20--
--- error_code: 200
--- response_body chomp
{"channels":[],"categories":[],"users":[]}
