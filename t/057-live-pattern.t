# POST /api/streams/start and /stop with "twitch_test_pattern": a
# server-generated test pattern with a tone is published with the
# caller's stream key through the RTMP ingest, the hooks, the transcoder
# and HLS, and stopped again; stopping nginx stops it too.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user api);
use Twitch::Test::Live qw(live_nginx hls_get live_media segments
                          ffprobe_json have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

my $n = live_nginx(name => 't057', pattern => 1, ladder => '120p30:150k');
$n->start;

my $u = make_user($n, "t057_${$}_a", channel => 1);
my $ch = $u->{channel_id};
my $name = $u->{name};
my $key = sql("SELECT stream_key FROM channels WHERE id = $ch");

# the publisher runs with the key in its arguments (as OBS would hold it)
# ("[f]" keeps pgrep from matching the shell that runs it)
sub publisher {
    return `pgrep -f '[f]fmpeg .*testsrc2.*/live/$key'` =~ /(\d+)/ ? $1 : 0;
}

my $r = api($n, POST => '/api/streams/start', $u, { title => 'Test pattern' });
is $r->{status}, 200, 'POST /api/streams/start' or diag $r->{body};
my $bid = $r->{json}{streamId};
like $bid, qr/^\d+$/, 'a broadcast';

ok wait_until(\&publisher, 5), 'a test pattern is published';
my $m = wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 15);
ok $m, 'it comes out as HLS';
like $m->{body}, qr/RESOLUTION=320x180,FRAME-RATE=15\.000/,
     'the pattern\'s size and rate';
like $m->{body}, qr{^b$bid/}m, 'in the started broadcast';

is sql("SELECT ingested_at IS NOT NULL AND ingest_session IS NOT NULL"
       . " FROM streams WHERE id = $bid"), 't',
   'the ingest took over the started broadcast';

my $lp = wait_until(sub {
    my $r = live_media($n, $name) or return;
    my ($s) = segments($r->{body});
    return @$s >= 2 ? $r : undef;
}, 15);
ok $lp, 'segments';
my ($segs) = segments($lp ? $lp->{body} : '');
my $info = ffprobe_json($n->url("$lp->{dir}/$segs->[0]{uri}"),
                        '-show_streams');
is_deeply [sort map { $_->{codec_name} } @{ $info->{streams} || [] }],
          ['aac', 'h264'], 'H.264 video and an AAC tone';

$r = api($n, POST => '/api/streams/start', $u, {});
is $r->{status}, 409, 'starting again while live: 409';

$r = api($n, POST => '/api/streams/stop', $u);
is $r->{status}, 200, 'POST /api/streams/stop';
ok wait_until(sub { !publisher() }, 10), 'the test pattern stops';
is sql("SELECT end_reason FROM streams WHERE id = $bid"), 'stopped',
   'the broadcast ended as stopped';
ok wait_until(sub {
    my $r = hls_get($n, "/hls/$name/b$bid/source/live.m3u8");
    $r && $r->{body} =~ /#EXT-X-ENDLIST\n\z/;
}, 15), 'the live playlist ends';
ok wait_until(sub {
    sql("SELECT count(*) FROM vods WHERE stream_id = $bid"
        . " AND deleted_at IS NULL") == 1
}, 30), 'the test pattern is kept as a VOD';

# the stop reaches the publisher whichever worker started it: start and
# stop a few times (2 workers)
for my $i (1 .. 3) {
    $r = api($n, POST => '/api/streams/start', $u, {});
    is $r->{status}, 200, "start $i";
    ok wait_until(\&publisher, 5), "... publishing";
    $r = api($n, POST => '/api/streams/stop', $u);
    is $r->{status}, 200, "stop $i";
    ok wait_until(sub { !publisher() }, 10), '... stopped';
}

# nginx stopping stops the publisher
$r = api($n, POST => '/api/streams/start', $u, {});
is $r->{status}, 200, 'start';
ok wait_until(\&publisher, 5), '... publishing';
ok wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 15),
   '... live';
$n->stop;
ok wait_until(sub { !publisher() }, 10), 'nginx stopped: no publisher left';
ok !(`pgrep -f '[t]witch_transcode .*--out \\S*/$name/b'` =~ /\d/),
   '... no transcoder left';

done_testing;
