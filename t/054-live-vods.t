# VODs: the finalizer, GET /api/vods/:id, GET /api/streams/:id/vods and
# the retention sweeper, on recordings laid out as the transcoder does
# (<media>/<channel>/vods/<broadcast>/vod.m3u8, <rung>/vod.m3u8, segments,
# vod_thumb.jpg), made by hand here: the real thing is in t/051.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use File::Find ();
use File::Path qw(make_path);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user api);
use Twitch::Test::Live qw(live_nginx hls_get);

require_platform();

my $n = live_nginx(name => 't054', transcoder => 0, retention => '2d');
$n->start;

my $u = make_user($n, "t054_${$}_a", channel => 1);
my $ch = $u->{channel_id};
my $name = $u->{name};
my $media = $n->root . '/media';

sub spit {
    my ($file, $data) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $data;
    close $fh;
}

# an ended broadcast that had media; $ago: seconds since its end
sub broadcast {
    my ($ago, $title) = @_;
    return sql("INSERT INTO streams (channel_id, title, category_id,"
               . " started_at, ended_at, end_reason, last_seen_at,"
               . " ingest_host, ingest_session, ingested_at, peak_viewers)"
               . " VALUES ($ch, '$title', NULL,"
               . " now() - interval '$ago seconds' - interval '10 minutes',"
               . " now() - interval '$ago seconds', 'publish_done',"
               . " now() - interval '$ago seconds', 't054', '1:1',"
               . " now() - interval '$ago seconds' - interval '10 minutes',"
               . " 7) RETURNING id");
}

sub recording {
    my ($bid, %o) = @_;
    my $dir = "$media/$name/vods/$bid";
    make_path("$dir/source", "$dir/180p30");
    spit("$dir/vod.m3u8", "#EXTM3U\n#EXT-X-VERSION:3\n"
         . "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=320x240\n"
         . "source/vod.m3u8\n"
         . "#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=240x180\n"
         . "180p30/vod.m3u8\n");
    for my $rung (qw(source 180p30)) {
        spit("$dir/$rung/vod.m3u8", "#EXTM3U\n#EXT-X-VERSION:3\n"
             . "#EXT-X-TARGETDURATION:2\n"
             . "#EXT-X-PLAYLIST-TYPE:" . ($o{ended} ? 'VOD' : 'EVENT')
             . "\n#EXT-X-MEDIA-SEQUENCE:0\n"
             . "#EXTINF:2.000,\nseg_0.ts\n#EXTINF:2.000,\nseg_1.ts\n"
             . "#EXTINF:1.250,\nseg_2.ts\n"
             . ($o{ended} ? "#EXT-X-ENDLIST\n" : ''));
        spit("$dir/$rung/seg_$_.ts", 'x' x 1000) for 0 .. 2;
    }
    spit("$dir/vod_thumb.jpg", 'jpeg');
    return $dir;
}

# --- the finalizer -----------------------------------------------------------

my $b1 = broadcast(5, 'ended cleanly');
my $d1 = recording($b1, ended => 1);
my $b2 = broadcast(40, 'killed transcoder');
my $d2 = recording($b2, ended => 0);
my $b3 = broadcast(120, 'no recording');
my $b4 = broadcast(5, 'still being ended');
my $d4 = recording($b4, ended => 0);

ok wait_until(sub {
    sql("SELECT count(*) FROM vods WHERE stream_id IN ($b1, $b2, $b3)") == 3
}, 20), 'the finalizer writes the vods rows';

my $size = 0;
File::Find::find(sub { $size += -s $_ if -f $_ }, $d1);
is sql("SELECT duration_seconds || '|' || size_bytes || '|' || thumbnail_url"
       . " || '|' || playlist_path || '|' || playlist_url FROM vods"
       . " WHERE stream_id = $b1"),
   "5.250|$size|/hls/$name/vods/$b1/vod_thumb.jpg"
   . "|$name/vods/$b1/vod.m3u8|/hls/$name/vods/$b1/vod.m3u8",
   'duration, size (every file), thumbnail, path and URL';
is sql("SELECT round(extract(epoch FROM expires_at - created_at) / 3600)"
       . " FROM vods WHERE stream_id = $b1"), 48,
   'it expires after twitch_vod_retention (2d)';
is sql("SELECT thumbnail_url FROM streams WHERE id = $b1"),
   "/hls/$name/vods/$b1/vod_thumb.jpg", 'the broadcast has its thumbnail';

my $p2 = do { local (@ARGV, $/) = ("$d2/source/vod.m3u8"); <> };
like $p2, qr/#EXT-X-PLAYLIST-TYPE:VOD\n/,
     'a playlist a killed transcoder left open becomes a VOD';
like $p2, qr/seg_2\.ts\n#EXT-X-ENDLIST\n\z/, '... with EXT-X-ENDLIST';
unlike $p2, qr/EVENT/, '... no EVENT left';
is sql("SELECT deleted_at IS NULL FROM vods WHERE stream_id = $b2"), 't',
   '... and is kept';

is sql("SELECT deleted_at IS NOT NULL FROM vods WHERE stream_id = $b3"), 't',
   'a broadcast without a recording gets a row without one';

is sql("SELECT count(*) FROM vods WHERE stream_id = $b4"), 0,
   'a playlist that may still be ended by its transcoder waits';
my $p4 = do { local (@ARGV, $/) = ("$d4/source/vod.m3u8"); <> };
unlike $p4, qr/ENDLIST/, '... untouched';

# --- GET /api/vods/:id -------------------------------------------------------

my $r = api($n, GET => "/api/vods/$b1");
is $r->{status}, 200, 'GET /api/vods/:id';
my $v = $r->{json}{vod};
is_deeply [sort keys %$v],
          [sort qw(id title startedAt endedAt duration peakViewers totalViews
                   thumbnailUrl vodUrl expiresAt category channel)],
          'the documented fields';
is $v->{id}, $b1, 'id: the broadcast';
is $v->{title}, 'ended cleanly', 'title';
is $v->{duration}, 5, 'duration: of the recording';
is $v->{peakViewers}, 7, 'peakViewers';
is $v->{vodUrl}, "/hls/$name/vods/$b1/vod.m3u8", 'vodUrl';
is $v->{thumbnailUrl}, "/hls/$name/vods/$b1/vod_thumb.jpg", 'thumbnailUrl';
is $v->{category}, undef, 'category: null';
is_deeply $v->{channel}, { id => $ch, name => $name, user => {
    username => $name, displayName => "The $name", avatarUrl => undef } },
    'channel and its owner';
like $v->{startedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'startedAt: ISO 8601';

$r = api($n, GET => "/api/vods/$b3");
is $r->{json}{vod}{vodUrl}, undef, 'no recording: vodUrl null';
is $r->{json}{vod}{duration}, 600, '... the broadcast\'s duration';

for my $bad (['abc', 400, 'id must be a positive integer'],
             ['0', 400, 'id must be a positive integer'],
             ['999999999999', 404, 'VOD not found'])
{
    $r = api($n, GET => "/api/vods/$bad->[0]");
    is $r->{status}, $bad->[1], "/api/vods/$bad->[0]: $bad->[1]";
    is $r->{json}{error}, $bad->[2], "... \"$bad->[2]\"";
}

my $open = sql("INSERT INTO streams (channel_id, title) VALUES ($ch, 'open')"
               . " RETURNING id");
is api($n, GET => "/api/vods/$open")->{status}, 404,
   'a live broadcast is no VOD yet';
sql("UPDATE streams SET ended_at = now(), end_reason = 'stopped'"
    . " WHERE id = $open");

# the listing of the channel reads the same rows
$r = api($n, GET => "/api/streams/$ch/vods?limit=50");
my ($l1) = grep { $_->{id} == $b1 } @{ $r->{json}{vods} };
is $l1->{vodUrl}, "/hls/$name/vods/$b1/vod.m3u8",
   'GET /api/streams/:id/vods: vodUrl';
is $l1->{thumbnailUrl}, "/hls/$name/vods/$b1/vod_thumb.jpg",
   '... thumbnailUrl';

# the files are served
my $m = hls_get($n, "/hls/$name/vods/$b1/vod.m3u8");
ok $m, 'the VOD master is served';
is $m->{headers}{'content-type'}, 'application/vnd.apple.mpegurl',
   '... as a playlist';
my $s = $n->request(GET => "/hls/$name/vods/$b1/source/seg_0.ts");
like $s->{headers}{'cache-control'}, qr/max-age=31536000/,
     'VOD segments are cached long';

# --- retention ---------------------------------------------------------------

$n->stop;

sql("UPDATE vods SET expires_at = now() - interval '1 minute'"
    . " WHERE stream_id IN ($b1, $b2)");
ok -d $d1 && -d $d2, 'the recordings are on disk';

$n->start;

ok wait_until(sub { !-e $d1 && !-e $d2 }, 15),
   'the sweeper removes expired recordings';
ok -d "$media/$name", '... and nothing else';
is sql("SELECT count(*) FROM vods WHERE stream_id IN ($b1, $b2)"
       . " AND deleted_at IS NOT NULL"), 2, '... and marks them deleted';

$r = api($n, GET => "/api/vods/$b1");
is $r->{json}{vod}{vodUrl}, undef, 'an expired VOD: vodUrl null';
is $r->{json}{vod}{expiresAt}, undef, '... expiresAt null';
is $n->request(GET => "/hls/$name/vods/$b1/vod.m3u8")->{status}, 404,
   '... its playlist is gone';

$n->stop;

done_testing;
