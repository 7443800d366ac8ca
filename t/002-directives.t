# Configuration: bad directive values stop nginx with an [emerg] that names
# the directive; good ones start.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: pool size must be a number
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_postgres_pool many;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_postgres_pool" directive invalid number



=== TEST 2: pool size must be within 1..64
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_postgres_pool 0;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_postgres_pool" directive value must be between 1 and 64



=== TEST 3: a malformed libpq connection string
--- http_config
    twitch_postgres "host=127.0.0.1 port";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
invalid connection string in "twitch_postgres"



=== TEST 4: an unknown libpq option
--- http_config
    twitch_postgres "host=127.0.0.1 colour=blue";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
invalid connection string in "twitch_postgres": invalid connection option "colour"



=== TEST 5: a bad Redis address
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis 127.0.0.1:99999;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
invalid address "127.0.0.1:99999" in "twitch_redis"



=== TEST 6: twitch_api without twitch_postgres
--- http_config
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_api" requires "twitch_postgres"



=== TEST 7: twitch_api without twitch_redis
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_api" requires "twitch_redis"



=== TEST 8: a bad timeout
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_postgres_query_timeout soon;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_postgres_query_timeout" directive invalid value



=== TEST 9: JSON depth bounds
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; twitch_json_max_depth 0; }
--- must_die
--- error_log
"twitch_json_max_depth" directive value must be between 1 and 512



=== TEST 10: twitch_postgres given twice
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_postgres" directive is duplicate



=== TEST 11: twitch_api is a location directive
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_api;
--- config
    location /api/ { twitch_api; }
--- must_die
--- error_log
"twitch_api" directive is not allowed here



=== TEST 12: every directive with a good value
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_postgres_pool 2;
    twitch_postgres_queue 16;
    twitch_postgres_connect_timeout 2s;
    twitch_postgres_query_timeout 3s;
    twitch_redis $TEST_NGINX_REDIS;
    twitch_redis_connect_timeout 2s;
    twitch_redis_command_timeout 1s;
    twitch_json_max_body 16k;
    twitch_json_max_depth 8;
    twitch_chat_max_message 4k;
--- config
    location /api/ { twitch_api; }
    location = /ws/chat { twitch_chat; }
--- request
GET /api/health
--- error_code: 200
--- no_error_log
[error]
