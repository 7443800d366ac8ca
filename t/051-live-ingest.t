# Live ingest end to end: ffmpeg publishes (the OBS stand-in: x264 + AAC,
# 2 s keyframes) a 1080p30 and a 720p60 source with the channel's stream
# key to nginx-rtmp; the on_publish hook renames the stream to the
# channel, exec_push runs the transcoder, nginx serves the HLS ladder.
# Checks the rungs, segment lengths, keyframe alignment, the headers of
# /hls/, the end of the broadcast (ENDLIST, the record, the VOD that plays
# from start to end), that the key is nowhere on disk or in a log, and
# prints the transcoder's CPU and the glass-to-playlist latency.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use File::Find ();
use POSIX ();
use Time::HiRes qw(time sleep);
use Twitch::Test qw(wait_until require_platform);
use Twitch::Test::Accounts qw(sql make_user api);
use Twitch::Test::Live qw(live_nginx make_source publish stop_publisher
                          publisher_alive publisher_epoch hls_get segments
                          ffprobe_json have_tools);

require_platform();
plan skip_all => 'needs ffmpeg, ffprobe, curl and rtmp-hooks/twitch_transcode'
    unless have_tools();

# production's notice level: nginx-rtmp's info lines name what the
# publisher sent (the key), before our hook renames the stream
my $n = live_nginx(name => 't051', log_level => 'notice',
                   ladder => '720p30:1500k,360p30:500k');
$n->start;

my $ch = make_user($n, "t051_${$}_a", channel => 1);
my $name = $ch->{name};
my $key = sql("SELECT stream_key FROM channels WHERE id = $ch->{channel_id}");

like $key, qr/^live_[0-9a-f]{32}$/, 'the channel has a stream key';

my $src1080 = make_source('1920x1080', 30, 10);
my $src720 = make_source('1280x720', 60, 10);

sub master_rungs {
    my ($body) = @_;
    my @r;
    while ($body =~ /RESOLUTION=(\d+)x(\d+),FRAME-RATE=([\d.]+).*\n(\S+)/g) {
        push @r, { w => $1, h => $2, fps => $3, uri => $4 };
    }
    return @r;
}

# Polls the live playlist of a rung, noting when each segment showed up:
# {msn => [seen at, EXTINF]}; also samples the publisher's clock
sub watch_playlist {
    my ($path, $seen, $until, $pub) = @_;
    while (time < $until) {
        my $r = hls_get($n, $path);
        if ($r) {
            my $dur;
            for my $line (split /\n/, $r->{body}) {
                if ($line =~ /^#EXTINF:([\d.]+)/) {
                    $dur = $1;
                } elsif ($line =~ /^seg_(\d+)\.ts$/) {
                    $seen->{$1} //= [time, $dur];
                }
            }
        }
        publisher_epoch($pub);
        sleep 0.02;
    }
}

sub transcoder_pid {
    open my $ps, '-|', 'pgrep', '-f', "twitch_transcode .*--out \\S*/$name/b"
        or return undef;
    my ($pid) = <$ps>;
    close $ps;
    chomp $pid if defined $pid;
    return $pid;
}

sub cpu_seconds {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return undef;
    my @f = split / /, (<$fh> =~ s/^.*\) //r);
    return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

# --- a 1080p30 publisher -----------------------------------------------------

my $t0 = time;
my $pub = publish($key, $src1080, progress => 1);

my $master = wait_until(sub {
    my $r = hls_get($n, "/hls/$name/master.m3u8") or return undef;
    my @r = master_rungs($r->{body});
    return @r == 3 ? $r : undef;
}, 15, 0.05);
my $ready = time - $t0;

ok $master, 'master.m3u8 lists the source and two rungs' or do {
    diag $n->error_log;
    BAIL_OUT('no HLS');
};
cmp_ok $ready, '<=', 5, sprintf('... within 5 s of publishing (%.2f s)',
                                $ready);
diag sprintf('BENCH live: publish to a complete master.m3u8: %.2f s',
             $ready);

my @rungs = master_rungs($master->{body});
is_deeply [map { "$_->{w}x$_->{h}" } @rungs],
          ['1920x1080', '1280x720', '640x360'], 'source, 720p, 360p';
like $master->{body}, qr/^#EXTM3U\n/, 'a playlist';
unlike $master->{body}, qr/\Q$key\E/, 'the key is not in the master';

is $master->{headers}{'content-type'}, 'application/vnd.apple.mpegurl',
   'master: HLS MIME type';
is $master->{headers}{'cache-control'}, 'no-cache', 'master: not cached';
is $master->{headers}{'access-control-allow-origin'}, '*', 'master: CORS';

is sql("SELECT is_live::int || '|' || coalesce(thumbnail_url, '') FROM channels"
       . " WHERE id = $ch->{channel_id}"),
   "1|/hls/$name/thumb.jpg", 'the channel is live, with its thumbnail';
my $bid = sql("SELECT id FROM streams WHERE channel_id = $ch->{channel_id}"
              . " AND ended_at IS NULL");
like $bid, qr/^\d+$/, 'an open broadcast';

# --- while live: latency, CPU ------------------------------------------------

my $tpid = wait_until(\&transcoder_pid, 5);
ok $tpid, 'the transcoder runs';
my $cpu0 = cpu_seconds($tpid);
my $w0 = time;

my %seen;
watch_playlist("/hls/$name/$rungs[2]{uri}", \%seen, time + 4, $pub);

my $cpu1 = cpu_seconds($tpid);
my $w1 = time;

if (defined $cpu0 && defined $cpu1) {
    diag sprintf('BENCH live: transcoder CPU, 1080p30 source -> source '
                 . '+ 720p30 + 360p30 (ultrafast): %.0f%% of one core',
                 100 * ($cpu1 - $cpu0) / ($w1 - $w0));
}

# glass-to-playlist: the publisher sends media time m at epoch + m; the
# transcoder got the stream from its first frame, so segment N ends at the
# sum of the EXTINFs up to N
my $epoch = publisher_epoch($pub);
my (@lat, $end);
for my $msn (sort { $a <=> $b } keys %seen) {
    my ($at, $dur) = @{ $seen{$msn} };
    $end += $dur;
    # the first segments were there before we watched
    next if $at - $w0 < 0.1 || !defined $epoch;
    push @lat, $at - ($epoch + $end);
}
ok @lat, 'new segments appeared while watching';
if (@lat) {
    my $avg = 0;
    $avg += $_ / @lat for @lat;
    diag sprintf('BENCH live: glass-to-playlist latency (360p30, 2 s '
                 . 'segments): %.2f s after a segment\'s last frame was '
                 . 'sent, so %.2f s for its first frame, %.2f s on average',
                 $avg, $avg + 2, $avg + 1);
}

# --- the rungs ---------------------------------------------------------------

my (%starts, %thumb);
for my $rung (@rungs) {
    my $path = "/hls/$name/$rung->{uri}";
    my $r = hls_get($n, $path);
    ok $r, "$rung->{uri}: served";
    is $r->{headers}{'cache-control'}, 'no-cache', "$rung->{uri}: not cached";

    my ($segs) = segments($r->{body});
    ok @$segs >= 2, "$rung->{uri}: segments";

    my @full = @$segs[0 .. $#$segs - 1];
    ok !(grep { $_->{duration} < 1.8 || $_->{duration} > 2.2 } @full),
       "$rung->{uri}: segments last about 2 s"
        or diag explain [map { $_->{duration} } @$segs];

    (my $dir = $rung->{uri}) =~ s{/[^/]+$}{};
    my $seg = $segs->[0]{uri};
    my $s = $n->request(GET => "/hls/$name/$dir/$seg");
    is $s->{status}, 200, "$dir/$seg served";
    is $s->{headers}{'content-type'}, 'video/mp2t', "$dir: MPEG-TS type";
    like $s->{headers}{'cache-control'} // '', qr/max-age=\d{6,}/,
         "$dir: segments are cached for long (their URLs name the "
         . "broadcast)";
    is $s->{headers}{'access-control-allow-origin'}, '*', "$dir: CORS";

    # decodes, with a keyframe first; the first PTS of each segment
    my $url = $n->url("/hls/$name/$dir/$seg");
    my $info = ffprobe_json($url, '-show_streams', '-select_streams', 'v:0');
    is $info->{streams}[0]{width}, $rung->{w}, "$dir: $rung->{w} wide";
    is system('ffmpeg', '-nostdin', '-v', 'error', '-xerror', '-i', $url,
              '-f', 'null', '-'), 0, "$dir: $seg decodes";

    for my $i (0 .. 1) {
        my $u = $n->url("/hls/$name/$dir/$segs->[$i]{uri}");
        my $f = ffprobe_json($u, '-select_streams', 'v:0', '-show_frames',
                             '-read_intervals', '%+#1',
                             '-show_entries', 'frame=pts,key_frame');
        my $fr = $f->{frames}[0] // {};
        is $fr->{key_frame}, 1, "$dir: $segs->[$i]{uri} starts on a keyframe";
        $starts{$segs->[$i]{uri}}{$dir} = $fr->{pts};
    }
}

for my $seg (sort keys %starts) {
    my %pts = %{ $starts{$seg} };
    my @v = values %pts;
    is scalar(keys %{{ map { $_ => 1 } grep { defined } @v }}), 1,
       "$seg starts at the same PTS in every rung" or diag explain \%pts;
}

my $thumb = $n->request(GET => "/hls/$name/thumb.jpg");
is $thumb->{status}, 200, 'the live thumbnail';
is $thumb->{headers}{'content-type'}, 'image/jpeg', 'thumbnail: JPEG';
is $n->request(GET => "/hls/$name/status.json")->{status}, 404,
   'the transcoder\'s status is not served';

# --- the end -----------------------------------------------------------------

ok wait_until(sub { !publisher_alive($pub) }, 20), 'the publisher ended';

ok wait_until(sub {
    my $r = hls_get($n, "/hls/$name/$rungs[0]{uri}") or return 0;
    return $r->{body} =~ /#EXT-X-ENDLIST\n\z/;
}, 15), 'the live playlist ends with EXT-X-ENDLIST';

ok wait_until(sub {
    sql("SELECT end_reason FROM streams WHERE id = $bid") eq 'publish_done'
}, 10), 'the broadcast ended with the publish';
is sql("SELECT is_live::int || '|' || current_viewers || '|'"
       . " || coalesce(thumbnail_url, '-') FROM channels"
       . " WHERE id = $ch->{channel_id}"),
   '0|0|-', 'the channel is offline';

my $vod = wait_until(sub {
    my $r = api($n, GET => "/api/vods/$bid");
    return $r->{status} == 200 && $r->{json}{vod}{vodUrl} ? $r->{json}{vod}
                                                           : undef;
}, 30);
ok $vod, 'the broadcast is a VOD';
is $vod->{vodUrl}, "/hls/$name/vods/$bid/vod.m3u8", '... at its URL';

my $vm = hls_get($n, $vod->{vodUrl});
ok $vm, 'the VOD master is served';
my @vr = master_rungs($vm->{body} // '');
is scalar(@vr), 3, 'the VOD has every rung';
for my $rung (@vr) {
    my $r = hls_get($n, "/hls/$name/vods/$bid/$rung->{uri}");
    like $r->{body}, qr/#EXT-X-PLAYLIST-TYPE:VOD\n/, "$rung->{uri}: VOD type";
    like $r->{body}, qr/#EXT-X-ENDLIST\n\z/, "$rung->{uri}: ended";
}

# the VOD plays from start to end (every segment decodes)
my $vurl = $n->url("/hls/$name/vods/$bid/$vr[2]{uri}");
my $probe = ffprobe_json($vurl, '-show_format');
cmp_ok $probe->{format}{duration} // 0, '>=', 6, 'the VOD lasts the broadcast'
    or diag explain $probe;
is system('ffmpeg', '-nostdin', '-v', 'error', '-i', $vurl, '-f', 'null',
          '-'), 0, 'the VOD decodes from start to end';
cmp_ok $vod->{duration}, '>=', 6, 'GET /api/vods/:id: its duration';

# --- a 720p60 publisher: the source plus 360p30 ------------------------------

$t0 = time;
$pub = publish($key, $src720);

$master = wait_until(sub {
    my $r = hls_get($n, "/hls/$name/master.m3u8") or return undef;
    return $r->{body} =~ /1280x720,FRAME-RATE=60/ ? $r : undef;
}, 15, 0.05);
$ready = time - $t0;
ok $master, '720p60: a new master';
cmp_ok $ready, '<=', 5, sprintf('... within 5 s (%.2f s)', $ready);
@rungs = master_rungs($master ? $master->{body} : '');
is_deeply [map { "$_->{w}x$_->{h}\@$_->{fps}" } @rungs],
          ['1280x720@60.000', '640x360@30.000'],
          'source at 60 fps and 360p30 (no 720p30 below a 720p source)';

my $bid2 = sql("SELECT id FROM streams WHERE channel_id = $ch->{channel_id}"
               . " AND ended_at IS NULL");
isnt $bid2, $bid, 'a new broadcast';

my $r = hls_get($n, "/hls/$name/$rungs[1]{uri}");
my ($segs) = segments($r ? $r->{body} : '');
my $u = $n->url("/hls/$name/" . ($rungs[1]{uri} =~ s{/[^/]+$}{}r)
                . "/$segs->[0]{uri}");
is system('ffmpeg', '-nostdin', '-v', 'error', '-i', $u, '-f', 'null', '-'),
   0, '720p60: the 360p30 rung decodes';

stop_publisher($pub);
ok wait_until(sub {
    sql("SELECT ended_at IS NOT NULL FROM streams WHERE id = $bid2") eq 't'
}, 10), '720p60: the broadcast ends';
ok wait_until(sub {
    sql("SELECT count(*) FROM vods WHERE stream_id = $bid2") == 1
}, 30), '720p60: its VOD';

# --- the key is nowhere ------------------------------------------------------

$n->stop;

# the test's nginx (configuration, logs, media), the platform's logs
# (PostgreSQL's and Redis's, through their links)
my @hits;
my @roots = ($n->root, $ENV{TWITCH_VAR} ? ("$ENV{TWITCH_VAR}/log") : ());
push @roots, grep { -f } map { readlink($_) // () }
                        glob("$ENV{TWITCH_VAR}/log/*.log")
    if $ENV{TWITCH_VAR};
File::Find::find({ no_chdir => 1, wanted => sub {
    return unless -f $_ && !-l $_;
    push @hits, $_ if index($File::Find::name, $key) >= 0;
    open my $fh, '<:raw', $_ or return;
    local $/ = \(1 << 20);
    my $tail = '';
    while (my $chunk = <$fh>) {
        if (index($tail . $chunk, $key) >= 0) {
            push @hits, $_;
            last;
        }
        $tail = substr($chunk, -64);
    }
} }, grep { -e } @roots);

is_deeply \@hits, [], 'the key is in no path, playlist, segment or log'
    or diag explain \@hits;

done_testing;
