# The chat's WebSocket layer, case by case in the spirit of Autobahn's
# groups (reliability.md 1.1 and 7.4): the opening handshake and the
# Origin policy; framing with every length encoding and chopped writes;
# ping/pong; reserved bits and opcodes; fragmentation with interleaved
# control frames; UTF-8 validated incrementally (fail fast, across
# fragments); the closing handshake and its codes; the size limit decided
# from the frame header; masking; the server's pings and the send-queue
# limit; 1001 at a graceful shutdown.
#
# The JSON message {"type":"ping"} answered {"type":"pong"} serves as the
# echo: JSON allows any amount of trailing white space, so a message of
# any size can be made of it.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use IO::Socket::INET ();
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(sleep time);
use Twitch::Test qw(require_platform wait_until);
use Twitch::Test::Chat qw(chat_server client frame json_encode);

require_platform();

my $n = chat_server(
    workers => 2,
    config  => <<'_EOC_',
    location = /ws/big {
        twitch_chat;
        twitch_chat_max_message 1m;
    }
    location = /ws/origins {
        twitch_chat;
        twitch_chat_origins https://app.example http://other.example:8080;
    }
    location = /ws/ping {
        twitch_chat;
        twitch_chat_ping_interval 300ms;
    }
    location = /ws/small {
        twitch_chat;
        twitch_chat_send_queue 4k;
    }
_EOC_
);

$n->start;

my $PING = '{"type":"ping"}';

sub ws { client($n, auth => 0, @_) }

# a fresh connection that must answer the JSON ping
sub pong_ok {
    my ($c, $name) = @_;
    my $m = $c->next_json(3);
    is ref $m && $m->{type}, 'pong', $name
        or diag explain $m, $c->error;
}

# a protocol violation: the server's close code
sub violation {
    my ($bytes, $code, $name, %opt) = @_;
    my $c = ws(path => $opt{path} // '/ws/chat');
    $c->raw($bytes);
    is $c->close_code(3), $code, $name;
    ok $c->eof_within(3), "$name: then the server closes the connection";
}

sub padded {
    my ($len) = @_;
    return $PING . (' ' x ($len - length $PING));
}

# ---- handshake ----------------------------------------------------------

my $c = ws();
is $c->status, 101, 'handshake: 101 Switching Protocols';
ok $c->ok, 'Sec-WebSocket-Accept is base64(SHA1(key + GUID))'
    or diag $c->error;
like $c->header('upgrade'), qr/^websocket$/i, 'Upgrade: websocket';
like $c->header('connection'), qr/\bupgrade\b/i, 'Connection: upgrade';
ok !defined $c->header('content-length'), 'no Content-Length';
$c->json($PING);
pong_ok($c, 'a message after the handshake');
$c->close;

sub raw_request {
    my ($req) = @_;
    my $s = $n->connect or die "connect: $!";
    return Twitch::Test::Nginx::_exchange($s, $req, 3);
}

my $key = 'dGhlIHNhbXBsZSBub25jZQ==';
my %std = (Host => 'localhost', Upgrade => 'websocket',
           Connection => 'Upgrade', 'Sec-WebSocket-Key' => $key,
           'Sec-WebSocket-Version' => 13);

sub handshake {
    my (%h) = @_;
    my $version = delete $h{_version} // '1.1';
    my $method = delete $h{_method} // 'GET';
    my $body = delete $h{_body};
    my %all = (%std, %h);
    my $req = "$method /ws/chat HTTP/$version\r\n";
    for my $k (sort keys %all) {
        $req .= "$k: $all{$k}\r\n" if defined $all{$k};
    }
    $req .= "\r\n" . ($body // '');
    return raw_request($req);
}

my $r = handshake();
is $r->{status}, 101, 'the RFC 6455 example key';
is $r->{headers}{'sec-websocket-accept'}, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
   'and its RFC 6455 answer';

$r = handshake(_method => 'POST', 'Content-Length' => 0);
is $r->{status}, 405, 'POST is 405';
is $r->{headers}{allow}, 'GET', 'with Allow: GET';
like $r->{body}, qr/^\{"error":"WebSocket handshake must use GET"\}$/,
     'and a JSON error';

$r = handshake(_version => '1.0');
is $r->{status}, 400, 'HTTP/1.0 is 400';

$r = handshake(Upgrade => undef);
is $r->{status}, 426, 'no Upgrade header is 426';
is $r->{headers}{'sec-websocket-version'}, '13', 'naming version 13';

$r = handshake(Upgrade => 'h2c');
is $r->{status}, 426, 'Upgrade: h2c is 426';

$r = handshake(Connection => 'keep-alive');
is $r->{status}, 426, 'Connection without the upgrade token is 426';

$r = handshake(Connection => 'keep-alive, Upgrade');
is $r->{status}, 101, 'the upgrade token among others is fine';

$r = handshake('Sec-WebSocket-Version' => 8);
is $r->{status}, 426, 'version 8 is 426';
is $r->{headers}{'sec-websocket-version'}, '13',
   'with Sec-WebSocket-Version: 13';

$r = handshake('Sec-WebSocket-Version' => undef);
is $r->{status}, 426, 'no version is 426';

$r = handshake('Sec-WebSocket-Key' => undef);
is $r->{status}, 400, 'no key is 400';

$r = handshake('Sec-WebSocket-Key' => 'AAAAAAAAAAAAAAAAAAAA');
is $r->{status}, 400, 'a key of 15 bytes is 400';

$r = handshake('Sec-WebSocket-Key' => 'AAAAAAAAAAAAAAAAAAAAA*==');
is $r->{status}, 400, 'a key that is not base64 is 400';

$r = handshake('Content-Length' => 5, _body => 'hello');
is $r->{status}, 400, 'a handshake with a body is 400';

# ---- Origin --------------------------------------------------------------

$r = handshake(Origin => 'https://evil.example');
is $r->{status}, 403, 'a foreign Origin is 403';
like $r->{body}, qr/Origin not allowed/, 'Origin not allowed';

$r = handshake(Origin => 'null');
is $r->{status}, 403, 'Origin: null is 403';

$r = handshake(Origin => 'http://localhost.evil.example');
is $r->{status}, 403, 'a look-alike Origin is 403';

$r = handshake(Origin => 'http://localhost');
is $r->{status}, 101, 'the same host (http) is accepted';

$r = handshake(Origin => 'https://LOCALHOST');
is $r->{status}, 101, 'the same host (https, any case) is accepted';

$r = handshake(Host => 'localhost:' . $n->port,
               Origin => 'http://localhost:' . $n->port);
is $r->{status}, 101, 'the same host and port is accepted';

$r = handshake(Host => 'localhost:' . $n->port,
               Origin => 'http://localhost:1');
is $r->{status}, 403, 'another port is 403';

sub origins {
    my ($origin) = @_;
    my %all = (%std, Origin => $origin);
    my $req = "GET /ws/origins HTTP/1.1\r\n"
              . join('', map { "$_: $all{$_}\r\n" } sort keys %all)
              . "\r\n";
    return raw_request($req)->{status};
}

is origins('https://app.example'), 101, 'twitch_chat_origins: listed';
is origins('http://other.example:8080'), 101, 'twitch_chat_origins: listed 2';
is origins('http://localhost'), 403,
   'twitch_chat_origins: the same host is no longer enough';
is origins('https://app.example.evil'), 403, 'twitch_chat_origins: suffix';

# ---- a frame in the same packet as the handshake ------------------------

{
    my $s = $n->connect;
    my $req = "GET /ws/chat HTTP/1.1\r\n"
              . join('', map { "$_: $std{$_}\r\n" } sort keys %std)
              . "\r\n" . frame(9, 'early') . frame(1, $PING);
    syswrite $s, $req;
    my $buf = '';
    my $until = time + 3;
    while ($buf !~ /\r\n\r\n/ && time < $until) {
        sysread($s, $buf, 65536, length $buf) or last;
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    like $head, qr{^HTTP/1\.1 101}, 'pipelined frames: 101';
    my $p = bless { sock => $s, buf => $rest // '', timeout => 3,
                    status => 101 }, 'Twitch::Test::Chat::Client';
    my $m = $p->recv(3);
    is_deeply [$m->{type}, $m->{data}], ['pong', 'early'],
              'the ping sent with the handshake is answered';
    pong_ok($p, 'and the message after it');
    $p->drop;
}

# ---- framing: every length encoding, chopped writes ----------------------

for my $len (125, 126, 127, 128, 65535, 65536, 100_000) {
    $c = ws(path => '/ws/big');
    $c->json(padded($len));
    pong_ok($c, "a $len-byte message");
    $c->drop;
}

{
    # fragments that grow a message's buffer, then a small message and a
    # large one again
    my $big = padded(20_000);
    $c = ws(path => '/ws/big');
    $c->raw(frame(1, substr($big, 0, 3000), fin => 0)
            . frame(0, substr($big, 3000, 7000), fin => 0)
            . frame(0, substr($big, 10_000)));
    pong_ok($c, 'a 20000-byte message in three fragments');
    $c->json($PING);
    pong_ok($c, 'then a small one');
    $c->json(padded(70_000));
    pong_ok($c, 'then a large one again');
    $c->drop;
}

$c = ws();
$c->send_text('');
my $m = $c->next_json(3);
is_deeply [$m->{type}, $m->{code}], ['error', 'invalid_message'],
          'an empty message is an invalid message, not a failure';
$c->json(padded(4096));
pong_ok($c, 'a message of exactly the limit (4096 bytes)');

$c->raw($_) for split //, frame(1, $PING);
pong_ok($c, 'a frame written one byte at a time');

$c->raw(join '', map { frame(1, $PING) } 1 .. 10);
my $pongs = grep { my $v = $c->next_json(3); $v && $v->{type} eq 'pong' }
            1 .. 10;
is $pongs, 10, 'ten messages in one write: ten answers';
$c->close;

# ---- ping / pong -------------------------------------------------------

$c = ws();
for my $payload ('', 'x' x 125, join('', map { chr } 0 .. 124)) {
    $c->send_ping($payload);
    $m = $c->recv(3);
    is_deeply [$m->{type}, $m->{data}], ['pong', $payload],
              'ping of ' . length($payload) . ' bytes: the same pong';
}

$c->send_pong('unsolicited');
$c->json($PING);
pong_ok($c, 'an unsolicited pong is ignored');

$c->raw(join '', map { frame(9, "p$_") } 1 .. 10);
my @got = map { my $f = $c->recv(3); $f ? $f->{data} : '' } 1 .. 10;
is_deeply \@got, [map { "p$_" } 1 .. 10], 'ten pings, ten pongs in order';
$c->close;

violation(frame(9, 'x' x 126), 1002, 'a ping of 126 bytes is 1002');

# ---- reserved bits and opcodes --------------------------------------------

for my $rsv (1 .. 7) {
    violation(frame(1, $PING, rsv => $rsv), 1002, "RSV bits $rsv: 1002");
}

$c = ws();
$c->raw(frame(1, $PING) . frame(1, $PING, rsv => 4));
pong_ok($c, 'a valid frame before one with RSV1');
is $c->close_code(3), 1002, 'then 1002';

for my $op (3 .. 7, 11 .. 15) {
    violation(frame($op, 'x'), 1002, "reserved opcode $op: 1002");
}

# ---- fragmentation ---------------------------------------------------------

$c = ws();
$c->raw(frame(1, '{"type"', fin => 0) . frame(0, ':"pi', fin => 0)
        . frame(0, 'ng"}'));
pong_ok($c, 'a message in three fragments');

$c->raw(frame(1, '{"type"', fin => 0) . frame(9, 'mid')
        . frame(0, ':"ping"}'));
$m = $c->recv(3);
is_deeply [$m->{type}, $m->{data}], ['pong', 'mid'],
          'a ping between fragments is answered at once';
pong_ok($c, 'and the message completes');

$c->raw(frame(1, '{', fin => 0) . join('', map {
            frame(0, $_, fin => 0) } split //, '"type":"ping"')
        . frame(0, '}'));
pong_ok($c, 'fragments of one byte each');
$c->close;

violation(frame(0, 'x'), 1002, 'a continuation with nothing to continue');
violation(frame(1, '{', fin => 0) . frame(1, '}'), 1002,
          'a new message while one is open');
violation(frame(9, 'x', fin => 0), 1002, 'a fragmented ping');
violation(frame(8, pack('n', 1000), fin => 0), 1002, 'a fragmented close');
violation(frame(2, 'bin'), 1003, 'binary data is 1003');
violation(frame(2, 'bin', fin => 0), 1003, 'a fragmented binary message too');
violation(frame(1, '{', fin => 0) . frame(2, 'x'), 1002,
          'binary inside a text message is 1002');

# ---- UTF-8 -----------------------------------------------------------------

{
    my $text = qq({"type":"ping","x":"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc)
               . qq(\xce\xb5 \xf0\x9f\x98\x80"});
    for my $cut (19, 20, 21, 22, 31, 32, 33) {
        $c = ws();
        $c->raw(frame(1, substr($text, 0, $cut), fin => 0)
                . frame(0, substr($text, $cut)));
        pong_ok($c, "valid UTF-8 split at byte $cut, inside a code point");
        $c->drop;
    }

    $c = ws();
    $c->raw(frame(1, substr($text, 0, 1), fin => 0) . join('', map {
                frame(0, substr($text, $_, 1), fin => $_ == length($text) - 1)
            } 1 .. length($text) - 1));
    pong_ok($c, 'valid UTF-8, one byte per fragment');
    $c->drop;
}

my %bad = (
    'overlong 2-byte'      => "\xc0\x80",
    'overlong 3-byte'      => "\xe0\x80\x80",
    'overlong 4-byte'      => "\xf0\x80\x80\x80",
    'a surrogate'          => "\xed\xa0\x80",
    'above U+10FFFF'       => "\xf4\x90\x80\x80",
    'F5'                   => "\xf5\x80\x80\x80",
    'FF'                   => "\xff",
    'a lone continuation'  => "\x80",
    'a missing continuation' => "\xce\x41",
);

for my $name (sort keys %bad) {
    violation(frame(1, qq({"type":"ping","x":"$bad{$name}"})), 1007,
              "invalid UTF-8, $name: 1007");
}

violation(frame(1, qq({"type":"ping","x":"\xce)), 1007,
          'a message that ends inside a code point: 1007');
violation(frame(1, "\xf4", fin => 0) . frame(0, "\x90\x80\x80"), 1007,
          'invalid UTF-8 across fragments: 1007');

{
    # fail fast: the first fragment is bad, the message never ends
    $c = ws();
    $c->raw(frame(1, qq({"x":"\xc0\xaf), fin => 0));
    is $c->close_code(3), 1007,
       'fail fast: 1007 before the message is complete';
    $c->drop;
}

# ---- closing handshake -----------------------------------------------------

$c = ws();
$c->send_frame(8, '');
$m = $c->recv(3);
is $m && $m->{type}, 'close', 'an empty close is answered';
is $m && length($m->{data}), 0, 'with an empty close';
ok $c->eof_within(3), 'and the server closes the TCP connection';

for my $code (1000 .. 1003, 1007 .. 1014, 3000, 3999, 4000, 4999) {
    $c = ws();
    $c->send_close($code, 'bye');
    is $c->close_code(3), $code, "close $code is echoed";
    ok $c->eof_within(3), "close $code: the server closes the connection";
}

for my $code (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
              65535)
{
    violation(frame(8, pack('n', $code)), 1002, "invalid close code $code");
}

violation(frame(8, "\x03"), 1002, 'a close payload of one byte');
violation(frame(8, pack('n', 1000) . "\xff"), 1007,
          'a close reason that is not UTF-8');

$c = ws();
$c->send_close(1000, 'r' x 123);
is $c->close_code(3), 1000, 'a close payload of 125 bytes';

$c = ws();
$c->raw(frame(8, pack('n', 1000)) . frame(1, $PING));
is $c->close_code(3), 1000, 'data after the close frame ...';
ok !defined $c->next_json(1), '... is not answered';

# ---- limits and masking ----------------------------------------------------

{
    # only the header: the server must not wait for the payload
    $c = ws();
    $c->raw(substr frame(1, '', len => 5000), 0, 8);
    is $c->close_code(3), 1009, 'a 5000-byte frame: 1009 from its header';
    ok $c->eof_within(3), 'and the connection is closed';

    $c = ws();
    $c->raw(substr frame(1, '', len => 1 << 40), 0, 14);
    is $c->close_code(3), 1009, 'a 1 TiB frame: 1009 from its header';

    $c = ws(path => '/ws/big');
    $c->raw(substr frame(1, '', len => 1024 * 1024 + 1), 0, 14);
    is $c->close_code(3), 1009, 'twitch_chat_max_message 1m: 1 MiB + 1';
}

violation(frame(1, 'x' x 3000, fin => 0) . frame(0, 'x' x 1097), 1009,
          'fragments adding up to 4097 bytes: 1009');

{
    my $f = frame(1, '', len => 70000);
    substr($f, 2, 1) = chr(0x80);
    violation(substr($f, 0, 14), 1002, '64-bit length with its top bit set');
}

violation(frame(1, $PING, mask => 0), 1002, 'an unmasked frame is 1002');

# ---- the server's pings ----------------------------------------------------

{
    $c = ws(path => '/ws/ping');
    my $f = $c->recv_frame(2);
    is $f && $f->{type}, 'ping', 'twitch_chat_ping_interval 300ms: a ping';
    $c->send_pong($f ? $f->{payload} : '');

    # answering keeps the connection: recv_text answers pings
    ok !defined $c->recv_text(1.2), 'nothing but pings for 1.2 s';
    $c->json($PING);
    pong_ok($c, 'still open while the pings are answered');

    my $t0 = time;
    my $code;
    while (my $g = $c->recv(3)) {
        if ($g->{type} eq 'close') {
            $code = $g->{code};
            last;
        }
    }
    is $code, 1001, 'a client that stops answering is closed (1001)';
    cmp_ok time - $t0, '<', 2, 'within two intervals';
}

# ---- the send queue --------------------------------------------------------

{
    # a client with a tiny receive window that never reads
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 2048);
    connect($s, Socket::pack_sockaddr_in($n->port,
                                         Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    my $req = "GET /ws/small HTTP/1.1\r\n"
              . join('', map { "$_: $std{$_}\r\n" } sort keys %std)
              . "\r\n";
    syswrite $s, $req;

    my $ping = frame(9, 'q' x 125);
    my $flood = $ping x 200;
    my ($sent, $failed) = (0, 0);
    my $until = time + 10;
    local $SIG{PIPE} = 'IGNORE';
    $s->blocking(0);
    while (time < $until) {
        my $w = syswrite $s, $flood;
        if (!defined $w) {
            if ($!{EAGAIN}) {
                sleep 0.01;
                last if $n->error_log =~ /does not read fast enough/;
                next;
            }
            $failed = 1;
            last;
        }
        $sent += $w;
        last if $n->error_log =~ /does not read fast enough/;
    }
    ok $n->wait_for_error_log(qr/does not read fast enough/, 5),
       'a client that does not read is dropped (twitch_chat_send_queue 4k)';
    cmp_ok $sent, '>', 0, 'after it sent pings';
    close $s;
}

# ---- graceful shutdown -----------------------------------------------------

my @open = map { ws() } 1 .. 3;
$_->json($PING) for @open;
pong_ok($_, 'open before the shutdown') for @open;

$n->signal('QUIT');
for my $o (@open) {
    is $o->close_code(3), 1001, 'nginx quits: close 1001 (going away)';
    $o->send_close(1001);
}

ok wait_until(sub { !$n->is_running }, 5), 'nginx exits';

# it is gone already: only the log is checked (no "open socket" alerts)
$n->check_error_log(no_error_log => [qr/open socket/]);

done_testing;
