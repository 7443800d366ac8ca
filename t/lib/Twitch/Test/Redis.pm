package Twitch::Test::Redis;

# A minimal Redis client (RESP2) for tests: commands, and a subscriber
# that collects the messages published on channels.
#
#   my $sub = Twitch::Test::Redis->new;         # $TEST_NGINX_REDIS_PORT
#   $sub->subscribe('chat:1');                  # waits for the confirmation
#   ... make the server publish ...
#   my $m = $sub->next_message(2);              # [channel, payload] or undef
#   my @all = $sub->drain(0.3);                 # what arrives within 0.3 s
#
#   my $r = Twitch::Test::Redis->new;
#   $r->command(qw(SET k v));                   # 'OK'
#
# See the POD at the end.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(time);

sub new {
    my ($class, %opt) = @_;
    my $port = $opt{port} // $ENV{TEST_NGINX_REDIS_PORT}
        // croak 'TEST_NGINX_REDIS_PORT is not set';
    my $sock = IO::Socket::INET->new(PeerAddr => $opt{host} // '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp',
                                     Timeout => 3)
        or croak "cannot connect to redis on port $port: $!";
    $sock->autoflush(1);
    return bless { sock => $sock, buf => '',
                   timeout => $opt{timeout} // 3 }, $class;
}

sub _send {
    my ($self, @args) = @_;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite $self->{sock}, $req, length($req) - $off, $off;
        if (!defined $n) {
            next if $! == EINTR;
            croak "redis write failed: $!";
        }
        $off += $n;
    }
}

# One reply parsed from the buffer, or () when it is incomplete.
sub _parse {
    my ($self, $pos) = @_;
    my $buf = \$self->{buf};
    my $eol = index $$buf, "\r\n", $pos;
    return () if $eol < 0;
    my $type = substr $$buf, $pos, 1;
    my $line = substr $$buf, $pos + 1, $eol - $pos - 1;
    my $next = $eol + 2;

    return ({ error => $line }, $next) if $type eq '-';
    return ($line, $next) if $type eq '+' || $type eq ':';

    if ($type eq '$') {
        return (undef, $next) if $line < 0;
        return () if length($$buf) < $next + $line + 2;
        return (substr($$buf, $next, $line), $next + $line + 2);
    }

    if ($type eq '*') {
        return (undef, $next) if $line < 0;
        my @items;
        for (1 .. $line) {
            my ($v, $p) = $self->_parse($next);
            return () unless defined $p;
            push @items, $v;
            $next = $p;
        }
        return (\@items, $next);
    }

    croak "redis: unexpected reply type \"$type\"";
}

# The next reply, waiting at most $timeout seconds; () on timeout.
sub _reply {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    my $sel = IO::Select->new($self->{sock});
    while (1) {
        my ($v, $p) = $self->_parse(0);
        if (defined $p) {
            substr($self->{buf}, 0, $p) = '';
            return ($v);
        }
        my $left = $until - time;
        return () if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread $self->{sock}, my $chunk, 65536;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            croak "redis read failed: $!";
        }
        croak 'redis closed the connection' if $n == 0;
        $self->{buf} .= $chunk;
    }
}

sub command {
    my ($self, @args) = @_;
    $self->_send(@args);
    my @r = $self->_reply;
    croak "redis: no reply to $args[0]" unless @r;
    return $r[0];
}

sub subscribe {
    my ($self, @channels) = @_;
    $self->_send('SUBSCRIBE', @channels);
    for my $ch (@channels) {
        my @r = $self->_reply;
        croak "redis: SUBSCRIBE $ch not confirmed"
            unless @r && ref $r[0] eq 'ARRAY' && $r[0][0] eq 'subscribe';
    }
    return $self;
}

# [channel, payload] of the next message, or undef after $timeout.
sub next_message {
    my ($self, $timeout) = @_;
    my $until = time + ($timeout // $self->{timeout});
    while (1) {
        my $left = $until - time;
        return undef if $left <= 0;
        my @r = $self->_reply($left);
        return undef unless @r;
        my $m = $r[0];
        next unless ref $m eq 'ARRAY' && $m->[0] eq 'message';
        return [$m->[1], $m->[2]];
    }
}

# Every message that arrives before $quiet seconds pass without one.
sub drain {
    my ($self, $quiet) = @_;
    my @all;
    while (my $m = $self->next_message($quiet // 0.3)) {
        push @all, $m;
    }
    return @all;
}

sub disconnect {
    my $self = shift;
    CORE::close($self->{sock}) if $self->{sock};
    undef $self->{sock};
}

1;
__END__

=head1 NAME

Twitch::Test::Redis - a tiny Redis client for the test suite

=head1 METHODS

=over

=item new(port => $ENV{TEST_NGINX_REDIS_PORT}, host => '127.0.0.1')

=item command(@args)

Sends one command and returns its reply: a string, an integer, an array
reference, undef (nil) or C<{ error =E<gt> $text }>.

=item subscribe(@channels)

SUBSCRIBE, waiting until each channel is confirmed, so that whatever is
published afterwards is received.

=item next_message($timeout = 3)

C<[$channel, $payload]> of the next published message, or undef.

=item drain($quiet = 0.3)

All messages received until none comes for C<$quiet> seconds.

=item disconnect()

=back

=cut
