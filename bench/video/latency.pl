#!/usr/bin/env perl
#
# Live latency through the platform (bench/video/run.sh): publishes a clip
# with ffmpeg -re to nginx-rtmp with a channel's stream key, as OBS would,
# and polls the channel's HLS over HTTP until the broadcast ends.
#
#   latency.pl --base http://127.0.0.1:PORT --channel NAME --rtmp URL \
#              --clip FILE --duration SEC [--poll-ms 40] [--work DIR]
#   (the stream key comes in the environment: BENCH_STREAM_KEY)
#
# Clocks.  ffmpeg -re sends media time m at epoch + m.  The epoch is read
# from ffmpeg's -progress reports: each gives out_time (media time sent);
# at the moment we read it, now - out_time >= epoch, and the smallest of
# these upper bounds over the run is the estimate (its error is the
# report and poll period, tens of ms, and it can only make latencies
# look smaller, never larger, by that much).
#
# Segment N covers media [start N, start N + EXTINF N): start N is found
# by locating the segment's first packets (the source variant is a copy)
# in the clip.
#
# Prints key=value lines (times in seconds):
#   master_first_frame   first frame sent -> master.m3u8 served, every
#                        variant's playlist has a segment, and the first
#                        segment of every variant is served
#   master_launch        the same from the publisher's start (RTMP
#                        connect, publish hook, transcoder start included)
#   seg_first_p50/max    frame sent -> its segment listed in every
#                        variant's playlist, for the segment's first frame
#                        (the worst frame of each segment)
#   seg_last_p50/max     the same for the segment's last frame (its end)
#   segments             segments timed (all but the first, seen before
#                        polling started, and the last, cut at EOF)

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use HTTP::Tiny ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my %o = ('poll-ms' => 40, work => '/tmp');
GetOptions(\%o, 'base=s', 'channel=s', 'rtmp=s', 'clip=s', 'duration=f',
           'poll-ms=i', 'work=s')
    or die "usage: see the top of $0\n";
for (qw(base channel rtmp clip duration)) {
    die "latency.pl: --$_ is required\n" unless defined $o{$_};
}
my $key = $ENV{BENCH_STREAM_KEY} or die "latency.pl: no BENCH_STREAM_KEY\n";
delete $ENV{BENCH_STREAM_KEY};

my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
my $poll = $o{'poll-ms'} / 1000;
my $chan = "$o{base}/hls/$o{channel}";

sub get {
    my ($url) = @_;
    my $r = $http->get($url);
    return $r->{status} == 200 ? $r->{content} : undef;
}

# [{msn, dur}], ended
sub media_segments {
    my ($text) = @_;
    my (@s, $dur, $end);
    for my $line (split /\n/, $text) {
        if ($line =~ /^#EXTINF:([\d.]+)/) {
            $dur = $1;
        } elsif ($line eq '#EXT-X-ENDLIST') {
            $end = 1;
        } elsif ($line =~ /^seg_(\d+)\.ts$/) {
            push @s, { msn => $1, dur => $dur };
        }
    }
    return (\@s, $end);
}

# --- the publisher -----------------------------------------------------------

my $progress = "$o{work}/publish.progress";
unlink $progress;

my $launch = time;
my $pub = fork() // die "fork: $!";
if ($pub == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', "$o{work}/publish.log";
    exec 'ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
         '-progress', $progress, '-stats_period', '0.05',
         '-re', '-i', $o{clip}, '-c', 'copy', '-f', 'flv',
         "$o{rtmp}/$key"
        or POSIX::_exit(127);
}

$SIG{INT} = $SIG{TERM} = sub { kill 'INT', $pub; exit 1 };

my ($pfh, $epoch, $pub_done, $pub_status);

sub read_progress {
    if (!$pfh) {
        open(my $fh, '<', $progress) or return;
        $pfh = $fh;
    }
    seek($pfh, 0, 1);
    while (my $line = <$pfh>) {
        next unless $line =~ /^out_time_us=(\d+)$/ && $1 > 0;
        my $e = time - $1 / 1e6;
        $epoch = $e if !defined $epoch || $e < $epoch;
    }
}

# --- polling -----------------------------------------------------------------

my ($master_served, $master_ok, @variants, %seen, %dur, %ended, $watch0);
my $deadline = $launch + $o{duration} + 60;

while (time < $deadline) {
    my $t = time;

    read_progress();

    if (!$pub_done && waitpid($pub, WNOHANG) == $pub) {
        $pub_done = time;
        $pub_status = $?;
    }

    if (!$master_ok) {
        if (my $m = get("$chan/master.m3u8")) {
            $master_served //= time;
            my @uris = $m =~ /^([^#\s]\S*)$/mg;
            my $ready = @uris > 0;
            for my $u (@uris) {
                my $pl = get("$chan/$u");
                my ($segs, $end) = media_segments($pl // '');
                # (an ended playlist is an earlier broadcast's)
                if (!@$segs || $end) {
                    $ready = 0;
                    last;
                }
                (my $dir = $u) =~ s{[^/]+$}{};
                if (!defined get("$chan/${dir}seg_$segs->[0]{msn}.ts")) {
                    $ready = 0;
                    last;
                }
            }
            if ($ready) {
                $master_ok = time;
                @variants = @uris;
                $watch0 = time;
            }
        }

    } else {
        for my $u (@variants) {
            next if $ended{$u};
            my $pl = get("$chan/$u") // next;
            my $now = time;
            my ($segs, $end) = media_segments($pl);
            for my $s (@$segs) {
                $seen{$u}{ $s->{msn} } //= $now;
                $dur{ $s->{msn} } //= $s->{dur};
            }
            $ended{$u} = 1 if $end;
        }
        last if @variants && keys(%ended) == @variants;
    }

    my $sleep = $poll - (time - $t);
    sleep($sleep) if $sleep > 0;
}

if (!$pub_done) {
    kill 'INT', $pub;
    waitpid($pub, 0);
    $pub_status = $?;
}

# --- figures -----------------------------------------------------------------

sub out { printf "%s=%s\n", $_[0], $_[1] }
sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return @v ? $v[int($p * $#v + 0.5)] : 'n/a';
}

out(publisher_exit => $pub_status >> 8);
die "latency.pl: no epoch from the publisher's progress\n"
    unless defined $epoch;
die "latency.pl: the master playlist never became playable\n"
    unless $master_ok;
die "latency.pl: the broadcast did not end (no EXT-X-ENDLIST)\n"
    unless keys(%ended) == @variants;

out(epoch_after_launch => sprintf('%.3f', $epoch - $launch));
out(master_served_first_frame => sprintf('%.3f', $master_served - $epoch));
out(master_first_frame => sprintf('%.3f', $master_ok - $epoch));
out(master_launch => sprintf('%.3f', $master_ok - $launch));
out(variants => scalar @variants);

my @msn = sort { $a <=> $b } keys %dur;
my $total = 0;
$total += $dur{$_} for @msn;

out(media_listed => sprintf('%.3f', $total));
die "latency.pl: not a fresh broadcast (first segment $msn[0])\n"
    if $msn[0] != 0;

# Where each segment starts in the clip: the source variant is the
# publisher's H.264 stream copied, so the sizes of a segment's first
# packets are the clip's (plus a constant: MPEG-TS adds an AUD, and
# SPS/PPS before the keyframe).  Frames lost at the start (or at the end)
# then show, instead of being guessed.
my ($bid) = $variants[0] =~ m{^b(\d+)/} or die "latency.pl: no b<id>/ URI\n";
my ($src) = grep { m{/source/} } @variants
    or die "latency.pl: no source variant\n";

sub video_packets {    # [pts, size, key] in decode order
    my ($file) = @_;
    open my $fh, '-|', 'ffprobe', '-v', 'error', '-select_streams', 'v:0',
         '-show_entries', 'packet=pts_time,size,flags', '-of', 'csv=p=0',
         $file or die "ffprobe: $!\n";
    my @p;
    while (<$fh>) {
        my ($pts, $size, $flags) = split /,/;
        push @p, [$pts, $size, ($flags // '') =~ /K/ ? 1 : 0]
            if defined $size && $pts =~ /^[\d.]+$/;
    }
    close $fh;
    return \@p;
}

my $clip = video_packets($o{clip});
my $t0 = $clip->[0][0];
my %media;

for my $n (@msn) {
    my $dir = $src =~ s{[^/]+$}{}r;
    my $seg = get("$chan/${dir}seg_$n.ts")
        // get("$chan/vods/$bid/source/seg_$n.ts") // next;
    my $f = "$o{work}/seg.ts";
    open my $fh, '>:raw', $f or die "$f: $!\n";
    print $fh $seg;
    close $fh;
    my $p = video_packets($f);
    next unless @$p > 8 && $p->[0][2];
    CLIP: for my $i (grep { $clip->[$_][2] } 0 .. $#$clip - 8) {
        my $d = $p->[1][1] - $clip->[$i + 1][1];
        for my $j (2 .. 8) {
            next CLIP if $p->[$j][1] - $clip->[$i + $j][1] != $d;
        }
        $media{$n} = $clip->[$i][0] - $t0;
        last;
    }
}
unlink "$o{work}/seg.ts";

out(segments_located => scalar keys %media);
out(media_first => defined $media{ $msn[0] }
                   ? sprintf('%.3f', $media{ $msn[0] }) : 'n/a');

my ($start, @first, @last, @spread);
for my $i (0 .. $#msn) {
    my $n = $msn[$i];
    # located in the clip, else right after the previous segment
    $start = $media{$n} // $start // next;
    my $end = $start + $dur{$n};
    my @at = map { $seen{$_}{$n} } @variants;
    if ($i > 0 && $i < $#msn && !grep { !defined } @at) {
        my @s = sort { $a <=> $b } @at;
        # listed before polling started: not timed
        if ($s[0] > $watch0 + $poll / 2) {
            push @first, $s[-1] - ($epoch + $start);
            push @last, $s[-1] - ($epoch + $end);
            push @spread, $s[-1] - $s[0];
        }
    }
    $start = $end;
}

sub sec { my ($v) = @_; $v =~ /^-?[\d.]+$/ ? sprintf('%.3f', $v) : $v }

out(segments => scalar @first);
out(seg_first_p50 => sec(pct(0.5, @first)));
out(seg_first_max => sec(pct(1, @first)));
out(seg_last_p50 => sec(pct(0.5, @last)));
out(seg_last_max => sec(pct(1, @last)));
out(seg_last_min => sec(pct(0, @last)));
out(variant_spread_max => sec(pct(1, @spread)));
out(seg_first_all => join(',', map { sprintf '%.2f', $_ } @first));
