# The broadcast records and the transcoder survive failures:
#   - the transcoder killed mid-stream comes back (the same broadcast; the
#     playlists continue after EXT-X-DISCONTINUITY), and so does its
#     supervisor;
#   - nginx killed with SIGKILL (master and workers) while live: at the
#     restart the channel is not live, its broadcast is closed
#     ("reconciled"), its transcoder is gone, and the channel can go live
#     again at once;
#   - a broadcast whose heartbeat stopped (another host that died) is
#     closed by the reconciler.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user);
use Twitch::Test::Live qw(live_nginx make_source publish stop_publisher
                          publisher_alive hls_get live_media segments
                          have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

my $n = live_nginx(name => 't053', ladder => '180p30:200k',
                   instance => "t053-$$");
$n->start;

my $u = make_user($n, "t053_${$}_a", channel => 1);
my $name = $u->{name};
my $key = sql("SELECT stream_key FROM channels WHERE id = $u->{channel_id}");
my $src = make_source('320x240', 30, 60);

sub pids_of {
    my ($what) = @_;
    open my $ps, '-|', 'pgrep', '-f', $what or return ();
    my @p = map { chomp; $_ } <$ps>;
    close $ps;
    return @p;
}

sub transcoder { (pids_of("twitch_transcode .*--out \\S*/$name/b"))[0] }
sub supervisor { (pids_of("twitch_live.sh $name "))[0] }

sub open_broadcast {
    return sql("SELECT coalesce(max(id)::text, '') FROM streams"
               . " WHERE channel_id = $u->{channel_id} AND ended_at IS NULL");
}

sub live_playlist {
    my $r = live_media($n, $name);
    return $r ? $r->{body} : '';
}

# a master playlist and every media playlist it lists, as served
sub served_playlists {
    my ($master) = @_;
    my $m = hls_get($n, $master) or return ();
    (my $dir = $master) =~ s{/[^/]+$}{};
    my @pl = ([$master, $m->{body}]);
    for my $uri ($m->{body} =~ /^([^#\s]\S*)$/mg) {
        my $r = hls_get($n, "$dir/$uri");
        push @pl, ["$dir/$uri", $r ? $r->{body} : ''];
    }
    return @pl;
}

# playlists are public: no path of the server, no comment of ours
sub nothing_private {
    my ($what, @pl) = @_;
    my $root = $n->root;
    my @bad = grep {
        $_->[1] =~ m{\Q$root\E|twitch-transcode|^#[^\n]*/}m
    } @pl;
    ok @pl > 1, "$what: playlists served";
    is_deeply [map { $_->[0] } @bad], [],
              "$what: no path or twitch-transcode comment in them"
        or diag join "\n", map { $_->[1] } @bad;
}

sub last_msn {
    my ($segs) = segments(live_playlist());
    return @$segs ? ($segs->[-1]{uri} =~ /(\d+)/)[0] : -1;
}

my $pub = publish($key, $src, loop => 1);
ok wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 15), 'live';
my $bid = open_broadcast();

# --- the transcoder dies -----------------------------------------------------

my $tpid = wait_until(\&transcoder, 5);
ok $tpid, 'the transcoder runs';
ok wait_until(sub { last_msn() >= 1 }, 10), 'it writes segments';

kill 'KILL', $tpid;
my $killed_at = last_msn();

my $tpid2 = wait_until(sub { my $p = transcoder(); $p && $p != $tpid && $p },
                       10);
ok $tpid2, 'a new transcoder runs';
ok wait_until(sub { last_msn() > $killed_at + 1 }, 15),
   'the playlist goes on';
like live_playlist(), qr/#EXT-X-DISCONTINUITY\n/,
     '... after an EXT-X-DISCONTINUITY';
unlike live_playlist(), qr/#EXT-X-ENDLIST/, '... not ended';
is open_broadcast(), $bid, '... in the same broadcast';
like((live_media($n, $name) || {})->{path} // '', qr{/b$bid/},
     '... its playlist');
nothing_private('after the restart',
                served_playlists("/hls/$name/master.m3u8"));

# --- its supervisor dies -----------------------------------------------------

my $spid = supervisor();
ok $spid, 'the supervisor runs';
kill 'KILL', $spid;
kill 'KILL', $tpid2;    # its transcoder would die at the next write anyway

my $spid2 = wait_until(sub { my $p = supervisor(); $p && $p != $spid && $p },
                       10);
ok $spid2, 'the module starts the supervisor again';
my $mark = last_msn();
ok wait_until(sub { last_msn() > $mark + 1 }, 20), 'the playlist goes on';
is open_broadcast(), $bid, '... the same broadcast';

# --- nginx dies --------------------------------------------------------------

ok publisher_alive($pub), 'the publisher is still live';
$n->crash('KILL');
stop_publisher($pub);

ok wait_until(sub { !transcoder() && !supervisor() }, 5),
   'the transcoder and its supervisor died with nginx';
is sql("SELECT is_live FROM channels WHERE id = $u->{channel_id}"), 't',
   'the dead nginx left the channel live';

$n->start;

ok wait_until(sub {
    sql("SELECT is_live FROM channels WHERE id = $u->{channel_id}") eq 'f'
}, 10), 'after the restart, the channel is not live';
is sql("SELECT end_reason FROM streams WHERE id = $bid"), 'reconciled',
   '... its broadcast is closed as reconciled';
is sql("SELECT current_viewers || '|' || coalesce(thumbnail_url, '-')"
       . " FROM channels WHERE id = $u->{channel_id}"),
   '0|-', '... no viewers, no live thumbnail';

# the playlists the killed transcoder left open end (the VOD too)
ok wait_until(sub {
    sql("SELECT count(*) FROM vods WHERE stream_id = $bid"
        . " AND deleted_at IS NULL") == 1
}, 40), 'the broadcast still becomes a VOD';
my $vod = hls_get($n, "/hls/$name/vods/$bid/source/vod.m3u8");
like $vod ? $vod->{body} : '', qr/#EXT-X-ENDLIST\n\z/, '... ended';
nothing_private('the VOD', served_playlists("/hls/$name/vods/$bid/vod.m3u8"));

# the claim of the dead publisher is gone: live again at once
$pub = publish($key, $src, loop => 1);
ok wait_until(sub { open_broadcast() =~ /^\d+$/ && open_broadcast() ne $bid },
              15), 'the channel goes live again';
ok wait_until(sub {
    my $r = live_media($n, $name);
    $r && $r->{path} =~ m{/b${\ open_broadcast()}/};
}, 15), '... with HLS';
stop_publisher($pub);
ok wait_until(sub { open_broadcast() eq '' }, 10), '... and ends';

# --- a stale heartbeat -------------------------------------------------------

my $v = make_user($n, "t053_${$}_b", channel => 1);
my $sid = sql("INSERT INTO streams (channel_id, title, ingest_host,"
              . " ingest_session, ingested_at, started_at, last_seen_at)"
              . " VALUES ($v->{channel_id}, 'stale', 'elsewhere', '1:1',"
              . " now() - interval '5 minutes', now() - interval '5 minutes',"
              . " now() - interval '2 minutes') RETURNING id");
sql("UPDATE channels SET is_live = true WHERE id = $v->{channel_id}");

my $w = make_user($n, "t053_${$}_c", channel => 1);
my $fresh = sql("INSERT INTO streams (channel_id, title, ingest_host,"
                . " ingest_session, ingested_at)"
                . " VALUES ($w->{channel_id}, 'fresh', 'elsewhere', '1:2',"
                . " now()) RETURNING id");

# the reconciler runs every 15 s
ok wait_until(sub {
    sql("SELECT end_reason FROM streams WHERE id = $sid") eq 'reconciled'
}, 25), 'a broadcast whose heartbeat stopped is closed';
is sql("SELECT is_live FROM channels WHERE id = $v->{channel_id}"), 'f',
   '... its channel is offline';
is sql("SELECT ended_at IS NULL FROM streams WHERE id = $fresh"), 't',
   'a broadcast of another host with a heartbeat is left alone';
sql("UPDATE streams SET ended_at = now(), end_reason = 'admin'"
    . " WHERE id = $fresh");

$n->stop;

done_testing;
