# The web app end to end, in Debian's Chromium driven by playwright-core,
# against the whole platform as conf/nginx.conf.in configures it (web app,
# API, chat, RTMP ingest, transcoder, HLS): sign up, log in, browse, watch
# a live channel (an ffmpeg test pattern published with a fresh account's
# stream key), change quality, chat between two browsers, follow,
# subscribe, reveal and rotate the stream key, log out; then every page at
# desktop and phone width; then keyboard use and labelled controls on every
# page, signed out and as a demo streamer live from ffmpeg (names, labels,
# alt text, Tab order and focus indicators, menus and dialogs with Escape,
# the key flows with the keyboard alone).  Screenshots of a failure stay in
# var/test/e2e-artifacts, with the keyboard check's report in its a11y/.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Twitch::Test qw(service require_platform);

require_platform();

plan skip_all => 'Chromium is not installed' unless -x '/usr/bin/chromium';

my $var = $ENV{TWITCH_VAR};
my $http = ($ENV{TEST_NGINX_PORT} || 19840) + 10;
my $rtmp = ($ENV{TEST_NGINX_RTMP_PORT} || 19350) + 10;
my %env = (HTTP_PORT => $http, RTMP_PORT => $rtmp);

sub platform {
    my ($what) = @_;
    local @ENV{keys %env} = values %env;
    my $out = `$ENV{TWITCH_PLATFORM} nginx $what 2>&1`;
    return ($? == 0, $out);
}

my ($ok, $out) = platform('start');
ok $ok, 'the platform nginx starts' or diag $out;

my $artifacts = "$var/e2e-artifacts";

# runs one of web/e2e/*.mjs against the platform: (exit code, output)
sub e2e {
    my ($script) = @_;
    my $log = `cd web && E2E_BASE_URL=http://127.0.0.1:$http \\
        E2E_RTMP_URL=rtmp://127.0.0.1:$rtmp/live \\
        E2E_ARTIFACTS=$artifacts node e2e/$script 2>&1`;
    my $rc = $? >> 8;
    diag $log;
    return ($rc, $log);
}

my ($rc, $log) = e2e('flow.mjs');
is $rc, 0, 'the end-to-end flow passes';
like $log, qr/^(\d+) passed, 0 failed$/m, 'every step passed';

# every page at desktop and phone width: no crash, no console error
($rc, $log) = e2e('smoke.mjs');
is $rc, 0, 'every page renders at desktop and phone width';
like $log, qr/^(\d+) passed, 0 failed$/m, 'without errors';

# keyboard-usable with labelled controls, signed out and signed in
($rc, $log) = e2e('a11y.mjs');
is $rc, 0, 'every page is keyboard-usable with labelled controls';
like $log, qr/^(\d+) passed, 0 failed$/m,
    'every keyboard and label check passed';

($ok, $out) = platform('stop');
ok $ok, 'the platform nginx stops' or diag $out;

my $errors = `grep -E '\\[(alert|crit|emerg)\\]|exited on signal' $var/log/nginx-error.log 2>/dev/null`;
is $errors, '', 'no alerts, crashes or emergencies in the platform log';

done_testing;
