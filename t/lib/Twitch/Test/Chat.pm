package Twitch::Test::Chat;

# Helpers for the chat suites (t/040-049): an nginx with the chat, users
# and sessions made directly in PostgreSQL and Redis, and a chat client
# (a Twitch::Test::WebSocket that speaks the JSON protocol).
#
#   use Twitch::Test::Chat qw(chat_server sql redis make_user session);
#   my $n = chat_server(workers => 2);
#   $n->start;
#   my ($uid, $cid) = make_user("t41_alice", channel => 1);
#   my $c = Twitch::Test::Chat::client($n, user => $uid);
#   my $j = $c->join_room($cid);
#   $c->say($cid, 'hello');
#   my $m = $c->wait_type('chat');
#
# See the POD at the end.

use strict;
use warnings;

use parent 'Exporter';
use JSON::PP ();
use Time::HiRes qw(time sleep);

use Twitch::Test ();
use Twitch::Test::Nginx ();
use Twitch::Test::WebSocket ();

our @EXPORT_OK = qw(chat_server sql redis make_user session client
                    frame json_encode json_decode);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { my $v = eval { $JSON->decode($_[0]) }; $v }

# chat_server(port => N, workers => 1, http => '...', location => '...',
#             config => '...', name => '...')
sub chat_server {
    my (%opt) = @_;
    my $http = $opt{http} // '';
    my $loc = $opt{location} // '';
    my $config = $opt{config} // '';
    return Twitch::Test::Nginx->new(
        (defined $opt{port} ? (port => $opt{port}) : ()),
        (defined $opt{name} ? (name => $opt{name}) : ()),
        workers     => $opt{workers} // 1,
        timeout     => $opt{timeout} // 5,
        http_config => <<"_EOC_",
    twitch_postgres "\$TEST_NGINX_PG";
    twitch_redis \$TEST_NGINX_REDIS;
    twitch_chat_flush_interval 100ms;
$http
_EOC_
        config      => <<"_EOC_",
    location /api/ { twitch_api; }
    location = /ws/chat {
        twitch_chat;
$loc
    }
$config
_EOC_
    );
}

# sql($query): psql's unaligned, tuples-only output, chomped; dies on
# errors.
sub sql {
    my ($q) = @_;
    open my $fh, '-|', 'psql', $ENV{TEST_NGINX_PG}, '-X', '-tA', '-q',
        '-v', 'ON_ERROR_STOP=1', '-c', $q
        or die "psql: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh or die "psql failed ($?) for: $q\n$out";
    $out =~ s/\s+\z//;
    return $out;
}

# redis(@args): redis-cli's output, chomped.
sub redis {
    open my $fh, '-|', 'redis-cli', '-p', $ENV{TEST_NGINX_REDIS_PORT}, @_
        or die "redis-cli: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $out;
}

# make_user($name, channel => 1, role => 'user'): the user's id (and with
# channel, the channel's id too); an existing user is reused.
sub make_user {
    my ($name, %opt) = @_;
    my $role = $opt{role} // 'user';
    my $id = sql("INSERT INTO users (username, email, password_hash,"
                 . " display_name, role) VALUES ('$name',"
                 . " '$name\@example.org', '\$y\$test', '\u$name', '$role')"
                 . " ON CONFLICT DO NOTHING RETURNING id");
    $id = sql("SELECT id FROM users WHERE username = '$name'") if $id eq '';
    return $id unless $opt{channel};
    my $cid = sql("INSERT INTO channels (user_id, name) VALUES ($id, '$name')"
                  . " ON CONFLICT DO NOTHING RETURNING id");
    $cid = sql("SELECT id FROM channels WHERE user_id = $id") if $cid eq '';
    return ($id, $cid);
}

# session($user_id): a fresh session (in Redis, as a login makes it);
# returns the Cookie header value.
sub session {
    my ($uid) = @_;
    my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
    my $sid = join '', map { $c[int rand @c] } 1 .. 43;
    redis('SET', "session:$sid", $uid, 'EX', 3600);
    return "session=$sid";
}

# client($nginx, user => $uid | cookie => '...', origin => ..., headers =>
# {...}, auth => 0, path => '/ws/chat', port => N): a connected chat
# client; with auth (the default) the auth_success answer is read into
# ->{identity}.
sub client {
    my ($n, %opt) = @_;
    my %h = %{ $opt{headers} || {} };
    $h{Cookie} = $opt{cookie} if defined $opt{cookie};
    $h{Cookie} = session($opt{user}) if defined $opt{user};
    my $c = Twitch::Test::Chat::Client->connect(
        port => $opt{port} // $n->port, path => $opt{path} // '/ws/chat',
        timeout => $opt{timeout} // 5, headers => \%h,
        (defined $opt{origin} ? (origin => $opt{origin}) : ()));
    if ($c->ok && ($opt{auth} // 1)) {
        $c->json({ type => 'auth' });
        $c->{identity} = $c->wait_type('auth_success');
    }
    return $c;
}

# frame($opcode, $payload, fin => 1, rsv => 0, mask => 1, len => N):
# the bytes of a client frame; "len" claims another payload length.
sub frame {
    my ($opcode, $payload, %opt) = @_;
    $payload //= '';
    my $fin = $opt{fin} // 1;
    my $mask = $opt{mask} // 1;
    my $len = $opt{len} // length $payload;
    my $f = chr(($fin ? 0x80 : 0) | ((($opt{rsv} // 0) & 7) << 4)
                | ($opcode & 15));
    my $m = $mask ? 0x80 : 0;
    if ($len < 126) {
        $f .= chr($m | $len);
    } elsif ($len < 65536) {
        $f .= chr($m | 126) . pack('n', $len);
    } else {
        $f .= chr($m | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $key = pack 'N', int rand 4294967296;
        $f .= $key . Twitch::Test::WebSocket::_mask($payload, $key);
    } else {
        $f .= $payload;
    }
    return $f;
}


package Twitch::Test::Chat::Client;

use strict;
use warnings;

use parent -norequire, 'Twitch::Test::WebSocket';
use Time::HiRes qw(time);

sub json {
    my ($self, $v) = @_;
    return $self->send_text(ref $v ? Twitch::Test::Chat::json_encode($v)
                                   : $v);
}

# raw bytes on the socket
sub raw { $_[0]->_write($_[1]) }

# The next JSON message (pings answered), or undef.
sub next_json {
    my ($self, $timeout) = @_;
    my $text = $self->recv_text($timeout);
    return undef unless defined $text;
    my $v = Twitch::Test::Chat::json_decode($text);
    $self->{error} = "not JSON: $text" unless defined $v;
    push @{ $self->{seen} }, $v if defined $v;
    return $v;
}

# wait_type($type, $timeout, field => value, ...): the next message of
# that type whose fields match (others are skipped into ->{skipped}).
sub wait_type {
    my ($self, $type, $timeout, %match) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while ((my $left = $until - time) > 0) {
        my $m = $self->next_json($left) or return undef;
        if (ref $m eq 'HASH' && ($m->{type} // '') eq $type
            && !grep { !defined $m->{$_} || $m->{$_} ne $match{$_} }
                     keys %match)
        {
            return $m;
        }
        push @{ $self->{skipped} }, $m;
    }
    return undef;
}

# no message of that type within $timeout (others are skipped)
sub none_of {
    my ($self, $type, $timeout, %match) = @_;
    return !defined $self->wait_type($type, $timeout // 1, %match);
}

sub join_room {
    my ($self, $id, $timeout) = @_;
    $self->json({ type => 'join', channelId => $id + 0 });
    return $self->wait_type('joined', $timeout, channelId => $id);
}

sub say {
    my ($self, $id, $text) = @_;
    return $self->json({ type => 'chat', channelId => $id + 0,
                         text => $text });
}

# say() and the answer: the chat message or the error
sub say_and_wait {
    my ($self, $id, $text, $timeout) = @_;
    $self->say($id, $text);
    my $until = time + ($timeout // $self->{timeout});
    while ((my $left = $until - time) > 0) {
        my $m = $self->next_json($left) or return undef;
        next unless ref $m eq 'HASH';
        return $m if $m->{type} eq 'error';
        next unless $m->{type} eq 'chat';
        # one's own message (others may say the same)
        next if $self->{identity} && defined $self->{identity}{userId}
                && ($m->{userId} // 0) != $self->{identity}{userId};
        return $m if $m->{message} eq $text || "/me $m->{message}" eq $text;
    }
    return undef;
}

# the close frame's code (undef: none came), reading past other frames
sub close_code {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while ((my $left = $until - time) > 0) {
        my $m = $self->recv($left) or return undef;
        if ($m->{type} eq 'close') {
            $self->{close_frame} = $m;
            return $m->{code} // 1005;
        }
    }
    return undef;
}

# the server closed the TCP connection (EOF) within $timeout
sub eof_within {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while ((my $left = $until - time) > 0) {
        return 1 if $self->{eof};
        $self->{buf} = '';
        $self->_fill($left) or return $self->{eof} ? 1 : 0;
    }
    return $self->{eof} ? 1 : 0;
}

1;
__END__

=head1 NAME

Twitch::Test::Chat - helpers for the chat test suites

=head1 FUNCTIONS

chat_server(%opt), sql($q), redis(@args), make_user($name, %opt),
session($uid), client($nginx, %opt), frame($opcode, $payload, %opt),
json_encode, json_decode.

=head1 CLIENT METHODS

json($ref|$text), raw($bytes), next_json($t), wait_type($type, $t,
%match), none_of($type, $t, %match), join_room($id), say($id, $text),
say_and_wait($id, $text), close_code($t), eof_within($t), plus those of
Twitch::Test::WebSocket.

=cut
