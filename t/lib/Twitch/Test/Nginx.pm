package Twitch::Test::Nginx;

# An nginx instance under the test's control, for Test::More-style .t
# files whose steps the Test::Nginx block format cannot express
# (restarting or killing the server mid-test, WebSocket conversations,
# several requests depending on each other ...).
#
#   my $n = Twitch::Test::Nginx->new(
#       http_config => '...', config => '...', workers => 2);
#   $n->start;
#   my $res = $n->request(GET => '/api/health');
#   is $res->{status}, 200;
#   $n->stop;    # also tests error.log for alerts, crashes, sanitizers
#
# It reads the same environment as Test::Nginx::Socket: TEST_NGINX_BINARY,
# TEST_NGINX_LOAD_MODULES, TEST_NGINX_SERVROOT, TEST_NGINX_PORT /
# TEST_NGINX_SERVER_PORT, TEST_NGINX_LOG_LEVEL, TEST_NGINX_TIMEOUT.
# See the POD at the end.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);

use Twitch::Test ();
use Twitch::Test::WebSocket ();

# Instances still running, stopped (without tests) at exit.
my %Running;

my %ConfigureArgs;    # nginx binary => "configure arguments" text

sub _find_nginx {
    for my $dir (split /:/, $ENV{PATH} || '') {
        next if $dir eq '';
        return "$dir/nginx" if -f "$dir/nginx" && -x _;
    }
    return '/usr/sbin/nginx';
}

sub new {
    my ($class, %opt) = @_;

    my $base_port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                    || 1984;
    my $port = $opt{port} // $ENV{TWITCH_TEST_NGINX_PORT} // $base_port + 1;

    # A sibling of the block tests' server root: the real Test::Nginx
    # refuses to run when its server root holds unknown directories.
    my $servroot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                       || 't/servroot');
    my $root = File::Spec->rel2abs($opt{root} // "${servroot}_steps/$port");

    my $self = bless {
        port             => $port,
        root             => $root,
        name             => $opt{name} // "nginx:$port",
        binary           => $opt{binary} // $ENV{TEST_NGINX_BINARY}
                            // _find_nginx(),
        load_modules     => $opt{load_modules}
                            // $ENV{TEST_NGINX_LOAD_MODULES} // '',
        workers          => $opt{workers} // 1,
        master           => $opt{master} // 1,
        log_level        => $opt{log_level} // $ENV{TEST_NGINX_LOG_LEVEL}
                            // 'debug',
        timeout          => $opt{timeout} // $ENV{TEST_NGINX_TIMEOUT} // 3,
        main_config      => $opt{main_config} // '',
        http_config      => $opt{http_config} // '',
        config           => $opt{config} // '',
        post_main_config => $opt{post_main_config} // '',
        allow_error_log  => $opt{allow_error_log} // [],
        log_checked      => 0,     # error.log offset already checked
        started_once     => 0,
    }, $class;
    return $self;
}

# Accessors.
sub port { $_[0]{port} }
sub root { $_[0]{root} }
sub name { $_[0]{name} }
sub conf_file { "$_[0]{root}/conf/nginx.conf" }
sub error_log_file { "$_[0]{root}/logs/error.log" }
sub access_log_file { "$_[0]{root}/logs/access.log" }
sub pid_file { "$_[0]{root}/logs/nginx.pid" }
sub html_dir { "$_[0]{root}/html" }
sub url { my ($self, $path) = @_; "http://127.0.0.1:$self->{port}"
                                  . ($path // '/') }

# Replace the config texts for the next start()/reload().
sub set_config {
    my ($self, %opt) = @_;
    for my $k (qw(main_config http_config config post_main_config)) {
        $self->{$k} = $opt{$k} if exists $opt{$k};
    }
    return $self;
}

# $TEST_NGINX_PORT / $TEST_NGINX_SERVER_PORT expand to this instance's
# port, $TEST_NGINX_SERVROOT / $TEST_NGINX_SERVER_ROOT to its root; any
# other $TEST_NGINX_FOO to the environment variable (dies if unset).
sub expand {
    my ($self, $text) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        $var eq 'TEST_NGINX_PORT' || $var eq 'TEST_NGINX_SERVER_PORT'
            ? $self->{port}
        : $var eq 'TEST_NGINX_SERVROOT' || $var eq 'TEST_NGINX_SERVER_ROOT'
            ? $self->{root}
        : defined $ENV{$var} ? $ENV{$var}
        : croak "$self->{name}: environment variable $var is not set";
    }ge;
    return $text;
}

sub _slurp {
    my $file = shift;
    open my $in, '<', $file or return undef;
    binmode $in;
    local $/;
    my $data = <$in>;
    close $in;
    return $data;
}

sub _write_file {
    my ($file, $data) = @_;
    open my $out, '>', $file or croak "cannot write $file: $!";
    binmode $out;
    print $out $data;
    close $out or croak "cannot write $file: $!";
}

sub _configure_args {
    my $self = shift;
    my $bin = $self->{binary};
    $ConfigureArgs{$bin} //= do {
        my $out = `$bin -V 2>&1`;
        croak "cannot run \"$bin -V\" (set TEST_NGINX_BINARY): "
              . ($out // $!) if !defined $out || $? != 0;
        ($out =~ /configure arguments:(.*)/)[0] // '';
    };
}

sub _write_config {
    my $self = shift;
    my $root = $self->{root};
    my $main = $self->expand($self->{main_config});
    my $http = $self->expand($self->{http_config});
    my $config = $self->expand($self->{config});
    my $post = $self->expand($self->{post_main_config});

    my $load = join '', map { "load_module $_;\n" }
                        grep { length } split /\s+/, $self->{load_modules};

    # temp paths inside our root, unless the test sets them itself
    my $args = $self->_configure_args;
    my $temp = '';
    for my $m (qw(client_body proxy fastcgi uwsgi scgi)) {
        next if $m ne 'client_body'
                && $args =~ /--without-http_${m}_module\b/;
        next if $http =~ /\b${m}_temp_path\b/;    # would be a duplicate
        $temp .= "    ${m}_temp_path $root/${m}_temp;\n";
    }

    my $master = $self->{master} ? 'on' : 'off';
    my $user = $> == 0 ? "user root;\n" : '';

    _write_file($self->conf_file, <<"_EOC_");
# Generated by Twitch::Test::Nginx ($self->{name})
$load
worker_processes  $self->{workers};
daemon on;
master_process $master;
error_log $root/logs/error.log $self->{log_level};
pid       $root/logs/nginx.pid;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env ASAN_OPTIONS;
env LSAN_OPTIONS;
env UBSAN_OPTIONS;
$user
$main

http {
    access_log $root/logs/access.log;

    default_type text/plain;
    keepalive_timeout  68;

$temp
$http

    server {
        listen          $self->{port};
        server_name     localhost;

        client_max_body_size 30M;

$config
    }
}

$post

events {
    accept_mutex off;
    worker_connections  1024;
}
_EOC_
}

sub _pid {
    my $self = shift;
    my $pid = _slurp($self->pid_file) // return undef;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# True while $pid exists and is not a zombie.
sub _alive {
    my $pid = shift;
    return 0 unless $pid && kill(0, $pid);
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub pid { $_[0]{pid} }

sub is_running {
    my $self = shift;
    return _alive($self->{pid});
}

# PIDs of the master's worker (and cache manager ...) processes.
sub worker_pids {
    my $self = shift;
    my $master = $self->{pid} or return ();
    my @pids;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // next;
        push @pids, $pid if $stat =~ /\)\s+[^ZX]\s+(\d+)/ && $1 == $master;
    }
    closedir $dh;
    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

sub _can_connect {
    my $self = shift;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $self->{port},
                                     Proto => 'tcp', Timeout => 1);
    return 0 unless $sock;
    close $sock;
    return 1;
}

# The last $n lines of error.log, leaving out debug lines.
sub _log_tail {
    my ($self, $n) = @_;
    my $debug = 0;
    my @lines = grep {
        # an entry starts with a time stamp; continuation lines follow it
        $debug = /\[debug\]/ if m{^\d{4}/\d\d/\d\d \d\d:};
        !$debug;
    } split /^/m, (_slurp($self->error_log_file) // '');
    splice @lines, 0, @lines - $n if @lines > $n;
    return join '', @lines;
}

# Starts nginx; dies with nginx's stderr and the error.log tail when it
# cannot.  The server root is wiped on the first start only, so that the
# error.log of a restarted server keeps its history.
sub start {
    my $self = shift;
    croak "$self->{name} is already running" if $self->is_running;
    my $root = $self->{root};

    if (!$self->{started_once}) {
        # an nginx left behind in our root by an aborted run
        if (my $stale = $self->_pid) {
            local $self->{pid} = $stale;
            $self->_shutdown;
        }
        remove_tree("$root/conf", "$root/logs", "$root/html",
                    glob("$root/*_temp"));
        $self->{log_checked} = 0;
    }
    make_path("$root/conf", "$root/logs", "$root/html");
    $self->_write_config;
    unlink $self->pid_file;

    my $stderr_file = "$root/logs/nginx.stderr";
    my @cmd = ($self->{binary}, '-p', "$root/", '-c', $self->conf_file);
    my $status;
    my $deadline = time + 10;
    while (1) {
        my $pid = fork;
        croak "fork() failed: $!" unless defined $pid;
        if ($pid == 0) {
            open STDIN, '<', '/dev/null';
            open STDOUT, '>', '/dev/null';
            open STDERR, '>', $stderr_file;
            { no warnings 'exec'; exec { $cmd[0] } @cmd; }
            print STDERR "exec $cmd[0] failed: $!\n";
            POSIX::_exit(127);
        }
        waitpid $pid, 0;
        $status = $?;
        last if $status == 0;
        # the port may still be held by a previous instance for a moment
        last unless (_slurp($stderr_file) // '') =~ /Address already in use/
                    && time < $deadline;
        sleep 0.2;
    }
    if ($status != 0) {
        croak "$self->{name}: \"@cmd\" failed (status " . ($status >> 8)
              . "):\n" . (_slurp($stderr_file) // '')
              . "---- error.log tail:\n" . $self->_log_tail(30);
    }

    my $ok = Twitch::Test::wait_until(sub { $self->_pid }, 5, 0.01);
    croak "$self->{name}: no pid file appeared\n" . $self->_log_tail(30)
        unless $ok;
    $self->{pid} = $self->_pid;
    $self->{owner} = $$;
    $self->{killed} = 0;
    $self->{started_once} = 1;
    $Running{$self} = $self;

    Twitch::Test::wait_until(sub { $self->_can_connect }, 5, 0.02)
        or croak "$self->{name}: port $self->{port} does not accept "
                 . "connections\n" . $self->_log_tail(30);

    # in master mode, also wait for the workers to be forked
    if ($self->{master} && $self->{workers} =~ /^\d+$/) {
        Twitch::Test::wait_until(
            sub { (my @w = $self->worker_pids) >= $self->{workers} },
            5, 0.02);
    }
    return $self;
}

# Sends a signal to the master process (no waiting).
sub signal {
    my ($self, $sig) = @_;
    my $pid = $self->{pid} or return 0;
    return kill $sig, $pid;
}

# Rewrites nginx.conf from the current config texts (see set_config) and
# sends HUP; waits until the old workers are gone.  Master mode only.
sub reload {
    my $self = shift;
    croak "$self->{name}: reload needs master mode" unless $self->{master};
    my %old = map { $_ => 1 } $self->worker_pids;
    $self->_write_config;
    $self->signal('HUP');
    return Twitch::Test::wait_until(sub {
        my @now = $self->worker_pids;
        @now && !grep { $old{$_} } @now;
    }, $self->{timeout} + 5, 0.05) ? 1 : 0;
}

# Kills nginx abruptly (SIGKILL to the whole process group by default),
# e.g. to test how clients cope with a crashed server.  stop() will not
# complain that the server died.
sub crash {
    my ($self, $sig) = @_;
    my $pid = $self->{pid} or return;
    $self->{killed} = 1;
    $sig //= 'KILL';
    kill $sig, -$pid;
    kill $sig, $pid;
    Twitch::Test::wait_until(sub { !_alive($pid) }, 5, 0.02);
    delete $Running{$self};
}

sub _shutdown {
    my ($self) = @_;
    my $pid = $self->{pid};
    return 0 unless _alive($pid);

    kill 'QUIT', $pid;
    my $t = $self->{timeout} > 3 ? $self->{timeout} : 3;
    return 1 if Twitch::Test::wait_until(sub { !_alive($pid) }, $t, 0.02);

    warn "$self->{name}: nginx did not quit gracefully, sending TERM\n";
    kill 'TERM', $pid;
    return 1 if Twitch::Test::wait_until(sub { !_alive($pid) }, 3, 0.02);

    warn "$self->{name}: killing nginx with force\n";
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    Twitch::Test::wait_until(sub { !_alive($pid) }, 3, 0.02);
    return 1;
}

# Stops nginx (QUIT, then TERM, then KILL) and tests that the part of
# error.log written since the previous check has no line matching
# @Twitch::Test::NO_ERROR_LOG (minus allow_error_log, and minus the
# extra patterns in $opt{allow}); patterns in $opt{no_error_log} are
# checked too.  Returns true when all of these tests passed.
sub stop {
    my ($self, %opt) = @_;
    my $was_running = $self->_shutdown;
    delete $Running{$self};
    unlink $self->pid_file;

    my $ok = 1;
    if ($self->{pid} && !$was_running && !$self->{killed}) {
        $ok = Test::More::fail("$self->{name} - nginx (pid $self->{pid}) "
                               . "was still running before stop()");
    }
    undef $self->{pid};
    return $self->check_error_log(%opt) && $ok;
}

# The error-log tests of stop(), usable on their own at any time.
sub check_error_log {
    my ($self, %opt) = @_;
    my $log = $self->error_log;
    my $new = substr $log, $self->{log_checked};
    $self->{log_checked} = length $log;

    my @allow = (@{ $self->{allow_error_log} }, @{ $opt{allow} || [] });
    my @pats = grep {
        my $p = $_;
        !grep { $_ eq $p } @allow;
    } @Twitch::Test::NO_ERROR_LOG;
    push @pats, @{ $opt{no_error_log} || [] };

    my $ok = 1;
    for my $pat (@pats) {
        my ($line) = grep { ref $pat ? $_ =~ $pat : index($_, $pat) >= 0 }
                     split /^/m, $new;
        if (defined $line) {
            chomp $line;
            Test::More::fail("$self->{name} - no \"$pat\" in error.log");
            Test::More::diag("matching line: $line");
            $ok = 0;
        } else {
            Test::More::pass("$self->{name} - no \"$pat\" in error.log");
        }
    }
    Test::More::diag("---- $self->{name} error.log tail:\n"
                     . $self->_log_tail(40)) unless $ok;
    return $ok;
}

sub restart {
    my ($self, %opt) = @_;
    my $ok = $self->stop(%opt);
    $self->start;
    return $ok;
}

# Whole text of error.log.
sub error_log {
    my $self = shift;
    return _slurp($self->error_log_file) // '';
}

sub access_log {
    my $self = shift;
    return _slurp($self->access_log_file) // '';
}

# Waits until error.log matches $pat (a string or qr//).
sub wait_for_error_log {
    my ($self, $pat, $timeout) = @_;
    return Twitch::Test::wait_until(sub {
        my $log = $self->error_log;
        ref $pat ? $log =~ $pat : index($log, $pat) >= 0;
    }, $timeout // $self->{timeout});
}

# A connected (blocking) TCP socket to the server.
sub connect {
    my $self = shift;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $self->{port},
                                 Proto => 'tcp',
                                 Timeout => $self->{timeout});
}

# A WebSocket client connected to $path (see Twitch::Test::WebSocket).
sub websocket {
    my ($self, $path, %opt) = @_;
    return Twitch::Test::WebSocket->connect(
        port => $self->{port}, path => $path,
        timeout => $self->{timeout}, %opt);
}

# request(GET => '/path', headers => {...}, body => '...', timeout => s,
#         host => 'localhost')
# One request per connection ("Connection: close"), redirects are not
# followed.  Returns { status, reason, headers => {lc name => value},
# header_lines => [[name, value], ...], body, raw, error }.  status is 599
# when no response was received (error says why).
sub request {
    my ($self, $method, $path, %opt) = @_;
    my $timeout = $opt{timeout} // $self->{timeout};

    my $given = $opt{headers} || {};
    my @hdrs = ref $given eq 'ARRAY'
             ? @$given
             : map { ($_, $given->{$_}) } sort keys %$given;
    my %has;
    for (my $i = 0; $i < @hdrs; $i += 2) {
        $has{lc $hdrs[$i]} = 1;
    }
    my $body = $opt{body};
    unshift @hdrs, Host => $opt{host} // 'localhost' unless $has{host};
    push @hdrs, Connection => 'close' unless $has{connection};
    push @hdrs, 'Content-Length' => length $body
        if defined $body && !$has{'content-length'}
           && !$has{'transfer-encoding'};

    my $req = "$method $path HTTP/1.1\r\n";
    for (my $i = 0; $i < @hdrs; $i += 2) {
        $req .= "$hdrs[$i]: $hdrs[$i + 1]\r\n";
    }
    $req .= "\r\n" . ($body // '');

    my $sock = $self->connect
        or return { status => 599, reason => 'Internal Exception',
                    headers => {}, header_lines => [], body => '',
                    raw => '', error => "connect failed: $!" };
    return _exchange($sock, $req, $timeout, $method eq 'HEAD');
}

# Writes $req, reads one response; shared with the WebSocket handshake.
sub _exchange {
    my ($sock, $req, $timeout, $head, $keep_open) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $sel = IO::Select->new($sock);
    my $res = { status => 599, reason => 'Internal Exception',
                headers => {}, header_lines => [], body => '', raw => '' };

    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite $sock, $req, length($req) - $off, $off;
        if (!defined $n) {
            next if $! == EINTR;
            $res->{error} = "write failed: $!";
            last;    # the server may still have answered
        }
        $off += $n;
    }

    my $raw = '';
    my ($hdr_len, $done);
    while (!$done) {
        if (!$sel->can_read($timeout)) {
            $res->{error} = 'timeout';
            last;
        }
        my $n = sysread $sock, my $buf, 65536;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            $res->{error} = "read failed: $!";
            last;
        }
        last if $n == 0;
        $raw .= $buf;
        if (!defined $hdr_len && $raw =~ /\r\n\r\n/) {
            $hdr_len = $+[0];
            _parse_head($res, substr $raw, 0, $hdr_len);
        }
        $done = _complete($res, $raw, $hdr_len, $head) if defined $hdr_len;
    }
    close $sock unless $keep_open;

    $res->{raw} = $raw;
    if (!defined $hdr_len) {
        $res->{error} //= 'no response';
        $res->{status} = 599;
        return $res;
    }
    my $rest = substr $raw, $hdr_len;
    if (lc($res->{headers}{'transfer-encoding'} // '') eq 'chunked') {
        my ($body, $left) = _dechunk($rest);
        $res->{body} = $body // $rest;
        $res->{error} //= 'bad chunked encoding' unless defined $body;
        $res->{leftover} = $left;
    } elsif (defined(my $len = $res->{headers}{'content-length'})) {
        $res->{body} = substr $rest, 0, $len;
        $res->{leftover} = substr $rest, $len if length $rest > $len;
    } else {
        $res->{body} = $rest;
    }
    return $res;
}

sub _parse_head {
    my ($res, $head) = @_;
    my @lines = split /\r\n/, $head;
    my $status = shift @lines // '';
    ($res->{status}, $res->{reason}) =
        $status =~ m{^HTTP/\d\.\d\s+(\d{3})\s*(.*)$} ? ($1, $2)
                                                      : (599, $status);
    for my $line (@lines) {
        next unless $line =~ /^([^:]+?)\s*:\s*(.*?)\s*$/;
        push @{ $res->{header_lines} }, [$1, $2];
        my $k = lc $1;
        $res->{headers}{$k} = exists $res->{headers}{$k}
                              ? "$res->{headers}{$k}, $2" : $2;
    }
}

# Is the response in $raw complete?  (Stops early on keep-alive.)
sub _complete {
    my ($res, $raw, $hdr_len, $head) = @_;
    my $s = $res->{status};
    return 1 if $head || $s == 204 || $s == 304 || $s == 101
                || ($s >= 100 && $s < 200);
    my $h = $res->{headers};
    if (lc($h->{'transfer-encoding'} // '') eq 'chunked') {
        my ($body) = _dechunk(substr $raw, $hdr_len);
        return defined $body;
    }
    if (defined $h->{'content-length'}) {
        return length($raw) - $hdr_len >= $h->{'content-length'};
    }
    return 0;    # read until the server closes
}

# Decodes a chunked body; returns (body, leftover) or () if incomplete.
sub _dechunk {
    my ($data) = @_;
    my ($body, $pos) = ('', 0);
    while (1) {
        pos($data) = $pos;
        return () unless $data =~ /\G([0-9A-Fa-f]+)[^\r\n]*\r\n/gc;
        my $size = hex $1;
        $pos = pos($data);
        if ($size == 0) {
            # skip trailers up to the final empty line
            pos($data) = $pos;
            return () unless $data =~ /\G(?:[^\r\n]+\r\n)*\r\n/gc;
            return ($body, substr $data, pos($data));
        }
        return () if length($data) < $pos + $size + 2;
        $body .= substr $data, $pos, $size;
        $pos += $size + 2;
    }
}

END {
    local $?;
    # not from a forked child of the test script
    $_->_shutdown for grep { $_->{owner} == $$ } values %Running;
    %Running = ();
}

1;
__END__

=head1 NAME

Twitch::Test::Nginx - an nginx instance driven step by step from a test

=head1 SYNOPSIS

    use lib 't/lib';
    use Test::More;
    use Twitch::Test;

    my $n = Twitch::Test::Nginx->new(
        config => q{ location = /t { return 200 "ok\n"; } },
    );
    $n->start;
    my $res = $n->request(GET => '/t');
    is $res->{status}, 200;
    is $res->{body}, "ok\n";
    $n->stop;
    done_testing;

=head1 CONSTRUCTOR OPTIONS

main_config, http_config, config (inside C<server { listen PORT;
server_name localhost; ... }>), post_main_config, workers (1), master
(1 = master_process on), log_level (TEST_NGINX_LOG_LEVEL or debug),
timeout (TEST_NGINX_TIMEOUT or 3), port (TWITCH_TEST_NGINX_PORT, else
TEST_NGINX_SERVER_PORT/TEST_NGINX_PORT + 1), root
("${TEST_NGINX_SERVROOT}_steps/PORT"), name (prefix of test names),
binary, load_modules, allow_error_log (patterns of
@Twitch::Test::NO_ERROR_LOG that stop() must not test).

In the config texts $TEST_NGINX_PORT / $TEST_NGINX_SERVER_PORT expand to
this instance's port, $TEST_NGINX_SERVROOT / $TEST_NGINX_SERVER_ROOT to
its root and any other $TEST_NGINX_FOO to the environment variable.

=head1 METHODS

start, stop(%opt), restart, reload, crash($sig = 'KILL'), signal($sig),
is_running, pid, worker_pids, request($method, $path, headers => {...} or
[...], body => $bytes, host => $host, timeout => $s), connect (raw
socket), websocket($path, %opt), error_log, access_log,
wait_for_error_log($pat, $timeout), check_error_log(%opt),
set_config(%texts), expand($text), port, root, url($path), conf_file,
error_log_file, pid_file, html_dir.

stop() and check_error_log() accept allow => [patterns] and
no_error_log => [extra patterns].

=cut
