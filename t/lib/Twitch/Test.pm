package Twitch::Test;

# Project test helpers.  Works under both the real Test::Nginx::Socket
# (CPAN) and the fallback in t/lib/fallback.
#
#   use lib 't/lib';
#   use Test::Nginx::Socket 'no_plan';
#   use Twitch::Test;               # adds the default no_error_log checks
#
#   use Twitch::Test qw(service wait_until require_platform);
#   my $n = Twitch::Test::Nginx->new(config => '...');   # multi-step tests
#
# See the POD at the end for the full API.

use strict;
use warnings;

use parent 'Exporter';
use File::Temp ();
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);

use Twitch::Test::Nginx ();
use Twitch::Test::WebSocket ();

our @EXPORT_OK = qw(service wait_until require_platform);

# Patterns that must never show up in error.log.  Appended to every
# block's --- no_error_log and checked by Twitch::Test::Nginx->stop.
our @NO_ERROR_LOG = (
    '[alert]',
    '[crit]',
    '[emerg]',
    'exited on signal',
    'AddressSanitizer',
    'LeakSanitizer',
    'runtime error:',       # UndefinedBehaviorSanitizer
);

my $preprocessor_installed;

sub import {
    _install_preprocessor();
    __PACKAGE__->export_to_level(1, @_);
}

# "use Twitch::Test" may come before "use Test::Nginx::Socket"; by INIT
# time every "use" of the .t file has been compiled, so try again then.
INIT { _install_preprocessor() }

sub _install_preprocessor {
    return if $preprocessor_installed;
    return unless defined &Test::Nginx::Socket::add_block_preprocessor;
    # "&" bypasses the (&) prototype of add_block_preprocessor
    &Test::Nginx::Socket::add_block_preprocessor(\&add_default_checks);
    $preprocessor_installed = 1;
}

# Does a section value (text, arrayref or qr//) mention $needle?
sub _mentions {
    my ($val, $needle) = @_;
    return 0 unless defined $val;
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if _mentions($v, $needle);
        }
        return 0;
    }
    my $text = "$val";
    $text =~ s/\\//g if ref $val;    # qr/\[crit\]/ mentions "[crit]"
    return index($text, $needle) >= 0;
}

# Block preprocessor: append @NO_ERROR_LOG to the block's no_error_log,
# keeping what the block has.  A pattern the block expects in its
# --- error_log is not added, and "[emerg]" is not added to --- must_die
# blocks.
sub add_default_checks {
    my $block = shift;

    my $expected = $block->error_log;
    my $current = $block->no_error_log;
    my @extra = grep {
        !(defined $block->must_die && $_ eq '[emerg]')
            && !_mentions($expected, $_)
            && !_mentions($current, $_)
    } @NO_ERROR_LOG;
    return unless @extra;

    if (!defined $current) {
        $block->set_value('no_error_log', join('', map { "$_\n" } @extra));
    } elsif (!ref $current) {
        $current .= "\n" if length $current && $current !~ /\n\z/;
        $block->set_value('no_error_log',
                          $current . join('', map { "$_\n" } @extra));
    } elsif (ref $current eq 'ARRAY') {
        $block->set_value('no_error_log', [@$current, @extra]);
    } else {
        # a single qr// (or other scalar-like object)
        $block->set_value('no_error_log', [$current, @extra]);
    }
}

sub _no_platform {
    my ($what) = @_;
    my $msg = "TWITCH_PLATFORM is not set (the Makefile provides the "
              . "platform control script); cannot $what";
    my $tb = Test::More->builder;
    if (!$tb->has_plan && $tb->current_test == 0) {
        Test::More::plan(skip_all => $msg);    # exits
    }
    die "$msg\n";
}

# Skips the whole test file (if nothing has been tested yet) unless the
# platform control script is available.
sub require_platform {
    _no_platform('control platform services') unless $ENV{TWITCH_PLATFORM};
    return 1;
}

# service('redis', 'stop'): runs "$TWITCH_PLATFORM redis stop"; returns
# true when it exits with status 0.  Its output is captured (so that it
# cannot disturb the TAP stream) and shown as a diagnostic when it fails
# (as a note, i.e. with prove -v only, when it succeeds).
sub service {
    my ($name, $action) = @_;
    die "usage: Twitch::Test::service(NAME, ACTION)\n"
        unless defined $name && defined $action;
    my $platform = $ENV{TWITCH_PLATFORM};
    _no_platform("run service($name, $action)") unless $platform;

    my $out = File::Temp->new;
    my $pid = fork;
    die "fork() failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $out;
        open STDERR, '>&', $out;
        { no warnings 'exec'; exec $platform, $name, $action; }
        print STDERR "cannot run $platform: $!\n";
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $status = $?;

    my $text = do { local (@ARGV, $/) = ($out->filename); <> } // '';
    my $msg = "\"$platform $name $action\" exited with status "
              . ($status >> 8) . ($text eq '' ? '' : ":\n$text");
    if ($status == 0) {
        Test::More::note($msg);
    } else {
        Test::More::diag($msg);
    }
    return $status == 0;
}

# wait_until(sub { ... }, $timeout_s = 5): polls every 0.1 s until the
# code returns a true value; returns that value, or undef on timeout.
sub wait_until {
    my ($code, $timeout, $step) = @_;
    $timeout //= 5;
    $step //= 0.1;
    my $until = time + $timeout;
    while (1) {
        my $v = $code->();
        return $v if $v;
        return undef if time >= $until;
        sleep $step;
    }
}

1;
__END__

=head1 NAME

Twitch::Test - helpers for the project's nginx test suite

=head1 BLOCK TESTS

    use lib 't/lib';
    use Test::Nginx::Socket 'no_plan';
    use Twitch::Test;
    run_tests();

C<use Twitch::Test> installs a block preprocessor that appends
C<@Twitch::Test::NO_ERROR_LOG> ([alert], [crit], [emerg], "exited on
signal", AddressSanitizer, LeakSanitizer, "runtime error:") to every
block's C<--- no_error_log>.  Patterns the block lists in its
C<--- error_log> are not added; C<[emerg]> is not added to C<--- must_die>
blocks.

=head1 FUNCTIONS (exported on request)

=over

=item service($name, $action)

Runs C<$ENV{TWITCH_PLATFORM} $name $action>; true on exit status 0.

=item require_platform()

skip_all the test file unless TWITCH_PLATFORM is set.

=item wait_until($code, $timeout = 5, $step = 0.1)

=back

See L<Twitch::Test::Nginx> and L<Twitch::Test::WebSocket>.

=cut
