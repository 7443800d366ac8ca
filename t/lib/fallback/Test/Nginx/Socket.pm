package Test::Nginx::Socket;

# A small, self-contained stand-in for the subset of openresty's
# Test::Nginx::Socket (CPAN distribution Test-Nginx) that this project's
# test suite uses.  It is put on @INC (PERL5LIB=t/lib/fallback) only when
# the real module is not installed, so every .t file must keep working
# unchanged under the real module: the block sections, the exported
# functions, the environment variables and even the test names follow
# the real module's documented behaviour.
#
# Deliberate differences from the real module (see also the POD below):
#
#   * nginx is started and stopped for every block and for every
#     repeat_each() round (with a fresh server root, so --- init runs
#     and start-up log lines appear in every round); the error.log
#     checks run AFTER nginx has been stopped, so messages written at
#     shutdown (sanitizer leak reports, alerts while exiting) are caught
#     as well.  A block sending several requests checks error.log once.
#   * load_module lines come first in nginx.conf (the real module appends
#     them to --- main_config).
#   * a --- no_error_log pattern matching several lines fails once.
#   * nginx failing to start fails the block instead of bailing out.
#   * --- must_die: the nginx command's stderr is checked together with
#     logs/error.log (nginx logs configuration errors to its built-in
#     error log, which is stderr for Debian's nginx).
#   * client_body/proxy/fastcgi/uwsgi/scgi temp paths are put into the
#     server root (the compiled-in ones may not be writable).
#   * $TEST_NGINX_* is also expanded in --- request, --- raw_request and
#     --- more_headers (the real module does not do that).
#
# Only core Perl and Debian-packaged modules (Test::Base) are used.

use strict;
use warnings;

# "-base" (lowercase) makes us a Test::Base subclass without Spiffy's
# source filter: importers get our @EXPORT plus Test::Base's (blocks, plan,
# is, like, ok, diag, ...), and "use Test::Nginx::Socket 'no_plan'" or
# "tests => N" is handled by Test::Base::import, exactly as for the real
# module.
use Test::Base -base;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle min);
use POSIX qw(WNOHANG SIGQUIT SIGTERM SIGKILL);
use Time::HiRes qw(sleep time);

our $VERSION = '0.29_fallback';

# Lets a .t file (or a helper) tell which implementation it runs under.
our $IsFallback = 1;

our @EXPORT = qw(
    run_tests run_test repeat_each no_shuffle workers master_on master_off
    master_process_enabled log_level worker_connections timeout
    add_block_preprocessor add_cleanup_handler add_response_body_check
    no_long_string no_root_location env_to_nginx config_preamble
    server_name server_addr server_root html_dir server_port
    server_port_for_client bail_out is_str
);

# ---------------------------------------------------------------------------
# Settings (same environment variables and defaults as Test::Nginx::Util)
# ---------------------------------------------------------------------------

our $NginxBinary = $ENV{TEST_NGINX_BINARY} || _find_nginx();
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled = 'on';
our $Workers = 1;
our $WorkerConnections = 64;
our $RepeatEach = 1;
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoRootLocation = 0;
our $NoLongString;
our $ConfigPreamble = '';
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $Verbose = $ENV{TEST_NGINX_VERBOSE};

our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                    || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# stderr of the nginx command line (startup / must_die messages).
our $StderrFile = File::Spec->catfile($LogDir, 'nginx.stderr');

our (@BlockPreprocessors, @CleanupHandlers, @ResponseBodyChecks);
our @EnvToNginx;
our ($NginxVersion, $NginxConfigureArgs);
our $PrevBlock;

# END must not stop nginx from a forked child of the test script.
our $MainPid = $$;

# A few .t files peek at Test::Nginx::Util's variables; alias the common
# ones so that such code works here too.
{
    no strict 'refs';
    for my $var (qw(ServerPort ServerPortForClient ServRoot ErrLogFile
                    AccLogFile HtmlDir ConfFile PidFile NginxBinary
                    RepeatEach LogLevel Workers ServerAddr ServerName))
    {
        *{"Test::Nginx::Util::$var"} = \${"Test::Nginx::Socket::$var"};
    }
}

# ---------------------------------------------------------------------------
# Exported configuration functions (setters double as getters)
# ---------------------------------------------------------------------------

sub repeat_each (@) { $RepeatEach = shift if @_; return $RepeatEach }
sub workers (@) { $Workers = shift if @_; return $Workers }
sub log_level (@) { $LogLevel = shift if @_; return $LogLevel }
sub timeout (@) { $Timeout = shift if @_; return $Timeout }
sub server_name (@) { $ServerName = shift if @_; return $ServerName }
sub server_addr (@) { $ServerAddr = shift if @_; return $ServerAddr }
sub server_root () { return $ServRoot }
sub html_dir () { return $HtmlDir }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub no_long_string () { $NoLongString = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub config_preamble ($) { $ConfigPreamble = shift }

sub worker_connections (@) {
    $WorkerConnections = shift if @_;
    return $WorkerConnections;
}

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
    }
    return $MasterProcessEnabled;
}

sub server_port (@) {
    if (@_) {
        $ServerPort = shift;
        $ServerPortForClient = $ServerPort
            unless $ENV{TEST_NGINX_CLIENT_PORT};
    }
    return $ServerPort;
}

sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_;
    return $ServerPortForClient;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

# Like the real module, handlers added later run first.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

sub _find_nginx {
    for my $dir (split /:/, $ENV{PATH} || '') {
        next if $dir eq '';
        my $path = "$dir/nginx";
        return $path if -f $path && -x _;
    }
    return '/usr/sbin/nginx';
}

# Accepts "3", "3s", "200ms" (as the real module's parse_time()).
sub _parse_time {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm /= 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub _fmt_str {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub _trim {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
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
    open my $out, '>', $file or bail_out("Cannot write $file: $!");
    binmode $out;
    print $out $data;
    close $out or bail_out("Cannot close $file: $!");
}

# True while $pid exists and is not a zombie (nginx daemonizes, so its
# processes are not our children; in a container nobody may reap them).
sub _is_running {
    my $pid = shift;
    return 0 unless $pid && kill(0, $pid);
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub _read_pid {
    my $pid = _slurp($PidFile);
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# Number of failed tests so far (used to print diagnostics per block).
sub _failures {
    return scalar grep { !$_ } Test::More->builder->summary;
}

# Replaces $TEST_NGINX_FOO by the environment variable's value, as the
# real module does; $TEST_NGINX_RAND_PORT_N gets a free random port (the
# same one within a block) and $TEST_NGINX_SERVER_PORT / $TEST_NGINX_PORT
# always name the port the test server listens on.
sub _expand_env {
    my ($text, $name, $rand_ports) = @_;
    return $text unless defined $text && !ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var eq 'TEST_NGINX_SERVER_PORT' || $var eq 'TEST_NGINX_PORT') {
            $val = $ServerPort;
        } elsif ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $val = $rand_ports->{$var} //= _rand_port($rand_ports);
        } elsif (defined $ENV{$var}) {
            $val = $ENV{$var};
        } else {
            bail_out("$name - No environment $var defined.\n");
        }
        $val;
    }ge;
    return $text;
}

sub _rand_port {
    my $used = shift;
    my %used = map { $_ => 1 } $ServerPort, values %$used;
    for (1 .. 1000) {
        my $port = 1985 + int rand 63000;
        next if $used{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port,
                                         Proto => 'tcp', ReuseAddr => 1)
            or next;
        close $sock;
        return $port;
    }
    bail_out("Cannot find a free port for \$TEST_NGINX_RAND_PORT_*");
}

# A "pattern list" section value: lines of text, an arrayref, or a qr//.
sub _pattern_list {
    my $pats = shift;
    return [] unless defined $pats;
    if (!ref $pats) {
        chomp $pats;
        return [grep { length } split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [grep { defined } @$pats] if ref $pats eq 'ARRAY';
    return [$pats];
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub _value_contains {
    my ($val, $needle) = @_;
    return 0 unless defined $val;
    if (!ref $val || ref $val eq 'Regexp') {
        return index("$val", $needle) >= 0;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if _value_contains($v, $needle);
        }
    }
    return 0;
}

# Expected values may be given per request when a block sends several
# requests (--- request eval giving an arrayref).
sub _indexed_value {
    my ($name, $value, $req_idx, $need_array) = @_;
    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[$req_idx] if $need_array || $req_idx == 0;
    } elsif ($need_array) {
        bail_out("$name - You asked for many requests, the expected "
                 . "results should be arrays as well.");
    }
    return $value;
}

# ---------------------------------------------------------------------------
# nginx version / features
# ---------------------------------------------------------------------------

sub _probe_nginx {
    return if defined $NginxVersion;
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to run \"$NginxBinary -V\" (set TEST_NGINX_BINARY"
                 . "): " . ($out // $!));
    }
    if ($out =~ m{nginx[^/]*/(\d+)\.(\d+)\.(\d+)}) {
        $NginxVersion = sprintf "%d.%03d%03d", $1, $2, $3;
    } else {
        $NginxVersion = 0;
    }
    ($NginxConfigureArgs) = $out =~ /configure arguments:(.*)/;
    $NginxConfigureArgs //= '';
}

# ---------------------------------------------------------------------------
# Server root, user files and nginx.conf
# ---------------------------------------------------------------------------

sub _setup_server_root {
    if (-d $ServRoot) {
        # Only remove what we create ourselves, so that a mis-set
        # TEST_NGINX_SERVROOT cannot wipe real data (as the real module).
        remove_tree($ConfDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    bail_out("Failed to create $ServRoot") unless -d $ConfDir;
    _write_file("$HtmlDir/index.html",
                '<html><head><title>It works!</title></head>'
                . '<body>It works!</body></html>');
}

# --- user_files: either text with ">>> name [touch-date]" headers or an
# arrayref of [name, body, date].  Relative names go under html/.
sub _write_user_files {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, '', $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - --- user_files must be a string or an ARRAY");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            make_path($1) unless -d $1;
        }
        _write_file($path, _expand_env($body // '', $name, $rand_ports));
        if ($date) {
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - failed to touch $path");
        }
    }
}

# Temp path directives pointing into the server root; a directive the
# test case sets itself is left out (it would be a duplicate).
sub _temp_path_config {
    my ($user_text) = @_;
    my @paths = (['client_body_temp_path', 'client_body_temp', undef]);
    for my $m (qw(proxy fastcgi uwsgi scgi)) {
        push @paths, ["${m}_temp_path", "${m}_temp", "http_${m}_module"];
    }
    my $out = '';
    for my $p (@paths) {
        my ($directive, $dir, $module) = @$p;
        next if $module && $NginxConfigureArgs =~ /--without-\Q$module\E\b/;
        next if $user_text =~ /\b\Q$directive\E\b/;
        $out .= "    $directive $ServRoot/$dir;\n";
    }
    return $out;
}

sub _write_config_file {
    my ($block, $config, $rand_ports, $log_level) = @_;
    my $name = $block->name;

    my $http_config = _expand_env($block->http_config // '', $name,
                                  $rand_ports);
    my $main_config = _expand_env($block->main_config // '', $name,
                                  $rand_ports);
    my $post_main_config = _expand_env($block->post_main_config // '',
                                       $name, $rand_ports);
    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name = $block->server_name // $ServerName;
    (my $quoted_server_name = $server_name) =~ s/(['\\])/\\$1/g;

    my $load_modules = '';
    for my $so (grep { length } split /\s+/, $LoadModules // '') {
        $load_modules .= "load_module $so;\n";
    }

    my $env = '';
    for my $v (qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS LSAN_OPTIONS
                  UBSAN_OPTIONS), @EnvToNginx)
    {
        $env .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }

    # (only http-level duplicates would clash)
    my $temp_paths = _temp_path_config($http_config);

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $user = '';
    if (defined $ENV{TEST_NGINX_WORKER_USER}) {
        $user = "user $ENV{TEST_NGINX_WORKER_USER};\n";
    } elsif ($> == 0) {
        # As the real module: when run as root, let the workers stay root
        # so that they can use the files the test creates.
        $user = "user root;\n";
    }

    _write_file($ConfFile, <<"_EOC_");
# Generated by the fallback Test::Nginx::Socket for:
# $name
$load_modules
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $log_level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;

$temp_paths
$http_config

    server {
        listen          $ServerPort;
        server_name     '$quoted_server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
$user
_EOC_
}

# ---------------------------------------------------------------------------
# Starting and stopping nginx
# ---------------------------------------------------------------------------

# Runs the nginx command line; stdout goes to /dev/null and stderr to
# $StderrFile.  Returns the wait status.
sub _run_nginx_cmd {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    warn "running: @cmd\n" if $Verbose;
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StderrFile;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $?;
}

# Starts nginx for the current block.  Returns (1) on success or (0,
# $why) when nginx refused to start.
sub _start_nginx {
    my ($name) = @_;
    my $deadline = time + 10;
    while (1) {
        my $status = _run_nginx_cmd();
        last if $status == 0;
        my $err = _slurp($StderrFile) // '';
        # A previous instance may still hold the port for a moment.
        if ($err =~ /Address already in use/ && time < $deadline) {
            sleep 0.2;
            next;
        }
        return (0, "nginx exited with status " . ($status >> 8)
                   . ($status & 127 ? " (signal " . ($status & 127) . ")"
                                    : ''));
    }

    # The daemon writes the pid file right after forking.
    my $until = time + 5;
    until (defined _read_pid()) {
        return (0, "no pid file $PidFile appeared") if time > $until;
        sleep 0.01;
    }
    sleep $TestNginxSleep;
    return (1);
}

# Stops the nginx of the current block: QUIT (graceful), then TERM, then
# KILL of the whole process group.  Returns 0 if nginx was already gone
# (i.e. it died during the test), 1 otherwise.
sub _stop_nginx {
    my ($name) = @_;
    my $pid = _read_pid();
    return 1 unless defined $pid;

    if (!_is_running($pid)) {
        unlink $PidFile;
        return 0;
    }

    kill SIGQUIT, $pid;
    my $until = time + ($Timeout > 3 ? $Timeout : 3);
    sleep 0.02 while _is_running($pid) && time < $until;

    if (_is_running($pid)) {
        warn "$name - nginx ($pid) did not quit gracefully, sending TERM\n";
        kill SIGTERM, $pid;
        $until = time + 3;
        sleep 0.02 while _is_running($pid) && time < $until;
    }

    if (_is_running($pid)) {
        warn "$name - killing nginx ($pid) with force\n";
        # daemonized nginx is a process group leader (setsid)
        kill SIGKILL, -$pid;
        kill SIGKILL, $pid;
        $until = time + 3;
        sleep 0.02 while _is_running($pid) && time < $until;
    }

    unlink $PidFile;
    return 1;
}

# Kills a still-running nginx left in our server root (e.g. by an aborted
# run or TEST_NGINX_NO_CLEAN), so that the port is free.
sub _kill_stale_nginx {
    my $pid = _read_pid();
    return unless defined $pid;
    _stop_nginx('cleanup') if _is_running($pid);
    unlink $PidFile;
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

END {
    # Stop a server still running (e.g. the test died mid-block), unless
    # asked to keep it around.
    if (!$ENV{TEST_NGINX_NO_CLEAN} && $$ == $MainPid) {
        local $?;
        my $pid = _read_pid();
        _stop_nginx('END') if defined $pid && _is_running($pid);
    }
}

# ---------------------------------------------------------------------------
# Building and sending requests
# ---------------------------------------------------------------------------

sub _parse_more_headers {
    my ($text) = @_;
    my ($out, $is_chunked) = ('', 0);
    for my $header (split /\n+/, $text // '') {
        next if $header =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val //= '';
        $is_chunked = 1
            if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Turns the text of a --- request ("METHOD [URI [VERSION]]" plus an
# optional body) into raw HTTP bytes, the way the real module does.
sub _build_request {
    my ($name, $request, $more_headers) = @_;

    # leading blank lines and "# comment" lines are ignored
    1 while $request =~ s/\A\s*#[^\n]*\n// || $request =~ s/\A\s+//;

    my ($first, $content) = split /\n/, $request, 2;
    if (!defined $first || $first !~ /\S/) {
        bail_out("$name - Request line should be non-empty");
    }
    my ($meth, $url, $ver) = split ' ', $first;
    $url //= '/';
    $ver //= 'HTTP/1.1';
    $content //= '';

    my ($hdrs, $is_chunked) = _parse_more_headers($more_headers);

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $hdrs !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = 'Content-Length: ' . length($content) . "\r\n";
    }

    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $hdrs !~ /(?:^|\n)Host:/i;
    $headers .= "Connection: close\r\n" if $hdrs !~ /(?:^|\n)Connection/i;

    return "$meth $url $ver\r\n$headers$hdrs$len_header\r\n$content";
}

# Returns a list of requests; each one is an arrayref of packets
# ({value => bytes, delay_before => seconds}).
sub _requests_from_block {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;

    my $raw = $block->raw_request;
    if (defined $raw) {
        my @bits = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return [[map { { value => _expand_env($_, $name, $rand_ports) } }
                 @bits]];
    }

    my $request = $block->request;
    if (!defined $request) {
        bail_out("$name - no --- request or --- raw_request section");
    }
    my $more = $block->more_headers // '';
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);

    my @out;
    my $i = 0;
    for my $req (@reqs) {
        my $hdr = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        bail_out("$name - --- more_headers lacks data for request $i")
            unless defined $hdr;
        $hdr = _expand_env($hdr, $name, $rand_ports);

        if (!ref $req) {
            $req = _expand_env($req, $name, $rand_ports);
            push @out, [{ value => _build_request($name, $req, $hdr) }];
        } elsif (ref $req eq 'ARRAY') {
            # packets: the whole request is built from their concatenation
            # and the packet boundaries are kept relative to the body end.
            # packets: the request is built from their concatenation;
            # the added headers go to the first packet, the later ones
            # keep their lengths (counted from the end).
            my @pk = map { ref $_ ? {%$_} : { value => $_ } } @$req;
            my $whole = join '', map { $_->{value} } @pk;
            my $built = _build_request($name, $whole, $hdr);
            my $pos = length $built;
            for my $p (reverse @pk[1 .. $#pk]) {
                my $len = min(length $p->{value}, $pos);
                $pos -= $len;
                $p->{value} = substr $built, $pos, $len;
            }
            $pk[0]{value} = substr $built, 0, $pos;
            push @out, \@pk;
        } else {
            bail_out("$name - --- request must be a string or an ARRAY");
        }
        $i++;
    }
    return \@out;
}

# Connects to the test server, retrying while nginx comes up.
sub _connect {
    my ($name, $timeout, $nginx_pid) = @_;
    my $err;
    for my $try (1 .. 50) {
        my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                         PeerPort => $ServerPortForClient,
                                         Proto => 'tcp',
                                         Timeout => $timeout);
        return $sock if $sock;
        $err = $!;
        last if $nginx_pid && !_is_running($nginx_pid);
        my $wait = ($TestNginxSleep + $TestNginxSleep * $try) * $try / 2;
        sleep($wait > 1 ? 1 : $wait);
    }
    Test::More::fail("$name - Can't connect to "
                     . "$ServerAddr:$ServerPortForClient: $err (aborted)");
    return undef;
}

# Sends one request and reads the response until the server closes the
# connection (or the idle timeout expires).
sub _send_request {
    my ($block, $packets, $timeout, $nginx_pid) = @_;
    my $name = $block->name;
    my $middle_delay = _parse_time($block->raw_request_middle_delay);

    my $sock = _connect($name, $timeout, $nginx_pid) or return undef;
    local $SIG{PIPE} = 'IGNORE';
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);

    my $first = 1;
    for my $p (@$packets) {
        my $delay = $p->{delay_before} // ($first ? undef : $middle_delay);
        sleep $delay if $delay;
        $first = 0;
        my $buf = $p->{value} // '';
        my $off = 0;
        while ($off < length $buf) {
            if (!$sel->can_write($timeout)) {
                Test::More::fail("ERROR: client socket timed out - $name");
                close $sock;
                return undef;
            }
            my $n = syswrite $sock, $buf, length($buf) - $off, $off;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                # the server may reply and close early (e.g. 413)
                last;
            }
            $off += $n;
        }
    }
    shutdown($sock, 1) if defined $block->shutdown;

    my $resp = '';
    while (1) {
        if (!$sel->can_read($timeout)) {
            Test::More::fail("ERROR: client socket timed out - $name")
                unless defined $block->abort;
            last;
        }
        my $n = sysread $sock, my $chunk, 65536;
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            warn "WARNING: $name - HTTP response read failure: $!\n";
            last;
        }
        last if $n == 0;
        $resp .= $chunk;
    }
    close $sock;
    return $resp;
}

# Parses a raw HTTP response into a small response object:
# { code, message, headers => {lc name => [values]}, content }.
sub _parse_response {
    my ($name, $raw, $head_req) = @_;
    my $res = { code => undef, headers => {}, content => undef };
    my $raw_headers = '';
    my $left;

    my ($head, $body) = ($raw, '');
    if ($raw =~ /\A(.*?\r?\n)\r?\n/s) {
        ($head, $body) = ($1, substr $raw, $+[0]);
        $raw_headers = $head;
    }

    my @lines = split /\r?\n/, $head;
    my $status = shift @lines // '';
    if ($status =~ m{^HTTP/\d+(?:\.\d+)?\s+(\d{3})(?:\s+(.*))?$}) {
        $res->{code} = $1;
        $res->{message} = $2;
    }
    for my $line (@lines) {
        next unless $line =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/;
        push @{ $res->{headers}{lc $1} }, $2;
    }
    $res->{content} = $body;

    my $code = $res->{code} // 0;
    return ($res, $raw_headers, undef) if $code == 304 || $code == 101;

    my $enc = _header($res, 'Transfer-Encoding');
    my $len = _header($res, 'Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my $decoded = '';
        my $pos = 0;
        while (1) {
            pos($body) = $pos;
            if ($body =~ /\G0[ \t]*\r\n\r\n/gc) {
                $left = substr $body, pos($body)
                    if pos($body) < length $body;
                last;
            }
            if ($body !~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                Test::More::fail(length($body) > $pos
                    ? "$name - invalid chunked body received: "
                      . _fmt_str(substr $body, $pos, 40)
                    : "$name - no last chunk found - "
                      . _fmt_str(substr $body, 0, 200));
                last;
            }
            my $size = hex $1;
            $pos = pos($body);
            if (length($body) - $pos < $size + 2
                || substr($body, $pos + $size, 2) ne "\r\n")
            {
                Test::More::fail("$name - invalid chunked data received");
                last;
            }
            $decoded .= substr $body, $pos, $size;
            $pos += $size + 2;
        }
        $res->{content} = $decoded;
    } elsif (defined $len && $len =~ /^\d+$/ && !$head_req) {
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected,"
                 . " but got " . length($body) . "\n";
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->{content} = substr $body, 0, $len;
        }
    }
    return ($res, $raw_headers, $left);
}

# Header value as HTTP::Response->header() gives it: all values joined.
sub _header {
    my ($res, $key) = @_;
    my $vals = $res && $res->{headers}{lc $key};
    return undef unless $vals;
    return join ', ', @$vals;
}

# ---------------------------------------------------------------------------
# Checks (test names follow the real module)
# ---------------------------------------------------------------------------

sub _check_error_code {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';
    if (defined $block->error_code_like) {
        my $val = _indexed_value($name, $block->error_code_like, $req_idx,
                                 $need_array);
        Test::More::like($code, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        my $val = _indexed_value($name, $block->error_code, $req_idx,
                                 $need_array);
        Test::More::is($code, $val, "$name - status code ok");
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }
}

# "Name: value" lines; "!Name" means the header must be absent.
sub _parse_header_lines {
    my $text = shift // '';
    my %headers;
    for my $line (split /\n/, $text) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val // '';
        }
    }
    return \%headers;
}

sub _check_response_headers {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        my $exp = _indexed_value($name, $block->raw_response_headers_like,
                                 $req_idx, $need_array);
        Test::More::like($raw_headers, qr/$exp/s,
                         "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $exp = _indexed_value($name, $block->raw_response_headers_unlike,
                                 $req_idx, $need_array);
        Test::More::unlike($raw_headers, qr/$exp/s,
                           "$name - raw resp headers unlike");
    }

    if (defined $block->response_headers) {
        my $headers = _parse_header_lines(_indexed_value(
            $name, $block->response_headers, $req_idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            if (!defined $val) {
                # case-sensitive on the raw headers, like the real module
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            Test::More::is(_header($res, $key) // '', $val,
                           "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $headers = _parse_header_lines(_indexed_value(
            $name, $block->response_headers_like, $req_idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key} // '';
            Test::More::like(_header($res, $key) // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

sub _check_response_body {
    my ($block, $res, $req_idx, $repeat_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->{content} : undef;

    if (defined $block->response_body) {
        my $expected = _indexed_value($name, $block->response_body,
                                      $req_idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $desc = "$name - response_body - ";
        if (ref $expected) {
            Test::More::like($content, $expected, $desc
                . "like (repeated req $repeat_idx, req $req_idx)");
        } else {
            Test::Base::is($content, $expected, $desc
                . "response is expected (repeated req $repeat_idx, "
                . "req $req_idx)");
        }
    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pats = $type eq 'like' ? $block->response_body_like
                                   : $block->response_body_unlike;
        my $pat = _indexed_value($name, $pats, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g unless ref $pat;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g
            unless ref $pat;
        my $summary = _trim($content) // '';
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;
        my $desc = "$name - response_body_$type - response is expected"
                   . " ($summary)";
        if ($type eq 'like') {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $req_idx, $repeat_idx, 0);
    }
}

sub _error_log_lines {
    my ($with_stderr) = @_;
    my @lines;
    for my $file ($ErrLogFile, $with_stderr ? ($StderrFile) : ()) {
        open my $in, '<', $file or next;
        push @lines, <$in>;
        close $in;
    }
    return \@lines;
}

sub _check_error_log {
    my ($block, $repeat_idx, $with_stderr) = @_;
    my $name = $block->name;
    my $lines = _error_log_lines($with_stderr);
    my %mentioned;

    if (defined $block->error_log) {
        my $raw = $block->error_log;
        $mentioned{$_} = 1
            for grep { _value_contains($raw, "[$_") } qw(alert crit emerg);
        my @pats = @{ _pattern_list($raw) };
        my @found;
        for my $line (@$lines) {
            for my $i (0 .. $#pats) {
                $found[$i] = 1
                    if !$found[$i] && _line_matches($line, $pats[$i]);
            }
        }
        for my $i (0 .. $#pats) {
            if ($found[$i]) {
                Test::More::pass("$name - pattern \"$pats[$i]\" matches a "
                                 . "line in error.log (req $repeat_idx)");
            } else {
                Test::More::fail("$name - pattern \"$pats[$i]\" should "
                    . "match a line in error.log (req $repeat_idx)");
            }
        }
    }

    if (defined $block->no_error_log) {
        my $raw = $block->no_error_log;
        $mentioned{$_} = 1
            for grep { _value_contains($raw, "[$_") } qw(alert crit emerg);
        for my $pat (@{ _pattern_list($raw) }) {
            my $p = _fmt_str("$pat");
            my ($idx) = grep { _line_matches($lines->[$_], $pat) }
                        0 .. $#$lines;
            if (!defined $idx) {
                Test::More::pass("$name - pattern \"$p\" does not match a "
                                 . "line in error.log (req $repeat_idx)");
                next;
            }
            my $ln = _fmt_str($lines->[$idx]);
            my $end = min($idx + 10, $#$lines);
            Test::More::fail("$name - pattern \"$p\" should not match any "
                . "line in error.log but matches line \"$ln\" "
                . "(req $repeat_idx)\n"
                . join '', @$lines[$idx + 1 .. $end]);
        }
    }

    # Like the real module: loudly report unexpected alert/crit/emerg
    # lines, and fail on assertion failures.  (A must_die block is
    # expected to log an [emerg].)
    $mentioned{emerg} = 1 if defined $block->must_die;
    for my $line (@$lines) {
        for my $level (qw(alert crit emerg)) {
            next if $mentioned{$level} || $line !~ /\[\Q$level\E\]/;
            warn "WARNING: $name - " . _fmt_str($line) . "\n";
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            Test::More::fail("$name - $l");
        }
    }
}

# ---------------------------------------------------------------------------
# Running the blocks
# ---------------------------------------------------------------------------

sub run_tests () {
    _probe_nginx();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    $ENV{TEST_NGINX_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
        $PrevBlock = $block;
    }
    cleanup();
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    _probe_nginx();
    my $name = $block->name;

    # Without a --- config section the real module keeps the previous
    # block's server running; we restart it with the previous config.
    my $cfg_block = $block;
    if (!defined $block->config) {
        bail_out("$name - No '--- config' section specified and could not"
                 . " get previous one.") unless $PrevBlock;
        $cfg_block = $PrevBlock;
    }

    my $log_level = $block->log_level || $LogLevel;
    my $timeout = _parse_time($block->timeout) // $Timeout;
    my $must_die = $block->must_die;
    my $skip_eval = $block->skip_eval;

    if (defined $skip_eval
        && $skip_eval =~ /^\s*(\d+)\s*:\s*(.*)/s)
    {
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out("$name - skip_eval - failed to eval \"$code\": $@") if $@;
        if ($skip) {
            SKIP: { Test::More::skip("$name - skip_eval", $n) }
            return;
        }
    }

    for my $repeat_idx (0 .. $RepeatEach - 1) {
        my $failures_before = _failures();
        my $rand_ports = {};
        my $config = _expand_env($cfg_block->config // '', $name,
                                 $rand_ports);

        _kill_stale_nginx();
        _setup_server_root();
        _write_user_files($cfg_block, $rand_ports);
        _write_config_file($cfg_block, $config, $rand_ports, $log_level);

        if (defined $must_die) {
            _run_must_die($block, $must_die, $repeat_idx);
            _diag_failure($block, $failures_before, undef, undef);
            next;
        }

        my ($ok, $why) = _start_nginx($name);
        if (!$ok) {
            Test::More::fail("$name - failed to start nginx: $why");
            _diag_failure($block, -1, undef, undef);
            next;
        }
        my $nginx_pid = _read_pid();

        # (nginx and its server root are fresh for every repeat, so the
        # init code runs every time too)
        if (defined $block->init) {
            eval $block->init;
            bail_out("$name - init failed: $@") if $@;
        }

        my ($last_req, $last_resp) =
            _run_requests($block, $repeat_idx, $timeout, $nginx_pid,
                          $rand_ports);

        if (my $wait = _parse_time($block->wait)) {
            sleep $wait;
        }

        my $last = $repeat_idx == $RepeatEach - 1;
        if ($ENV{TEST_NGINX_NO_CLEAN} && $last) {
            sleep $TestNginxSleep * 3;    # let nginx flush its logs
        } elsif (!_stop_nginx($name)) {
            Test::More::fail("$name - nginx process $nginx_pid exited "
                             . "during the test (crashed?)");
        }

        _check_error_log($block, $repeat_idx, 0);
        _diag_failure($block, $failures_before, $last_req, $last_resp);
    }
}

sub _run_must_die {
    my ($block, $must_die, $repeat_idx) = @_;
    my $name = $block->name;

    my $status = _run_nginx_cmd();
    my $exit_code = $status >> 8;
    if ($status == -1 || $exit_code == 127) {
        Test::More::fail("$name - failed to execute the nginx command line");
    } elsif ($status & 128) {
        Test::More::fail("$name - nginx core dumped");
    } elsif ($must_die =~ /^\s*\d+\s*$/) {
        Test::More::is($must_die + 0, $exit_code,
                       "$name - die with the expected exit code");
    } else {
        Test::More::isnt($status, 0, "$name - die as expected");
    }

    if ($status == 0) {
        warn "WARNING: $name - nginx must die but it does not; killing it\n";
        my $until = time + 2;
        sleep 0.01 while !defined _read_pid() && time < $until;
        _stop_nginx($name);
    }

    _check_error_log($block, $repeat_idx, 1);
}

# Sends the block's request(s) and runs the response checks.  Returns the
# last raw request and response (for diagnostics).
sub _run_requests {
    my ($block, $repeat_idx, $timeout, $nginx_pid, $rand_ports) = @_;
    my $name = $block->name;
    my $reqs = _requests_from_block($block, $rand_ports);
    my $need_array = @$reqs > 1;
    my ($req_text, $raw_resp);

    my $req_idx = 0;
    for my $packets (@$reqs) {
        $req_text = join '', map { $_->{value} // '' } @$packets;
        my $head_req = $req_text =~ /^\s*HEAD\s+/ ? 1 : 0;
        $raw_resp = _send_request($block, $packets, $timeout, $nginx_pid)
                    // '';

        if (!defined $block->ignore_response) {
            my ($res, $raw_headers, $left) =
                _parse_response($name, $raw_resp, $head_req);
            if (defined $left && length $left) {
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"" . _fmt_str($left) . "\"\n";
            }
            _check_error_code($block, $res, $req_idx, $need_array);
            _check_response_headers($block, $res, $raw_headers, $req_idx,
                                    $need_array);
            _check_response_body($block, $res, $req_idx, $repeat_idx,
                                 $need_array);
        }
        $req_idx++;
    }
    return ($req_text, $raw_resp);
}

# Drops debug entries (a log entry starts with a time stamp; the lines
# after it, e.g. dumped headers, belong to it).
sub _without_debug {
    my $debug = 0;
    return grep {
        $debug = /\[debug\]/ if m{^\d{4}/\d\d/\d\d \d\d:};
        !$debug;
    } @_;
}

# On failure, show what was sent and received plus the error.log tail.
sub _diag_failure {
    my ($block, $failures_before, $req, $resp) = @_;
    return if _failures() == $failures_before;

    my $msg = "---- " . $block->name . " failed; details:\n";
    if (defined $req) {
        (my $r = length $req > 2000 ? substr($req, 0, 2000) . '...' : $req)
            =~ s/\r\n/\\r\\n\n/g;
        $msg .= "---- request sent:\n$r\n";
    }
    if (defined $resp) {
        my $r = length $resp > 4000 ? substr($resp, 0, 4000) . '...'
                                    : $resp;
        $r =~ s/\r\n/\\r\\n\n/g;
        $msg .= "---- response received (" . length($resp)
                . " bytes):\n$r\n";
    }
    my $stderr = _slurp($StderrFile);
    $msg .= "---- nginx stderr:\n$stderr\n"
        if defined $stderr && length $stderr;
    # the tail of error.log, without the (many) debug entries
    my @lines = _without_debug(@{ _error_log_lines(0) });
    splice @lines, 0, @lines - 40 if @lines > 40;
    $msg .= "---- $ErrLogFile, last " . @lines . " non-debug lines:\n"
            . join('', @lines);
    Test::More::diag($msg);
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - fallback for the subset of openresty's
Test::Nginx::Socket used by this project

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "ok\n"; }
    --- request
    GET /t
    --- response_body
    ok

=head1 DESCRIPTION

Only loaded when the real module is not installed (PERL5LIB points at
t/lib/fallback).  Supported sections: main_config, post_main_config,
http_config, config, server_name, request (string or eval'd arrayref of
requests), raw_request, raw_request_middle_delay, more_headers, error_code,
error_code_like, response_body, response_body_like,
response_body_unlike, response_headers (C<!Name> = absent),
response_headers_like, raw_response_headers_like/_unlike, error_log,
no_error_log, must_die, log_level, timeout, wait, init, user_files,
skip_eval, ignore_response, abort, shutdown, SKIP, ONLY, LAST.

Environment: TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES, TEST_NGINX_PORT,
TEST_NGINX_SERVER_PORT, TEST_NGINX_CLIENT_PORT, TEST_NGINX_SERVROOT,
TEST_NGINX_LOG_LEVEL, TEST_NGINX_TIMEOUT, TEST_NGINX_NO_CLEAN,
TEST_NGINX_NO_SHUFFLE, TEST_NGINX_MASTER_PROCESS, TEST_NGINX_SLEEP,
TEST_NGINX_WORKER_USER, TEST_NGINX_VERBOSE.

=cut
