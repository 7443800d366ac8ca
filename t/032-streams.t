# /api/streams: the open broadcast of a channel, VODs, and the broadcast
# bookkeeping of POST /api/streams/start and /stop (streams row and
# channels.is_live / current_viewers in one statement, 409 while live,
# two concurrent starts, title and category).

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use IO::Select ();
use Twitch::Test qw(require_platform);
use Twitch::Test::Accounts qw(sql make_user api json);

require_platform();

my $n = Twitch::Test::Nginx->new(
    workers     => 2,
    http_config => <<'_EOC_',
    twitch_postgres "$TEST_NGINX_PG";
    twitch_redis $TEST_NGINX_REDIS;
_EOC_
    config      => <<'_EOC_',
    location /api/ { twitch_api; }
_EOC_
);

$n->start;

my $p = "t032_$$";
my $iso = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

my $st = make_user($n, "${p}_st", channel => 1);
my $other = make_user($n, "${p}_ot", channel => 1);
my $nochan = make_user($n, "${p}_nc");
my $ch = $st->{channel_id};

sql("UPDATE channels SET title = 'Channel title', category_id = NULL"
    . " WHERE id = $ch");
my $cat = sql("SELECT id FROM categories WHERE slug = 'minecraft'");

sub err {
    my ($r, $status, $msg, $what) = @_;
    is $r->{status}, $status, "$what: $status" or diag $r->{body};
    is $r->{body}, json->encode({ error => $msg }), "$what: \"$msg\"";
}

sub live_state {
    return sql("SELECT is_live || '|' || current_viewers FROM channels"
               . " WHERE id = $ch");
}

# --- nothing live yet --------------------------------------------------------

err(api($n, GET => "/api/streams/$ch"), 404, 'No active stream found',
    'no open broadcast');
err(api($n, GET => '/api/streams/999999999'), 404, 'No active stream found',
    'unknown channel');
err(api($n, GET => '/api/streams/abc'), 400,
    'channelId must be a positive integer', 'a channel name is not an id');
err(api($n, GET => '/api/streams/start'), 400,
    'channelId must be a positive integer', 'GET /api/streams/start');
err(api($n, POST => '/api/streams/stop', $st), 409, 'Not live',
    'stop while offline');

my $r = api($n, GET => "/api/streams/$ch/vods");
is $r->{body}, '{"vods":[]}', 'no VODs yet';
err(api($n, GET => '/api/streams/999999999/vods'), 404, 'Channel not found',
    'VODs of an unknown channel');
err(api($n, GET => "/api/streams/$ch/vods?limit=0"), 400,
    'limit must be an integer from 1 to 100', 'VODs: bad limit');

# --- start -------------------------------------------------------------------

err(api($n, POST => '/api/streams/start', undef, {}), 401,
    'Not authenticated', 'anonymous start');
err(api($n, POST => '/api/streams/start', $nochan, {}), 404,
    'Channel not found', 'a user without a channel');
err(api($n, POST => '/api/streams/start', $st, { title => 'x' x 141 }), 400,
    'title must be at most 140 characters', 'a title too long');
err(api($n, POST => '/api/streams/start', $st, { title => '' }), 400,
    'title must not be empty', 'an empty title');
err(api($n, POST => '/api/streams/start', $st, { categoryId => 'x' }), 400,
    'categoryId must be an integer', 'a bad category id');
err(api($n, POST => '/api/streams/start', $st,
        { categoryId => 999999999 }), 400,
    'Category not found', 'an unknown category');
is live_state(), 'false|0', 'refused starts change nothing';
is sql("SELECT count(*) FROM streams WHERE channel_id = $ch"), '0',
   'and open nothing';

$r = api($n, POST => '/api/streams/start', $st, {});
is $r->{status}, 200, 'start with defaults' or diag $r->{body};
my $sid = $r->{json}{streamId};
like $sid, qr/^\d+$/, 'streamId';
is $r->{json}{stream}{id}, $sid, 'stream.id';
is $r->{json}{stream}{channelId}, $ch, 'stream.channelId';
is $r->{json}{stream}{title}, 'Channel title',
   'the title defaults to the channel title';
is $r->{json}{stream}{category}, undef, 'no category';
like $r->{json}{stream}{startedAt}, $iso, 'startedAt';
is live_state(), 'true|0', 'the channel is live, no viewers';
is sql("SELECT count(*) FROM streams WHERE channel_id = $ch"
       . " AND ended_at IS NULL AND id = $sid"), '1',
   'one open streams row';

err(api($n, POST => '/api/streams/start', $st, { title => 'again' }), 409,
    'Already live', 'start while live');
is sql("SELECT title FROM channels WHERE id = $ch"), 'Channel title',
   'a refused start leaves the title';

sql("UPDATE channels SET current_viewers = 42 WHERE id = $ch");

$r = api($n, GET => "/api/streams/$ch");
is $r->{status}, 200, 'the open broadcast';
is_deeply [sort keys %{ $r->{json}{stream} }],
          [sort qw(id title startedAt peakViewers totalViews channelName
                   isLive viewerCount category)], 'documented fields';
is $r->{json}{stream}{id}, $sid, 'id';
is $r->{json}{stream}{channelName}, $st->{name}, 'channelName';
is $r->{json}{stream}{isLive}, JSON::PP::true, 'isLive';
is $r->{json}{stream}{viewerCount}, 42, 'viewerCount';
is $r->{json}{stream}{peakViewers}, 0, 'peakViewers';
is $r->{json}{stream}{totalViews}, 0, 'totalViews';
like $r->{body}, qr/"category":null/, 'category null';

# --- stop --------------------------------------------------------------------

err(api($n, POST => '/api/streams/stop'), 401, 'Not authenticated',
    'anonymous stop');
err(api($n, POST => '/api/streams/stop', $nochan), 404, 'Channel not found',
    'stop without a channel');

$r = api($n, POST => '/api/streams/stop', $st);
is $r->{status}, 200, 'stop' or diag $r->{body};
is $r->{json}{streamId}, $sid, 'the broadcast that ended';
like $r->{json}{endedAt}, $iso, 'endedAt';
is live_state(), 'false|0', 'offline, viewers reset in the same statement';
is sql("SELECT end_reason || '|' || (ended_at IS NOT NULL) FROM streams"
       . " WHERE id = $sid"), 'stopped|true', 'ended_at and end_reason';
err(api($n, POST => '/api/streams/stop', $st), 409, 'Not live',
    'stop again');
err(api($n, GET => "/api/streams/$ch"), 404, 'No active stream found',
    'no open broadcast any more');

# --- start with a title and category -----------------------------------------

$r = api($n, POST => '/api/streams/start', $st,
         { title => "Building \x{2764}", categoryId => $cat + 0 });
is $r->{status}, 200, 'start with title and category' or diag $r->{body};
my $sid2 = $r->{json}{streamId};
isnt $sid2, $sid, 'a new broadcast';
is $r->{json}{stream}{title}, "Building \x{2764}", 'title';
is_deeply $r->{json}{stream}{category},
          { id => $cat, name => 'Minecraft', slug => 'minecraft' },
          'category';
is sql("SELECT title || '|' || category_id FROM channels WHERE id = $ch"),
   "Building \xe2\x9d\xa4|$cat", 'the channel takes the title and category';

$r = api($n, GET => "/api/streams/$ch");
is_deeply $r->{json}{stream}{category},
          { id => $cat, name => 'Minecraft', slug => 'minecraft' },
          'GET shows the category';

# the channel is live but its broadcast row was closed elsewhere (e.g. by
# the reconciler): stop still takes the channel offline
sql("UPDATE streams SET ended_at = now(), end_reason = 'reconciled'"
    . " WHERE id = $sid2");
$r = api($n, POST => '/api/streams/stop', $st);
is $r->{status}, 200, 'stop with no open row but is_live';
is $r->{json}{streamId}, undef, 'no broadcast ended';
is live_state(), 'false|0', 'offline';

# --- two starts at once: one wins --------------------------------------------

sub raw_request {
    my ($body) = @_;
    my $s = $n->connect or die "connect: $!";
    my $req = "POST /api/streams/start HTTP/1.1\r\nHost: localhost\r\n"
              . "Connection: close\r\nContent-Type: application/json\r\n"
              . "Cookie: session=$st->{cookie}\r\n"
              . "Content-Length: " . length($body) . "\r\n\r\n$body";
    syswrite $s, $req;
    return $s;
}

sub read_all {
    my ($s) = @_;
    my $sel = IO::Select->new($s);
    my $data = '';
    while ($sel->can_read(5)) {
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        $data .= $buf;
    }
    close $s;
    return $data;
}

for my $round (1 .. 3) {
    my @s = map { raw_request('{}') } 1 .. 2;
    my @codes = sort map { (read_all($_) =~ m{^HTTP/1\.1 (\d+)})[0] // 0 } @s;
    is "@codes", '200 409', "round $round: concurrent starts: one 200, one 409";
    is sql("SELECT count(*) FROM streams WHERE channel_id = $ch"
           . " AND ended_at IS NULL"), '1', "round $round: one open broadcast";
    is api($n, POST => '/api/streams/stop', $st)->{status}, 200,
       "round $round: stop";
}

# --- VODs --------------------------------------------------------------------

my ($last) = sql("SELECT id FROM streams WHERE channel_id = $ch"
                 . " ORDER BY started_at DESC, id DESC LIMIT 1");
sql("UPDATE streams SET started_at = ended_at - interval '90 minutes',"
    . " peak_viewers = 7, total_views = 12, thumbnail_url = '/t/s.jpg'"
    . " WHERE id = $sid");
sql("INSERT INTO vods (stream_id, channel_id, playlist_path, playlist_url,"
    . " thumbnail_url) VALUES ($sid, $ch, 'vod/$sid/index.m3u8',"
    . " '/vod/$sid/index.m3u8', '/vod/$sid/thumb.jpg')");

$r = api($n, GET => "/api/streams/$ch/vods");
is $r->{status}, 200, 'VODs';
my @v = @{ $r->{json}{vods} };
is scalar(@v), 5, 'every ended broadcast';
is $v[0]{id}, $last, 'newest first';
my ($first) = grep { $_->{id} == $sid } @v;
is_deeply [sort keys %$first],
          [sort qw(id title startedAt endedAt duration peakViewers totalViews
                   thumbnailUrl vodUrl category)], 'documented fields';
is $first->{duration}, 5400, 'duration in seconds';
is $first->{vodUrl}, "/vod/$sid/index.m3u8", 'vodUrl from the recording';
is $first->{thumbnailUrl}, "/vod/$sid/thumb.jpg",
   "the recording's thumbnail first";
is $first->{peakViewers}, 7, 'peakViewers';
is $first->{totalViews}, 12, 'totalViews';
is $first->{category}, undef, 'category null';
my ($second) = grep { $_->{id} == $sid2 } @v;
is $second->{vodUrl}, undef, 'no recording: vodUrl null';
is $second->{category}{slug}, 'minecraft', 'category of the broadcast';

sql("UPDATE vods SET deleted_at = now() WHERE stream_id = $sid");
$r = api($n, GET => "/api/streams/$ch/vods?limit=50");
($first) = grep { $_->{id} == $sid } @{ $r->{json}{vods} };
is $first->{vodUrl}, undef, 'an expired recording has no vodUrl';

$r = api($n, GET => "/api/streams/$ch/vods?limit=2&offset=1");
is scalar(@{ $r->{json}{vods} }), 2, 'paged: limit';
is $r->{json}{vods}[0]{id}, $v[1]{id}, 'paged: offset';

# the other channel is not affected
is sql("SELECT count(*) FROM streams WHERE channel_id ="
       . " $other->{channel_id}"), '0', 'other channels untouched';

$n->stop;

done_testing;
