# JSON request bodies: strict parsing with yajl (types, UTF-8, nesting,
# duplicates, NUL), size limits, bodies nginx spilled to a temporary file,
# and the CSRF rule for state-changing requests.  POST /api/auth/login is
# the probe: a body that parses reaches the credential check (401).

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
    location /api/ {
        twitch_api;
        twitch_json_max_body 8k;
        client_max_body_size 1m;
    }
_EOC_
    }
});

run_tests();

__DATA__

=== TEST 1: a well-formed body reaches the handler
--- request
POST /api/auth/login
{"username":"nosuchuser_json","password":"whatever-password"}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Invalid credentials"}



=== TEST 2: charset parameter is accepted
--- request
POST /api/auth/login
{"username":"nosuchuser_json","password":"whatever-password"}
--- more_headers
Content-Type: application/json; charset=utf-8
--- error_code: 401



=== TEST 3: malformed JSON
--- request
POST /api/auth/login
{"username":"a","password":
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: ^\{"error":"invalid JSON: [^"]+"\}$
--- error_log
bad request body



=== TEST 4: trailing garbage after the value
--- request
POST /api/auth/login
{"username":"a","password":"b"} x
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: invalid JSON



=== TEST 5: wrong type for a field
--- request
POST /api/auth/login
{"username":5,"password":"whatever-password"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"username must be a string"}



=== TEST 6: a missing field
--- request
POST /api/auth/login
{"password":"whatever-password"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"username is required"}



=== TEST 7: the body must be an object
--- request
POST /api/auth/login
["username","password"]
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"request body must be a JSON object"}



=== TEST 8: an empty body
--- request
POST /api/auth/login
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"username is required"}



=== TEST 9: invalid UTF-8 in a string
--- request eval
"POST /api/auth/login\n{\"username\":\"bad\xff\xfe\",\"password\":\"whatever-password\"}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: ^\{"error":"invalid JSON: [^"]*UTF8[^"]*"\}$



=== TEST 10: 10,000-deep nesting
--- config
    location /api/ { twitch_api; }
--- request eval
"POST /api/auth/login\n" . ("[" x 10000) . ("]" x 10000)
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"JSON nesting is too deep"}



=== TEST 11: nesting within the limit is fine (and then not an object)
--- request eval
"POST /api/auth/login\n" . ("[" x 20) . ("]" x 20)
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"request body must be a JSON object"}



=== TEST 12: duplicate keys
--- request
POST /api/auth/login
{"username":"a","username":"b","password":"whatever-password"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"duplicate key in JSON object"}



=== TEST 13: NUL characters in strings
--- request
POST /api/auth/login
{"username":"ab\u0000cd","password":"whatever-password"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"JSON strings must not contain NUL characters"}



=== TEST 14: comments are not JSON
--- request
POST /api/auth/login
{"username":"a", /* hi */ "password":"b"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: invalid JSON



=== TEST 15: a body over twitch_json_max_body is 413 (Content-Length)
--- request eval
"POST /api/auth/login\n{\"username\":\"" . ("a" x 9000) . "\",\"password\":\"x\"}"
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body chomp
{"error":"request body is too large"}



=== TEST 16: a chunked body over the limit is 413 too
--- raw_request eval
"POST /api/auth/login HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
2328\r
" . ("{" . (" " x 8998) . "}") . "\r
0\r
\r
"
--- error_code: 413
--- response_body chomp
{"error":"request body is too large"}



=== TEST 17: a body nginx wrote to a temporary file is read back
--- config
    location /api/ {
        twitch_api;
        client_body_buffer_size 1k;
        client_body_in_file_only on;
    }
--- request eval
"POST /api/auth/login\n{\"username\":\"nosuchuser_json\"," . (" " x 5000)
    . "\"password\":\"whatever-password\"}"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":"Invalid credentials"}



=== TEST 18: a string field over its length bound
--- request eval
"POST /api/auth/login\n{\"username\":\"" . ("u" x 65) . "\",\"password\":\"x\"}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"username must be at most 64 characters"}



=== TEST 19: a cross-site form post (no JSON content type) is refused
--- request
POST /api/auth/login
username=a&password=b
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 403
--- response_body chomp
{"error":"state-changing requests must be sent with Content-Type: application/json"}



=== TEST 20: text/plain is refused as well
--- request
POST /api/auth/logout
{}
--- more_headers
Content-Type: text/plain
--- error_code: 403



=== TEST 21: a foreign Origin is refused
--- request
POST /api/auth/login
{"username":"a","password":"b"}
--- more_headers
Content-Type: application/json
Origin: https://evil.example
--- error_code: 403
--- response_body chomp
{"error":"cross-site request refused"}
--- error_log
cross-site request from origin "https://evil.example" refused



=== TEST 22: the same Origin is accepted
--- request
POST /api/auth/login
{"username":"nosuchuser_json","password":"whatever-password"}
--- more_headers
Content-Type: application/json
Origin: http://localhost
--- error_code: 401



=== TEST 23: a lookalike Origin is refused
--- request
POST /api/auth/login
{"username":"a","password":"b"}
--- more_headers
Content-Type: application/json
Origin: http://localhost.evil.example
--- error_code: 403



=== TEST 24: GET needs no content type
--- request
GET /api/health
--- error_code: 200
