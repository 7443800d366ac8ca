# The directives of live video: bad values stop nginx with an [emerg] that
# names the directive; a complete configuration (as conf/nginx.conf.in
# has it) starts; the hooks and HLS locations without their setup.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Twitch::Test;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the media root needs PostgreSQL and Redis
--- http_config
    twitch_media_root /tmp;
--- config
    location /hls/ { alias /tmp/; }
--- must_die
--- error_log
"twitch_media_root" requires "twitch_postgres" and "twitch_redis"



=== TEST 2: the media root is set once
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_media_root /var/tmp;
--- config
--- must_die
--- error_log
"twitch_media_root" directive is duplicate



=== TEST 3: the media URL prefix starts and ends with a slash
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp hls;
--- config
--- must_die
--- error_log
"twitch_media_root" directive takes a URL prefix that starts and ends with "/"



=== TEST 4: a bad retention
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_vod_retention forever;
--- config
--- must_die
--- error_log
"twitch_vod_retention" directive takes a time such as "14d", or "off"



=== TEST 5: the viewer interval is at least a second
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_viewers_interval 500ms;
--- config
--- must_die
--- error_log
"twitch_viewers_interval" must be at least 1s



=== TEST 6: the viewer window is not shorter than the interval
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_viewers_interval 10s;
    twitch_viewers_window 5s;
--- config
--- must_die
--- error_log
"twitch_viewers_window" must not be shorter than "twitch_viewers_interval"



=== TEST 7: chat and HLS viewers: max or add
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_viewers_chat both;
--- config
--- must_die
--- error_log
"twitch_viewers_chat" directive takes "max" or "add"



=== TEST 8: ffmpeg by its absolute path
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_ffmpeg ffmpeg;
--- config
--- must_die
--- error_log
"twitch_ffmpeg" directive takes an absolute path



=== TEST 9: the test pattern needs an RTMP application URL
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_test_pattern http://127.0.0.1/live;
--- config
--- must_die
--- error_log
"twitch_test_pattern" directive takes the RTMP URL of the application, like rtmp://127.0.0.1:1935/live



=== TEST 10: the test pattern's size
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_test_pattern rtmp://127.0.0.1:1935/live 640by360;
--- config
--- must_die
--- error_log
"twitch_test_pattern" directive takes a picture size like 640x360



=== TEST 11: the test pattern's frame rate
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_test_pattern rtmp://127.0.0.1:1935/live 640x360 120;
--- config
--- must_die
--- error_log
"twitch_test_pattern" directive takes a frame rate from 1 to 60



=== TEST 12: the transcoder's program by its absolute path
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_transcoder rtmp-hooks/twitch_live.sh rtmp://127.0.0.1:1935/live;
--- config
--- must_die
--- error_log
"twitch_transcoder" directive takes the absolute path of the program first



=== TEST 13: the transcoder reads an RTMP application
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
    twitch_transcoder /bin/true /tmp/logs;
--- config
--- must_die
--- error_log
"twitch_transcoder" directive takes the RTMP URL of the application second



=== TEST 14: the hooks handler is set once per location
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root /tmp;
--- config
    location = /internal/rtmp {
        twitch_rtmp_hooks;
        twitch_rtmp_hooks live;
    }
--- must_die
--- error_log
"twitch_rtmp_hooks" directive is duplicate



=== TEST 15: the RTMP worker is a number
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_rtmp_worker first;
--- config
--- must_die
--- error_log
"twitch_rtmp_worker" directive invalid number



=== TEST 16: the configuration of conf/nginx.conf.in starts
--- main_config
    rtmp {
        server {
            listen 127.0.0.1:$TEST_NGINX_RTMP_PORT;
            application live {
                live on;
                allow play 127.0.0.1;
                deny play all;
                on_publish http://127.0.0.1:$TEST_NGINX_SERVER_PORT/internal/rtmp;
                on_update http://127.0.0.1:$TEST_NGINX_SERVER_PORT/internal/rtmp;
                on_publish_done http://127.0.0.1:$TEST_NGINX_SERVER_PORT/internal/rtmp;
                on_play http://127.0.0.1:$TEST_NGINX_SERVER_PORT/internal/rtmp;
            }
        }
    }
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
    twitch_media_root $TEST_NGINX_SERVER_ROOT/html /hls/;
    twitch_rtmp_worker 0;
    twitch_vod_retention 14d;
    twitch_viewers_interval 5s;
    twitch_ffmpeg /usr/bin/ffmpeg;
    twitch_test_pattern rtmp://127.0.0.1:$TEST_NGINX_RTMP_PORT/live 640x360 30;
    twitch_transcoder /bin/true rtmp://127.0.0.1:$TEST_NGINX_RTMP_PORT/live
                      /tmp --ladder 720p30:2500k --preset veryfast;
--- config
    location /api/ { twitch_api; }
    location = /internal/rtmp { twitch_rtmp_hooks live; access_log off; }
    location /hls/ { alias $TEST_NGINX_SERVER_ROOT/html/; twitch_hls_viewers on; }
--- request
POST /internal/rtmp
app=live&addr=127.0.0.1&clientid=1&call=play_done&name=x
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body
ok



=== TEST 17: without a media root the hooks answer 503
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location = /internal/rtmp { twitch_rtmp_hooks; }
--- request
POST /internal/rtmp
call=publish&name=x
--- error_code: 503
--- error_log
"twitch_media_root" is not set



=== TEST 18: an HLS location without a media root counts no one
--- http_config
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
--- config
    location /hls/ { twitch_hls_viewers on; return 200 "served\n"; }
--- request
GET /hls/someone/source/live.m3u8
--- response_body
served
