package Twitch::Test::WebSocket;

# A minimal RFC 6455 WebSocket client for tests.
#
#   my $ws = Twitch::Test::WebSocket->connect(port => $port,
#                                            path => '/chat');
#   is $ws->status, 101;
#   $ws->send_text('hello');
#   is $ws->recv_text, 'welcome';
#   $ws->close;
#
# Usually obtained through Twitch::Test::Nginx->websocket($path).

use strict;
use warnings;
use feature 'bitwise';

use Digest::SHA qw(sha1);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select ();
use IO::Socket::INET ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

use constant GUID => '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

our %OPCODES = (continuation => 0, text => 1, binary => 2, close => 8,
                ping => 9, pong => 10);
our %TYPES = reverse %OPCODES;

# connect(port => N, path => '/x', addr => '127.0.0.1', host => 'localhost',
#         headers => {Name => value} | [Name => value, ...],
#         protocol => 'chat', origin => 'http://x', timeout => 3)
# Always returns an object; check ->status (101 on success) / ->error.
sub connect {
    my ($class, %opt) = @_;
    my $self = bless {
        timeout => $opt{timeout} // $ENV{TEST_NGINX_TIMEOUT} // 3,
        buf     => '',
        status  => 599,
        headers => {},
    }, $class;

    my $sock = IO::Socket::INET->new(
        PeerAddr => $opt{addr} // '127.0.0.1',
        PeerPort => $opt{port},
        Proto    => 'tcp',
        Timeout  => $self->{timeout},
    );
    if (!$sock) {
        $self->{error} = "connect failed: $!";
        return $self;
    }
    $self->{sock} = $sock;

    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $path = $opt{path} // '/';
    my $req = "GET $path HTTP/1.1\r\n"
            . "Host: " . ($opt{host} // 'localhost') . "\r\n"
            . "Upgrade: websocket\r\n"
            . "Connection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\n"
            . "Sec-WebSocket-Version: 13\r\n";
    $req .= "Sec-WebSocket-Protocol: $opt{protocol}\r\n"
        if defined $opt{protocol};
    $req .= "Origin: $opt{origin}\r\n" if defined $opt{origin};
    my $h = $opt{headers} || {};
    my @h = ref $h eq 'ARRAY' ? @$h : map { ($_, $h->{$_}) } sort keys %$h;
    for (my $i = 0; $i < @h; $i += 2) {
        $req .= "$h[$i]: $h[$i + 1]\r\n";
    }
    $req .= "\r\n";

    if (!$self->_write($req)) {
        return $self;
    }

    # read the handshake response (anything after it is frame data)
    my $end;
    while (($end = index $self->{buf}, "\r\n\r\n") < 0) {
        if (!$self->_fill($self->{timeout})) {
            $self->{error} //= 'no handshake response';
            $self->{response} = $self->{buf};
            return $self;
        }
    }
    my $head = substr $self->{buf}, 0, $end + 4, '';
    $self->{response} = $head;
    my @lines = split /\r\n/, $head;
    my $status = shift @lines;
    $self->{status} = $status =~ m{^HTTP/\d\.\d\s+(\d{3})} ? $1 : 599;
    for my $line (@lines) {
        next unless $line =~ /^([^:]+?)\s*:\s*(.*?)\s*$/;
        my $k = lc $1;
        $self->{headers}{$k} = exists $self->{headers}{$k}
                               ? "$self->{headers}{$k}, $2" : $2;
    }

    if ($self->{status} == 101) {
        my $accept = encode_base64(sha1($key . GUID), '');
        my $got = $self->{headers}{'sec-websocket-accept'} // '';
        $self->{error} = "bad Sec-WebSocket-Accept \"$got\""
            if $got ne $accept;
    } else {
        # keep the rest of a non-101 response as its body
        while (length $self->{buf} < 65536 && $self->_readable(0.05)) {
            last unless $self->_fill(0.2);
        }
        $self->{body} = $self->{buf};
        $self->{buf} = '';
    }
    return $self;
}

sub status { $_[0]{status} }
sub headers { $_[0]{headers} }
sub header { $_[0]{headers}{lc $_[1]} }
sub error { $_[0]{error} }
sub body { $_[0]{body} }
sub response { $_[0]{response} }
sub sock { $_[0]{sock} }
sub ok { $_[0]{status} == 101 && !defined $_[0]{error} }

sub _readable {
    my ($self, $timeout) = @_;
    return 0 unless $self->{sock};
    return IO::Select->new($self->{sock})->can_read($timeout) ? 1 : 0;
}

# Reads more bytes into the buffer; false on timeout or EOF.
sub _fill {
    my ($self, $timeout) = @_;
    my $sock = $self->{sock} or return 0;
    my $until = time + ($timeout // $self->{timeout});
    while (1) {
        my $left = $until - time;
        if ($left <= 0 || !IO::Select->new($sock)->can_read($left)) {
            $self->{error} = 'timeout';
            return 0;
        }
        my $n = sysread $sock, my $data, 65536;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            $self->{error} = "read failed: $!";
            return 0;
        }
        if ($n == 0) {
            $self->{error} = 'connection closed';
            $self->{eof} = 1;
            return 0;
        }
        $self->{buf} .= $data;
        return 1;
    }
}

sub _write {
    my ($self, $data) = @_;
    my $sock = $self->{sock} or return 0;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        if (!defined $n) {
            next if $! == EINTR;
            $self->{error} = "write failed: $!";
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# send_frame($opcode or type name, $payload, fin => 1, mask => 1,
#            rsv => 0): client frames are masked unless mask => 0
#            (for protocol-violation tests).
sub send_frame {
    my ($self, $opcode, $payload, %opt) = @_;
    $opcode = $OPCODES{$opcode} if exists $OPCODES{$opcode};
    $payload //= '';
    utf8::encode($payload) if utf8::is_utf8($payload);
    my $fin = $opt{fin} // 1;
    my $mask = $opt{mask} // 1;
    my $rsv = $opt{rsv} // 0;

    my $frame = chr(($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($opcode & 15));
    my $len = length $payload;
    my $mbit = $mask ? 0x80 : 0;
    if ($len < 126) {
        $frame .= chr($mbit | $len);
    } elsif ($len < 65536) {
        $frame .= chr($mbit | 126) . pack('n', $len);
    } else {
        $frame .= chr($mbit | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $key = pack 'N', int rand 4294967296;
        $frame .= $key . _mask($payload, $key);
    } else {
        $frame .= $payload;
    }
    return $self->_write($frame);
}

sub _mask {
    my ($data, $key) = @_;
    my $len = length $data;
    my $stream = substr($key x (int($len / 4) + 1), 0, $len);
    return $data ^. $stream;
}

sub send_text { my ($s, $d) = @_; $s->send_frame(1, $d) }
sub send_binary { my ($s, $d) = @_; $s->send_frame(2, $d) }
sub send_ping { my ($s, $d) = @_; $s->send_frame(9, $d) }
sub send_pong { my ($s, $d) = @_; $s->send_frame(10, $d) }

sub send_close {
    my ($self, $code, $reason) = @_;
    my $payload = defined $code ? pack('n', $code) . ($reason // '') : '';
    return $self->send_frame(8, $payload);
}

# Next frame as { fin, opcode, type, payload, masked, rsv } or undef
# (timeout / connection closed: see ->error).
sub recv_frame {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while (1) {
        my $f = $self->_parse_frame;
        return $f if $f;
        my $left = $until - time;
        return undef if $left <= 0 || !$self->_fill($left);
    }
}

sub _parse_frame {
    my $self = shift;
    my $buf = \$self->{buf};
    return undef if length $$buf < 2;
    my ($b1, $b2) = unpack 'CC', $$buf;
    my $len = $b2 & 0x7f;
    my $pos = 2;
    if ($len == 126) {
        return undef if length $$buf < 4;
        $len = unpack 'n', substr $$buf, 2, 2;
        $pos = 4;
    } elsif ($len == 127) {
        return undef if length $$buf < 10;
        $len = unpack 'Q>', substr $$buf, 2, 8;
        $pos = 10;
    }
    my $masked = $b2 & 0x80;
    my $key;
    if ($masked) {
        return undef if length $$buf < $pos + 4;
        $key = substr $$buf, $pos, 4;
        $pos += 4;
    }
    return undef if length $$buf < $pos + $len;
    my $payload = substr $$buf, $pos, $len;
    substr($$buf, 0, $pos + $len) = '';
    $payload = _mask($payload, $key) if $masked;
    my $opcode = $b1 & 15;
    return { fin => ($b1 & 0x80) ? 1 : 0, rsv => ($b1 >> 4) & 7,
             opcode => $opcode, type => $TYPES{$opcode} // "op$opcode",
             masked => $masked ? 1 : 0, payload => $payload };
}

# Next message: { type => text|binary|close|ping|pong, data, code,
# reason } with fragmented messages reassembled; undef on timeout/EOF.
sub recv {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    my ($type, $data);
    while (1) {
        my $f = $self->recv_frame(_left($until)) or return undef;
        if ($f->{opcode} >= 8) {
            my $msg = { type => $f->{type}, data => $f->{payload} };
            if ($f->{opcode} == 8 && length $f->{payload} >= 2) {
                $msg->{code} = unpack 'n', $f->{payload};
                $msg->{reason} = substr $f->{payload}, 2;
            }
            return $msg;
        }
        if ($f->{opcode} != 0) {
            ($type, $data) = ($f->{type}, $f->{payload});
        } else {
            $data .= $f->{payload};
        }
        return { type => $type // 'continuation', data => $data }
            if $f->{fin};
    }
}

sub _left {
    my $left = shift() - time;
    return $left > 0 ? $left : 0.001;
}

# Data of the next text message, answering pings and skipping pongs;
# undef on timeout, close or a binary message (see ->error).
sub recv_text {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while (my $m = $self->recv(_left($until))) {
        if ($m->{type} eq 'ping') {
            $self->send_pong($m->{data});
            next;
        }
        next if $m->{type} eq 'pong';
        if ($m->{type} ne 'text') {
            $self->{error} = "got a $m->{type} message";
            $self->{close_code} = $m->{code} if $m->{type} eq 'close';
            return undef;
        }
        return $m->{data};
    }
    return undef;
}

# Sends a close frame (default 1000), waits for the server's close frame
# and closes the socket.  Returns the server's close message or undef.
sub close {
    my ($self, $code, $reason) = @_;
    return undef unless $self->{sock};
    $self->send_close($code // 1000, $reason);
    my $until = time + $self->{timeout};
    my $reply;
    while (my $m = $self->recv(_left($until))) {
        if ($m->{type} eq 'close') {
            $reply = $m;
            last;
        }
    }
    CORE::close($self->{sock});
    delete $self->{sock};
    return $reply;
}

# Closes the TCP connection without a close handshake.
sub drop {
    my $self = shift;
    CORE::close($self->{sock}) if $self->{sock};
    delete $self->{sock};
}

1;
