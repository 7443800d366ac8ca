# The chat's directives: bad values stop nginx with an [emerg] naming the
# directive; good ones start, and a plain GET of the endpoint is told to
# upgrade.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: twitch_chat needs twitch_postgres
--- http_config
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; }
--- must_die
--- error_log
"twitch_chat" requires "twitch_postgres"



=== TEST 2: twitch_chat needs twitch_redis
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
--- config
    location = /ws/chat { twitch_chat; }
--- must_die
--- error_log
"twitch_chat" requires "twitch_redis"



=== TEST 3: twitch_chat takes no arguments
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat on; }
--- must_die
--- error_log
invalid number of arguments in "twitch_chat" directive



=== TEST 4: twitch_chat twice
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat; }
--- must_die
--- error_log
"twitch_chat" directive is duplicate



=== TEST 5: a message limit below 256 bytes
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat_max_message 100; }
--- must_die
--- error_log
"twitch_chat_max_message" directive value must be between 256 and 1048576 bytes



=== TEST 6: a message limit that is not a size
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat_max_message big; }
--- must_die
--- error_log
"twitch_chat_max_message" directive invalid value



=== TEST 7: a send queue below 4k
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat_send_queue 1k; }
--- must_die
--- error_log
"twitch_chat_send_queue" directive value must be between 4096 and 67108864 bytes



=== TEST 8: a ping interval below 100 ms
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat_ping_interval 10ms; }
--- must_die
--- error_log
"twitch_chat_ping_interval" directive value must be between 100 and 3600000 ms



=== TEST 9: an origin without a scheme
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat {
        twitch_chat;
        twitch_chat_origins example.com;
    }
--- must_die
--- error_log
invalid origin "example.com" in "twitch_chat_origins"



=== TEST 10: an origin with a path
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat {
        twitch_chat;
        twitch_chat_origins https://example.com/chat;
    }
--- must_die
--- error_log
invalid origin "https://example.com/chat" in "twitch_chat_origins"



=== TEST 11: the viewer interval is an http-level directive
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /ws/chat { twitch_chat; twitch_chat_viewer_interval 1s; }
--- must_die
--- error_log
"twitch_chat_viewer_interval" directive is not allowed here



=== TEST 12: a flush interval below 100 ms
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_chat_flush_interval 5ms;
--- config
    location = /ws/chat { twitch_chat; }
--- must_die
--- error_log
"twitch_chat_flush_interval" directive value must be between 100 and 3600000 ms



=== TEST 13: every directive with a good value; a plain GET must upgrade
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_chat_max_message 8k;
    twitch_chat_send_queue 128k;
    twitch_chat_ping_interval 20s;
    twitch_chat_viewer_interval 3s;
    twitch_chat_flush_interval 250ms;
    twitch_chat_current_viewers off;
--- config
    location = /ws/chat {
        twitch_chat;
        twitch_chat_origins https://app.example *;
    }
--- request
GET /ws/chat
--- error_code: 426
--- response_headers
Upgrade: websocket
Sec-WebSocket-Version: 13
Content-Type: application/json
--- response_body chomp
{"error":"WebSocket upgrade required"}
--- error_log
chat: handshake refused with 426
--- no_error_log
[error]
