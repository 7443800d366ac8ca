# GET /api/health and the API's routing basics, with PostgreSQL and Redis up.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: health is 200 with both back ends up
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/health
--- error_code: 200
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body chomp
{"status":"ok","postgres":"up","redis":"up"}
--- no_error_log
[error]
[warn]



=== TEST 2: HEAD on health
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
HEAD /api/health
--- error_code: 200
--- response_body
--- no_error_log
[error]



=== TEST 3: an unknown route is a JSON 404
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/no/such/route
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"Not found"}
--- no_error_log
[error]



=== TEST 4: a wrong method is 405 with Allow
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
DELETE /api/health
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body chomp
{"error":"Method not allowed"}
--- no_error_log
[error]



=== TEST 5: a trailing slash is another route
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/health/
--- error_code: 404
--- response_body chomp
{"error":"Not found"}



=== TEST 6: PostgreSQL unreachable from the start: 503 naming it
--- http_config
    twitch_postgres "host=127.0.0.1 port=1 dbname=twitch user=twitch connect_timeout=2";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/health
--- error_code: 503
--- response_body chomp
{"status":"unavailable","postgres":"down","redis":"up"}
--- error_log
postgres connecting failed
twitch health: postgres down, redis up



=== TEST 7: Redis unreachable from the start: 503 naming it
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis 127.0.0.1:1;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/health
--- error_code: 503
--- response_body chomp
{"status":"unavailable","postgres":"up","redis":"down"}
--- error_log
redis command connect failed
twitch health: postgres up, redis down



=== TEST 8: wrong PostgreSQL password: 503 and the reason logged
--- http_config
    twitch_postgres "$TEST_NGINX_PG password=wrong";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- request
GET /api/health
--- error_code: 503
--- response_body chomp
{"status":"unavailable","postgres":"down","redis":"up"}
--- error_log
password authentication failed



=== TEST 9: the modules load beside nginx-rtmp with an rtmp block
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /api/ { twitch_api; }
--- post_main_config
    rtmp {
        server {
            listen 127.0.0.1:$TEST_NGINX_RTMP_PORT;
            application live { live on; }
        }
    }
--- request
GET /api/health
--- error_code: 200
--- response_body chomp
{"status":"ok","postgres":"up","redis":"up"}



=== TEST 10: the original's /health with checks
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /health { twitch_api; }
--- request
GET /health
--- error_code: 200
--- response_body_like: ^\{"status":"healthy","version":"[0-9.]+","instance":"[^"]+","uptime_seconds":\d+,"checks":\{"postgres":\{"status":"up"\},"redis":\{"status":"up"\}\},"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}$



=== TEST 11: /health/ready
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /health { twitch_api; }
--- request
GET /health/ready
--- error_code: 200
--- response_body_like: ^\{"status":"ready","timestamp":"[^"]+"\}$



=== TEST 12: /health/ready names what is down
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis 127.0.0.1:1;
--- config
    location /health { twitch_api; }
--- request
GET /health/ready
--- error_code: 503
--- response_body_like: ^\{"status":"not ready","checks":\{"postgres":"up","redis":"down"\},"timestamp":"[^"]+"\}$
--- error_log
redis command connect failed



=== TEST 13: /health/live asks no back end
--- http_config
    twitch_postgres "host=127.0.0.1 port=1 dbname=twitch user=twitch";
    twitch_redis 127.0.0.1:1;
--- config
    location /health { twitch_api; }
--- request
GET /health/live
--- error_code: 200
--- response_body_like: ^\{"status":"alive","timestamp":"[^"]+","uptime_seconds":\d+\}$
--- error_log
postgres connecting failed
