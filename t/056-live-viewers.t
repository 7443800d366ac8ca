# Real viewer counts: playback sessions of the HLS stream (the twitch_vid
# cookie of master playlists, a ?v= token, or address + User-Agent), seen
# on media playlist fetches within twitch_viewers_window, counted across
# workers in Redis, folded into the chat's count (the hash
# viewers:chat:<id>:workers, field "hls"), stored in
# channels.current_viewers, pushed to chat clients as viewer_update, the
# peak kept in streams.peak_viewers and the distinct sessions in
# streams.total_views.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user);
use Twitch::Test::Chat qw(client redis);
use Twitch::Test::Live qw(live_nginx make_source publish stop_publisher
                          hls_get have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

my $n = live_nginx(name => 't056', ladder => '180p30:200k',
                   http_config => "    twitch_chat_viewer_interval 1s;\n",
                   config => "        location = /ws/chat { twitch_chat; }\n");
$n->start;

my $u = make_user($n, "t056_${$}_a", channel => 1);
my $ch = $u->{channel_id};
my $name = $u->{name};
my $lname = lc $name;
my $key = sql("SELECT stream_key FROM channels WHERE id = $ch");

sub viewers { sql("SELECT current_viewers FROM channels WHERE id = $ch") }

my $pub = publish($key, make_source('320x240', 30, 60), loop => 1);
ok wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 15), 'live';
my $bid = sql("SELECT id FROM streams WHERE channel_id = $ch"
              . " AND ended_at IS NULL");

# --- sessions ----------------------------------------------------------------

my $m = $n->request(GET => "/hls/$name/master.m3u8");
my ($cookie) = ($m->{headers}{'set-cookie'} // '') =~ /^(twitch_vid=[0-9a-f]+)/;
ok $cookie, 'the master playlist hands out a session cookie';
like $m->{headers}{'set-cookie'}, qr/; Path=\/; SameSite=Lax$/,
     '... for the site';
$m = $n->request(GET => "/hls/$name/master.m3u8",
                 headers => { Cookie => $cookie });
ok !$m->{headers}{'set-cookie'}, '... once';

my @sessions = (
    { Cookie => $cookie, 'User-Agent' => 'same' },
    { 'User-Agent' => 'same', path => '?v=tokenB_123456' },
    { 'User-Agent' => 'viewer C' },
    { 'User-Agent' => 'viewer D' },
);

sub watch {
    my (@s) = @_;
    for my $s (@s) {
        my %h = %$s;
        my $q = delete $h{path} // '';
        my $r = $n->request(GET => "/hls/$name/b$bid/source/live.m3u8$q",
                            headers => \%h);
        die "live.m3u8: $r->{status}" unless $r->{status} == 200;
    }
}

# what is not a live media playlist does not count
$n->request(GET => "/hls/$name/master.m3u8",
            headers => { 'User-Agent' => 'master only' });
$n->request(GET => "/hls/$name/thumb.jpg",
            headers => { 'User-Agent' => 'thumbnail only' });
$n->request(GET => "/hls/$name/b$bid/source/live.m3u8.nope",
            headers => { 'User-Agent' => 'a 404' });

watch(@sessions) for 1 .. 3;
is redis('ZCARD', "viewers:hls:$lname"), 4,
   'four playback sessions, across workers';

ok wait_until(sub { viewers() == 4 }, 5), 'current_viewers: 4'
    or diag viewers();
ok wait_until(sub {
    sql("SELECT peak_viewers || '|' || total_views FROM streams"
        . " WHERE id = $bid") eq '4|4'
}, 5), 'the broadcast: peak 4, 4 distinct sessions';

my $card = $n->request(GET => "/api/channels/$name");
like $card->{body}, qr/"(?:viewerCount|currentViewers)":4/,
     'the channel shows 4 viewers';

# --- chat --------------------------------------------------------------------

my $c = client($n);
ok $c->{identity}, 'a chat client';
my $j = $c->join_room($ch);
ok $j, 'it joins the channel';
watch(@sessions);
my $vu = $c->wait_type('viewer_update', 6, viewerCount => 4);
ok $vu, 'chat clients are told 4 (HLS sessions; the chat viewer watches '
        . 'too, so counts once)';

# chat connections elsewhere (another instance's chat workers): with our
# client, 7 in chat
my $exp = sub { int(time * 1000) + $_[0] };
my $other = 'abcdef0123456789:4242';
redis('HSET', "viewers:chat:$ch:workers", $other, '6:' . $exp->(60000));
watch(@sessions);
ok wait_until(sub { viewers() == 7 }, 6),
   'seven in chat, four watching: 7 (max)';
is redis('HGET', "viewers:chat:$ch:workers", '0:0'), '',
   '... the chat already counts them all';
ok $c->wait_type('viewer_update', 6, viewerCount => 7),
   '... pushed to chat';

redis('HSET', "viewers:chat:$ch:workers", $other, '1:' . $exp->(60000));
watch(@sessions);
ok wait_until(sub { viewers() == 4 }, 6), 'two in chat, four watching: 4';
like redis('HGET', "viewers:chat:$ch:workers", '0:0'), qr/^2:\d+$/,
     '... our field in the chat\'s hash: the two it does not count';
ok wait_until(sub { redis('GET', "viewers:chat:$ch") == 4 }, 4),
   '... and the chat\'s total';
ok $c->wait_type('viewer_update', 6, viewerCount => 4),
   '... pushed to chat';
is sql("SELECT peak_viewers FROM streams WHERE id = $bid"), 7,
   'the peak stays at 7';
redis('HDEL', "viewers:chat:$ch:workers", $other);

# --- sessions leave ----------------------------------------------------------

# two sessions keep watching; the others stop (the window is 8 s here)
$c->close if $c->can('close');
undef $c;
my $until = time + 14;
my $dropped = 0;
while (time < $until) {
    watch(@sessions[2, 3]);
    if (viewers() == 2) {
        $dropped = 1;
        last;
    }
    sleep 1;
}
ok $dropped, 'sessions that stop watching leave the count';
cmp_ok sql("SELECT total_views FROM streams WHERE id = $bid"), '>=', 4,
       'total views stay';

stop_publisher($pub);
ok wait_until(sub {
    sql("SELECT is_live::int || '|' || current_viewers FROM channels"
        . " WHERE id = $ch") eq '0|0'
}, 10), 'offline: 0 viewers';
ok wait_until(sub { redis('EXISTS', "viewers:hls:$lname") == 0 }, 5),
   'the sessions of the broadcast are dropped';

$n->stop;

done_testing;
