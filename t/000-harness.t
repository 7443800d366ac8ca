# Self-test of the block-test harness (Test::Nginx::Socket, real or the
# fallback in t/lib/fallback, plus Twitch::Test).  Uses stock nginx
# directives only, so it also passes when TEST_NGINX_LOAD_MODULES loads
# the project's modules.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: plain return, exact response body
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok



=== TEST 2: status code of a missing location
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /nope
--- error_code: 404



=== TEST 3: response headers, present and absent
--- config
    location = /t {
        add_header X-Present yes;
        default_type text/html;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-Present: yes
Content-Type: text/html
!X-Absent



=== TEST 4: response_body_like and response_headers_like
--- config
    location = /t {
        return 200 "hello world 42\n";
    }
--- request
GET /t
--- response_headers_like
Server: nginx(/[\d.]+)?
Content-Length: \d+
--- response_body_like: ^hello \w+ \d+$



=== TEST 5: more_headers are sent
--- config
    location = /t {
        return 200 "foo=$http_x_foo bar=$http_x_bar\n";
    }
--- request
GET /t
--- more_headers
X-Foo: abc
X-Bar: d e f
--- response_body
foo=abc bar=d e f



=== TEST 6: POST with a body (Content-Length added, body trimmed)
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock;
        location / {
            return 200 "$request_method len=$content_length\n";
        }
    }
--- config
    location = /t {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/backend.sock:/;
        add_header X-Body $request_body;
    }
--- request
POST /t
hello world
--- response_headers
X-Body: hello world
--- response_body
POST len=11



=== TEST 7: request eval with an explicit body
--- config
    location = /t {
        return 200 "$request_method $content_length\n";
    }
--- request eval
"PUT /t\n" . ("x" x 1000)
--- response_body
PUT 1000



=== TEST 8: error_log and no_error_log
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t/missing/file
--- error_code: 404
--- error_log
open()
/t/missing/file" failed
--- no_error_log
[error] this line is never logged



=== TEST 9: error_log eval with a regex
--- log_level: info
--- config
    location = /t {
        return 404;
    }
--- request
GET /nothing-here
--- error_code: 404
--- error_log eval
[qr/open\(\) "[^"]+nothing-here" failed/, "No such file or directory"]



=== TEST 10: must_die on an unknown directive
--- config
    location = /t {
        this_directive_does_not_exist on;
    }
--- must_die
--- error_log
unknown directive "this_directive_does_not_exist"



=== TEST 11: $TEST_NGINX_SERVER_PORT and $TEST_NGINX_PORT expansion
--- config
    location = /t {
        return 200 "port=$server_port\n";
    }
    location = /p {
        proxy_pass http://127.0.0.1:$TEST_NGINX_PORT/t;
    }
--- request
GET /p
--- response_body eval
"port=$ENV{TEST_NGINX_SERVER_PORT}\n"



=== TEST 12: raw_request is sent as-is
--- config
    location = /t {
        return 200 "proto=$server_protocol host=$host\n";
    }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: example.test\r\n\r\n"
--- response_body
proto=HTTP/1.0 host=example.test



=== TEST 13: user_files and a chunked response
--- config
    location = /t {
        ssi on;
        default_type text/html;
        root html;
    }
--- user_files
>>> t
<!--# set var="a" value="chunk" -->A <!--# echo var="a" --> body
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
--- response_body
A chunk body



=== TEST 14: init code runs before the request; wait and timeout
--- init
open my $fh, '>', html_dir() . '/init.txt' or die "init.txt: $!";
print $fh "from init\n";
close $fh;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /init.txt
--- timeout: 5s
--- wait: 0.05
--- response_body
from init



=== TEST 15: main_config and post_main_config land outside http{}
--- main_config
    worker_rlimit_nofile 4096;
--- post_main_config
    # a comment in post_main_config
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
