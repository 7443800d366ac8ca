# Clips: POST /api/clips from the live edge and from a VOD offset, the HLS
# slice (no re-encode, EXT-X-ENDLIST, segments of its own), the MP4 made
# afterwards, GET /api/clips/:slug, GET /api/channels/:name/clips, and
# every documented error.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use File::Path qw(remove_tree);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user api json);
use Twitch::Test::Live qw(live_nginx make_source publish stop_publisher
                          hls_get live_media segments ffprobe_json
                          have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

my $n = live_nginx(name => 't055', ladder => '180p30:200k');
$n->start;

my $st = make_user($n, "t055_${$}_s", channel => 1);
my $fan = make_user($n, "t055_${$}_f");
my $quiet = make_user($n, "t055_${$}_q", channel => 1);
my $name = $st->{name};
my $key = sql("SELECT stream_key FROM channels WHERE id = $st->{channel_id}");

sub err {
    my ($r, $status, $msg, $what) = @_;
    is $r->{status}, $status, "$what: $status" or diag $r->{body};
    is $r->{json}{error}, $msg, "$what: \"$msg\"";
}

sub clip { api($n, POST => '/api/clips', $_[0], $_[1]) }

# --- errors ------------------------------------------------------------------

err(clip(undef, { channel => $name }), 401, 'Not authenticated',
    'anonymous');
err(clip($fan, { channel => $name, durationSeconds => 4 }), 400,
    'durationSeconds must be from 5 to 60', 'a 4 s clip');
err(clip($fan, { channel => $name, durationSeconds => 61 }), 400,
    'durationSeconds must be from 5 to 60', 'a 61 s clip');
err(clip($fan, { channel => $name, durationSeconds => 'ten' }), 400,
    'durationSeconds must be an integer', 'durationSeconds as text');
err(clip($fan, { channel => $name, durationSeconds => 7.5 }), 400,
    'durationSeconds must be an integer', 'durationSeconds 7.5');
err(clip($fan, { durationSeconds => 10 }), 400, 'channel is required',
    'no channel');
err(clip($fan, { channel => $name, title => 'x' x 101 }), 400,
    'title must be at most 100 characters', 'a title too long');
err(clip($fan, { channel => $name, offsetSeconds => 3 }), 400,
    'offsetSeconds needs vodId', 'offsetSeconds without vodId');
err(clip($fan, { channel => 'nobody_here_t055' }), 404, 'Channel not found',
    'an unknown channel');
err(clip($fan, { channel => $name }), 409, 'Channel is not live',
    'an offline channel');
err(clip($fan, { channel => $name, vodId => 999999999 }), 404,
    'VOD not found', 'an unknown VOD');

my $r = $n->request(POST => '/api/clips', body => "channel=$name",
                    headers => { 'Content-Type' =>
                                 'application/x-www-form-urlencoded',
                                 Cookie => "session=$fan->{cookie}" });
is $r->{status}, 403, 'a form post: 403 (CSRF)';

# --- a clip of the live stream -----------------------------------------------

my $src = make_source('320x240', 30, 60);
my $pub = publish($key, $src, loop => 1);

ok wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 15), 'live';
my $bid = sql("SELECT id FROM streams WHERE channel_id = $st->{channel_id}"
              . " AND ended_at IS NULL");

# at least 5 s of video in every rung
ok wait_until(sub {
    my $m = live_media($n, $name, 1) or return 0;
    my ($segs) = segments($m->{body});
    my $t = 0;
    $t += $_->{duration} for @$segs;
    return $t >= 6;
}, 20), 'six seconds of video';


$r = clip($fan, { channel => $name, durationSeconds => 5,
                  title => 'What a play' });
is $r->{status}, 201, 'POST /api/clips: 201' or diag $r->{body};
my $c = $r->{json}{clip};
is_deeply [sort keys %$c],
          [sort qw(id slug title channel creator durationSeconds viewCount
                   hlsUrl mp4Url mp4Status thumbnailUrl createdAt vodId
                   offsetSeconds)], 'the documented fields';
like $c->{slug}, qr/^[A-Za-z0-9_-]{12}$/, 'slug: 12 URL-safe characters';
is $c->{title}, 'What a play', 'title';
is $c->{channel}{id}, $st->{channel_id}, 'channel.id';
is $c->{channel}{name}, $name, 'channel.name';
is $c->{creator}{username}, $fan->{name}, 'creator.username';
cmp_ok $c->{durationSeconds}, '>=', 5, 'durationSeconds: at least 5';
cmp_ok $c->{durationSeconds}, '<=', 7, '... whole segments, about 5';
is $c->{mp4Url}, undef, 'mp4Url: null at first';
is $c->{mp4Status}, 'pending', 'mp4Status: pending';
is $c->{hlsUrl}, "/hls/$name/clips/$c->{slug}/clip.m3u8", 'hlsUrl';
is $c->{thumbnailUrl}, "/hls/$name/clips/$c->{slug}/thumb.jpg",
   'thumbnailUrl';
is $c->{vodId}, $bid, 'vodId: the broadcast';
like $c->{createdAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'createdAt';

my $m = hls_get($n, $c->{hlsUrl});
ok $m, 'the clip\'s playlist is served';
my @variants = $m->{body} =~ /^(\S+\/clip\.m3u8)$/mg;
is_deeply \@variants, ['source/clip.m3u8', '180p30/clip.m3u8'],
          'every rung';
for my $v (@variants) {
    my $p = hls_get($n, "/hls/$name/clips/$c->{slug}/$v");
    like $p->{body}, qr/#EXT-X-PLAYLIST-TYPE:VOD\n/, "$v: a VOD";
    like $p->{body}, qr/#EXT-X-ENDLIST\n\z/, "$v: ended";
}
is $n->request(GET => $c->{thumbnailUrl})->{status}, 200,
   'the thumbnail is served';

my $url = $n->url($c->{hlsUrl});
my $probe = ffprobe_json($url, '-show_format');
cmp_ok $probe->{format}{duration} // 0, '>=', 4.9, 'the clip plays: 5 s';
is system('ffmpeg', '-nostdin', '-v', 'error', '-i', $url, '-f', 'null',
          '-'), 0, 'the clip decodes';

# the MP4: a remux, afterwards
my $mp4 = wait_until(sub {
    my $g = api($n, GET => "/api/clips/$c->{slug}");
    return $g->{json}{clip}{mp4Status} eq 'pending' ? undef
                                                     : $g->{json}{clip};
}, 30);
is $mp4->{mp4Status}, 'ready', 'the MP4 is ready';
is $mp4->{mp4Url}, "/hls/$name/clips/$c->{slug}/clip.mp4", 'mp4Url';
my $g = $n->request(HEAD => $mp4->{mp4Url});
is $g->{headers}{'content-type'}, 'video/mp4', 'served as video/mp4';
my $info = ffprobe_json($n->url($mp4->{mp4Url}), '-show_format',
                        '-show_streams');
like $info->{format}{format_name}, qr/mp4/, 'an MP4';
cmp_ok abs(($info->{format}{duration} // 0) - $probe->{format}{duration}),
       '<', 0.5, '... as long as the clip';
is_deeply [sort map { $_->{codec_name} } @{ $info->{streams} }],
          ['aac', 'h264'], '... H.264 and AAC, copied';
is system('ffmpeg', '-nostdin', '-v', 'error', '-i',
          $n->url($mp4->{mp4Url}), '-f', 'null', '-'), 0, 'the MP4 plays';

# --- the broadcast ends: a clip of its VOD -----------------------------------

stop_publisher($pub);
ok wait_until(sub {
    sql("SELECT count(*) FROM vods WHERE stream_id = $bid"
        . " AND deleted_at IS NULL") == 1
}, 30), 'the broadcast is a VOD';

$r = clip($fan, { channel => $name, vodId => 0 + $bid, offsetSeconds => 2,
                  durationSeconds => 5 });
is $r->{status}, 201, 'a clip of the VOD: 201' or diag $r->{body};
my $c2 = $r->{json}{clip};
cmp_ok $c2->{offsetSeconds}, '<=', 2, 'offsetSeconds: from a segment start';
cmp_ok $c2->{durationSeconds}, '>=', 5, 'durationSeconds: at least 5';
is $c2->{vodId}, $bid, 'vodId';
is $c2->{title}, sql("SELECT title FROM channels WHERE id = "
                     . $st->{channel_id}), 'title: the channel\'s';
is system('ffmpeg', '-nostdin', '-v', 'error', '-i',
          $n->url($c2->{hlsUrl}), '-f', 'null', '-'), 0, 'it plays';

err(clip($fan, { channel => $name, vodId => 0 + $bid, offsetSeconds => 3600 }),
    400, 'offsetSeconds is past the end of the VOD', 'an offset past the end');
err(clip($fan, { channel => "t055_${$}_f", vodId => 0 + $bid }), 404,
    'Channel not found', 'a VOD of another channel (no such channel)');

# the clips keep their own segments: the live files and the VOD can go
remove_tree(map { $n->root . "/media/$name/$_" } "b$bid", 'vods');
is system('ffmpeg', '-nostdin', '-v', 'error', '-i', $url, '-f', 'null',
          '-'), 0, 'the live clip plays without the live segments and VOD';

# --- reading clips -----------------------------------------------------------

$r = api($n, GET => "/api/clips/$c->{slug}");
is $r->{status}, 200, 'GET /api/clips/:slug';
cmp_ok $r->{json}{clip}{viewCount}, '>=', 1, 'views are counted';
my $views = $r->{json}{clip}{viewCount};
$r = api($n, GET => "/api/clips/$c->{slug}");
is $r->{json}{clip}{viewCount}, $views + 1, '... one per GET';

err(api($n, GET => '/api/clips/nosuchclip1'), 404, 'Clip not found',
    'an unknown slug');
err(api($n, GET => '/api/clips/bad.slug!'), 404, 'Clip not found',
    'a malformed slug');

$r = api($n, GET => "/api/channels/$name/clips");
is $r->{status}, 200, 'GET /api/channels/:name/clips';
is_deeply [map { $_->{slug} } @{ $r->{json}{clips} }],
          [$c2->{slug}, $c->{slug}], 'newest first';
$r = api($n, GET => "/api/channels/$name/clips?sort=top");
is $r->{json}{clips}[0]{slug}, $c->{slug}, 'sort=top: most viewed first';
$r = api($n, GET => "/api/channels/$name/clips?limit=1&offset=1");
is_deeply [map { $_->{slug} } @{ $r->{json}{clips} }], [$c->{slug}],
          'limit and offset';
is api($n, GET => "/api/channels/\U$name\E/clips")->{status}, 200,
   'the channel name ignores case';

$r = api($n, GET => "/api/channels/$quiet->{name}/clips");
is $r->{body}, '{"clips":[]}', 'a channel without clips';
err(api($n, GET => '/api/channels/nobody_here_t055/clips'), 404,
    'Channel not found', 'an unknown channel');
err(api($n, GET => "/api/channels/$name/clips?sort=new"), 400,
    'sort must be recent or top', 'a bad sort');
err(api($n, GET => "/api/channels/$name/clips?limit=0"), 400,
    'limit must be an integer from 1 to 100', 'a bad limit');

$n->stop;

done_testing;
