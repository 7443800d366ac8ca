# Self-test of Twitch::Test::Nginx, the step-by-step nginx driver for
# tests the block format cannot express, and of Twitch::Test's helpers.
# Stock nginx directives only (TEST_NGINX_LOAD_MODULES may still load the
# project's modules).

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(service wait_until);

use Digest::SHA qw(sha1);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use POSIX ();

my $n = Twitch::Test::Nginx->new(
    name => 'steps',
    http_config => q{
        upstream ws_backend {
            server 127.0.0.1:$TEST_NGINX_WS_BACKEND_PORT;
        }
    },
    config => q{
        location = /t {
            add_header X-Port $TEST_NGINX_PORT;
            return 200 "ok\n";
        }
        location = /echo {
            return 200 "$request_method $http_x_foo $content_length\n";
        }
        location = /redirect {
            return 302 /t;
        }
        location = /body {
            proxy_pass http://127.0.0.1:$TEST_NGINX_PORT/echo;
            add_header X-Body $request_body;
        }
        location = /ws {
            proxy_pass http://ws_backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 5s;
        }
    },
);

# ---- a tiny WebSocket echo server behind nginx (forked child) ---------
my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Listen => 5,
                                     ReuseAddr => 1, Proto => 'tcp')
    or die "listen: $!";
$ENV{TEST_NGINX_WS_BACKEND_PORT} = $listener->sockport;
my $backend_pid = fork // die "fork: $!";
if ($backend_pid == 0) {
    # own process group, and off the TAP pipe (prove waits for its EOF)
    setpgrp(0, 0);
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    ws_echo_server($listener);
    POSIX::_exit(0);
}
close $listener;
END { kill 'TERM', -$backend_pid if $backend_pid }

# ---- start, plain requests ------------------------------------------
$n->start;
ok $n->is_running, 'nginx is running';
my @workers = $n->worker_pids;
is scalar @workers, 1, 'one worker process';

my $res = $n->request(GET => '/t');
is $res->{status}, 200, 'GET /t status';
is $res->{body}, "ok\n", 'GET /t body';
is $res->{headers}{'x-port'}, $n->port, '$TEST_NGINX_PORT is expanded';
is $res->{headers}{'content-type'}, 'text/plain', 'header names lowercased';

$res = $n->request(POST => '/echo', headers => { 'X-Foo' => 'bar' },
                   body => 'hello');
is $res->{body}, "POST bar 5\n", 'POST with headers and body';

$res = $n->request(POST => '/body', body => 'a=1&b=2 c');
is $res->{headers}{'x-body'}, 'a=1&b=2 c', 'the body reaches nginx';
is $res->{body}, "POST  9\n", 'and is proxied';

$res = $n->request(GET => '/redirect');
is $res->{status}, 302, 'redirects are not followed';
like $res->{headers}{location}, qr{/t$}, 'Location header';

$res = $n->request(HEAD => '/t');
is $res->{status}, 200, 'HEAD status';
is $res->{body}, '', 'HEAD has no body';

$res = $n->request(GET => '/nope');
is $res->{status}, 404, '404 for an unknown location';

# ---- WebSocket through nginx -----------------------------------------
my $ws = $n->websocket('/ws');
is $ws->status, 101, 'WebSocket handshake';
ok $ws->ok, 'Sec-WebSocket-Accept verified' or diag $ws->error;
ok $ws->send_text('hello'), 'send text';
is $ws->recv_text, 'echo: hello', 'echoed text';
my $big = 'x' x 70000;
$ws->send_text($big);
is $ws->recv_text, "echo: $big", 'echoed 64-bit-length frame';
$ws->send_frame(text => 'frag', fin => 0);
$ws->send_frame(continuation => 'mented');
is $ws->recv_text, 'echo: fragmented', 'fragmented message';
$ws->send_ping('p1');
my $m = $ws->recv;
is_deeply [$m->{type}, $m->{data}], ['pong', 'p1'], 'ping answered';
my $close = $ws->close(1000, 'bye');
is $close && $close->{code}, 1000, 'close handshake';

# ---- error.log helpers -------------------------------------------------
ok $n->wait_for_error_log(qr/open\(\) "[^"]+nope" failed/, 2),
    'wait_for_error_log finds the 404';
like $n->error_log, qr/\[error\]/, 'error_log returns the log text';

# ---- reload with a new config ----------------------------------------
$n->set_config(config => q{
    location = /t { return 200 "reloaded\n"; }
});
ok $n->reload, 'reload (HUP) replaced the workers';
is $n->request(GET => '/t')->{body}, "reloaded\n", 'new config active';

# ---- crash and restart -----------------------------------------------
ok $n->stop, 'stop: no alerts, crashes or sanitizer reports';
ok !$n->is_running, 'nginx stopped';
$res = $n->request(GET => '/t');
is $res->{status}, 599, 'no server: status 599';
ok $res->{error}, "error is set ($res->{error})";

$n->start;
is $n->request(GET => '/t')->{status}, 200, 'restarted';
$n->crash;
ok !$n->is_running, 'crash() killed nginx';
is $n->request(GET => '/t')->{status}, 599, 'crashed server is gone';
$n->start;
is $n->request(GET => '/t')->{body}, "reloaded\n", 'started after crash';
ok $n->stop, 'stop after restart';

# ---- a worker crash is detected by stop() ----------------------------
my $w = Twitch::Test::Nginx->new(name => 'workers', workers => 2,
    config => q{ location = /t { return 200 "ok\n"; } });
$w->start;
is scalar(my @pids = $w->worker_pids), 2, 'two workers';
kill 'SEGV', $pids[0];
ok wait_until(sub { $w->error_log =~ /exited on signal 11/ }, 5),
    'master noticed the crashed worker';
{
    # stop() must report it: capture its tests instead of emitting them
    my @failed;
    no warnings 'redefine';
    local *Test::More::fail = sub { push @failed, $_[0]; 0 };
    local *Test::More::pass = sub { 1 };
    local *Test::More::diag = sub { 0 };
    my $ok = $w->stop;
    use warnings 'redefine';
    ok !$ok, 'stop() returns false after a worker crash';
    ok scalar(grep { /no "exited on signal"/ } @failed),
        'stop() fails the "exited on signal" check';
    ok scalar(grep { /no "\[alert\]"/ } @failed),
        'and the [alert] check';
}
ok !$w->is_running, 'second instance stopped';

# ---- Twitch::Test::service and wait_until ---------------------------
my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/platform" or die $!;
print $fh "#!/bin/sh\necho \"platform \$*\"\n"
        . "[ \"\$1 \$2\" = 'redis status' ]\n";
close $fh;
chmod 0755, "$dir/platform";
{
    local $ENV{TWITCH_PLATFORM} = "$dir/platform";
    ok service('redis', 'status'), 'service() true on exit 0';
    my @diag;
    no warnings 'redefine';
    local *Test::More::diag = sub { push @diag, @_ };
    ok !service('pg', 'stop'), 'service() false on non-zero exit';
    use warnings 'redefine';
    like "@diag", qr/platform pg stop/, 'failure output shown as diag';
}
my $i = 0;
is wait_until(sub { ++$i >= 3 && "done" }, 2), 'done',
    'wait_until returns the value';
ok !defined wait_until(sub { 0 }, 0.3), 'wait_until times out';

done_testing;

# A forking WebSocket echo server: answers "echo: <text>", pongs pings
# (Twitch::Test::WebSocket does the framing; frames sent unmasked).
sub ws_echo_server {
    my ($listener) = @_;
    while (my $c = $listener->accept) {
        my $pid = fork // next;
        if ($pid) {
            close $c;
            next;
        }
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            sysread($c, $req, 4096, length $req) or POSIX::_exit(0);
        }
        my ($key) = $req =~ /^Sec-WebSocket-Key:\s*(\S+)/mi;
        my $accept = encode_base64(
            sha1($key . Twitch::Test::WebSocket::GUID()), '');
        syswrite $c, "HTTP/1.1 101 Switching Protocols\r\n"
                     . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     . "Sec-WebSocket-Accept: $accept\r\n\r\n";
        my $peer = bless { sock => $c, buf => '', timeout => 10 },
                   'Twitch::Test::WebSocket';
        while (my $msg = $peer->recv(10)) {
            if ($msg->{type} eq 'text') {
                $peer->send_frame(text => "echo: $msg->{data}", mask => 0);
            } elsif ($msg->{type} eq 'ping') {
                $peer->send_frame(pong => $msg->{data}, mask => 0);
            } elsif ($msg->{type} eq 'close') {
                $peer->send_frame(close => pack('n', $msg->{code} // 1000),
                                  mask => 0);
                last;
            }
        }
        POSIX::_exit(0);
    }
}
