package Twitch::Test::Live;

# Live video for multi-step tests: an nginx with the RTMP ingest, the
# hooks, the transcoder and the /hls/ location; ffmpeg as the publisher
# (OBS stand-in) and ffprobe as the player.
#
#   use Twitch::Test::Live qw(live_nginx make_source publish ...);
#   my $n = live_nginx(name => 't051', ladder => '720p30:1500k');
#   $n->start;
#   my $src = make_source('1280x720', 60, 8);   # x264 + AAC, 2 s GOPs
#   my $pub = publish($key, $src);              # ffmpeg -re ... -f flv
#   wait_until(sub { hls_get($n, "/hls/$name/master.m3u8") }, 10);
#   stop_publisher($pub);
#
# See the POD at the end.

use strict;
use warnings;

use parent 'Exporter';
use Carp qw(croak);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use Twitch::Test qw(wait_until);
use Twitch::Test::Nginx ();

our @EXPORT_OK = qw(live_nginx make_source publish stop_publisher
                    publisher_epoch hook_call live_media
                    publisher_alive hls_get media_playlist ffprobe_json
                    have_tools rtmp_url segments tmpdir);

my $TMP;

sub tmpdir {
    $TMP //= File::Temp->newdir('twitch-live-XXXXXX', TMPDIR => 1);
    return "$TMP";
}

sub have_tools {
    for my $tool (qw(ffmpeg ffprobe curl)) {
        return 0 unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
    }
    return -x 'rtmp-hooks/twitch_transcode';
}

sub rtmp_url {
    my ($name) = @_;
    return "rtmp://127.0.0.1:$ENV{TEST_NGINX_RTMP_PORT}/live"
           . (defined $name ? "/$name" : '');
}

# live_nginx(name => 'tNNN', ladder => '360p30:600k', workers => 2,
#            http_config => '...', config => '...', log_level => 'info',
#            retention => '14d', pattern => 1)
sub live_nginx {
    my (%o) = @_;
    my $ladder = $o{ladder} // '360p30:600k';
    my $transcode = $o{transcode}
        // "--ladder $ladder --preset ultrafast --thumb-interval 2";
    my $root = $o{root_dir};
    my $hooks = 'http://127.0.0.1:$TEST_NGINX_PORT/internal/rtmp';
    my $retention = $o{retention} // '14d';
    my $pattern = $o{pattern}
        ? "    twitch_test_pattern rtmp://127.0.0.1:"
          . "\$TEST_NGINX_RTMP_PORT/live 320x180 15;\n"
        : '';
    my $hooks_dir = File::Spec->rel2abs('rtmp-hooks');
    my $transcoder = ($o{transcoder} // 1)
        ? "    twitch_transcoder $hooks_dir/twitch_live.sh\n"
          . "        rtmp://127.0.0.1:\$TEST_NGINX_RTMP_PORT/live\n"
          . "        \$TEST_NGINX_SERVROOT/logs $transcode;\n"
        : '';
    my $instance = $o{instance} // "$o{name}-$$";

    my $n = Twitch::Test::Nginx->new(
        workers     => $o{workers} // 2,
        log_level   => $o{log_level} // 'info',
        timeout     => 10,
        http_config => <<"_EOC_" . ($o{http_config} // ''),
    twitch_postgres "\$TEST_NGINX_PG";
    twitch_redis \$TEST_NGINX_REDIS;
    twitch_media_root \$TEST_NGINX_SERVROOT/media /hls/;
    twitch_live_instance $instance;
    twitch_rtmp_worker 0;
    twitch_vod_retention $retention;
    twitch_viewers_interval 1s;
    twitch_viewers_window 8s;
$transcoder$pattern
_EOC_
        config      => <<"_EOC_" . ($o{config} // ''),
        location /api/ {
            twitch_api;
        }

        location = /internal/rtmp {
            twitch_rtmp_hooks live;
            access_log off;
        }

        location /hls/ {
            alias  \$TEST_NGINX_SERVROOT/media/;
            twitch_hls_viewers on;
            log_not_found  off;

            types {
                application/vnd.apple.mpegurl  m3u8;
                video/mp2t                     ts;
                image/jpeg                     jpg;
                video/mp4                      mp4;
            }
            default_type  application/octet-stream;

            add_header  Cache-Control "public, max-age=31536000, immutable";
            add_header  Access-Control-Allow-Origin * always;

            location ~ \\.m3u8\$ {
                add_header  Cache-Control "no-cache";
                add_header  Access-Control-Allow-Origin * always;
            }

            location ~ ^/hls/[A-Za-z0-9_]+/(?:b\\d+/)?thumb\\.jpg\$ {
                add_header  Cache-Control "public, max-age=10";
                add_header  Access-Control-Allow-Origin * always;
            }

            location ~ /(?:status\\.json|[^/]*\\.tmp)\$ {
                return 404;
            }
        }
_EOC_
        post_main_config => <<"_EOC_",
rtmp {
    access_log off;

    server {
        listen 127.0.0.1:\$TEST_NGINX_RTMP_PORT;
        notify_method post;

        application live {
            live on;
            drop_idle_publisher 10s;

            allow play 127.0.0.1;
            deny play all;

            on_publish $hooks;
            on_update $hooks;
            notify_update_timeout 2s;
            on_publish_done $hooks;
            on_play $hooks;
        }
    }
}
_EOC_
    );

    remove_tree($n->root . '/media');
    make_path($n->root . '/media', $n->root . '/logs');
    return $n;
}

# An FLV file of testsrc2 + a sine, x264 (ultrafast, a keyframe every 2 s
# exactly) and AAC; made once per size/rate/length.
my %Sources;

sub make_source {
    my ($size, $fps, $secs) = @_;
    my $key = "$size-$fps-$secs";
    return $Sources{$key} if $Sources{$key};
    my $f = tmpdir() . "/src-$key.flv";
    my $gop = 2 * $fps;
    my @cmd = ('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
               '-y', '-f', 'lavfi',
               '-i', "testsrc2=size=$size:rate=$fps:duration=$secs",
               '-f', 'lavfi', '-i', "sine=frequency=440:sample_rate=48000",
               '-t', $secs, '-c:v', 'libx264', '-preset', 'ultrafast',
               '-g', $gop, '-keyint_min', $gop, '-sc_threshold', 0,
               '-pix_fmt', 'yuv420p', '-b:v', '2500k',
               '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', $f);
    system(@cmd) == 0 or croak "ffmpeg failed: @cmd";
    return $Sources{$key} = $f;
}

# ffmpeg -re publishing $file (looped when $o{loop}) to live/$key.
# Returns {pid, log}.
sub publish {
    my ($key, $file, %o) = @_;
    my $log = tmpdir() . "/publish-" . time() . "-$$-" . int(rand 1e6)
              . ".log";
    my $progress = $log =~ s/\.log$/.progress/r;
    my @cmd = ('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
               ($o{progress} ? ('-progress', $progress,
                                '-stats_period', '0.1') : ()),
               '-re', ($o{loop} ? ('-stream_loop', '-1') : ()),
               '-i', $file, '-c', 'copy', '-f', 'flv', rtmp_url($key));
    my $pid = fork() // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $log;
        exec @cmd or POSIX::_exit(127);
    }
    return { pid => $pid, log => $log, started => time,
             progress => $o{progress} ? $progress : undef };
}

# A call of nginx-rtmp's notify hooks, made by hand: POST form fields to
# /internal/rtmp (app=live, addr=127.0.0.1 unless given)
sub hook_call {
    my ($n, %f) = @_;
    $f{app} //= 'live';
    $f{addr} //= '127.0.0.1';
    my $body = join '&', map {
        (my $v = $f{$_}) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
        "$_=$v";
    } sort keys %f;
    return $n->request(POST => '/internal/rtmp', body => $body, headers => {
        'Content-Type' => 'application/x-www-form-urlencoded' });
}

sub publisher_alive {
    my ($p) = @_;
    return 0 if $p->{done};
    my $r = waitpid($p->{pid}, WNOHANG);
    if ($r == $p->{pid}) {
        $p->{done} = 1;
        $p->{status} = $?;
        return 0;
    }
    return 1;
}

# With publish(..., progress => 1): the wall clock time at which the
# publisher sent media time 0 (ffmpeg -re sends media time m at about
# that + m), from ffmpeg's progress reports; undef before the first one.
sub publisher_epoch {
    my ($p) = @_;
    return undef unless $p->{progress};
    open my $fh, '<', $p->{progress} or return $p->{epoch};
    my $out;
    while (my $line = <$fh>) {
        $out = $1 if $line =~ /^out_time_us=(\d+)/;
    }
    close $fh;
    if (defined $out && $out > 0) {
        my $e = time - $out / 1e6;
        $p->{epoch} = $e if !defined $p->{epoch} || $e < $p->{epoch};
    }
    return $p->{epoch};
}

# SIGINT (ffmpeg then closes the RTMP stream properly); waits for it
sub stop_publisher {
    my ($p) = @_;
    return $p->{status} if $p->{done};
    kill 'INT', $p->{pid};
    wait_until(sub { !publisher_alive($p) }, 5)
        or do { kill 'KILL', $p->{pid}; waitpid($p->{pid}, 0); };
    $p->{done} = 1;
    return $p->{status};
}

# GET on the nginx; the response when its status is 200, else undef
sub hls_get {
    my ($n, $path, %o) = @_;
    my $r = $n->request(GET => $path, %o);
    return $r->{status} == 200 ? $r : undef;
}

# The live media playlist of variant $i (0: the source) of a channel, as
# the master lists it ("b<broadcast>/<rung>/live.m3u8"): {path, body} or
# undef
sub live_media {
    my ($n, $name, $i) = @_;
    my $m = hls_get($n, "/hls/$name/master.m3u8") or return undef;
    my @uris = $m->{body} =~ /^([^#\s]\S*)$/mg;
    my $uri = $uris[$i // 0] or return undef;
    my $r = hls_get($n, "/hls/$name/$uri") or return undef;
    return { path => "/hls/$name/$uri", dir => "/hls/$name/"
             . ($uri =~ s{/[^/]+$}{}r), body => $r->{body} };
}

# segments of a media playlist: [{duration, uri, disc}], plus endlist
sub segments {
    my ($text) = @_;
    my (@segs, $dur, $disc, $end);
    for my $line (split /\n/, $text // '') {
        if ($line =~ /^#EXTINF:([\d.]+)/) { $dur = $1 }
        elsif ($line eq '#EXT-X-DISCONTINUITY') { $disc = 1 }
        elsif ($line eq '#EXT-X-ENDLIST') { $end = 1 }
        elsif ($line !~ /^#/ && length $line) {
            push @segs, { duration => $dur, uri => $line, disc => $disc };
            ($dur, $disc) = (undef, 0);
        }
    }
    return wantarray ? (\@segs, $end) : \@segs;
}

sub media_playlist { segments(@_) }

# ffprobe -of json of a file or URL, with extra options
sub ffprobe_json {
    my ($what, @opts) = @_;
    open my $fh, '-|', 'ffprobe', '-v', 'error', '-of', 'json', @opts, $what
        or return undef;
    local $/;
    my $out = <$fh>;
    close $fh;
    return undef if $? != 0;
    return eval { JSON::PP->new->decode($out) };
}

1;
__END__

=head1 NAME

Twitch::Test::Live - RTMP ingest, transcoder and HLS for multi-step tests

=head1 FUNCTIONS (exported on request)

=over

=item live_nginx(name => $prefix, %opt)

A Twitch::Test::Nginx (not started) with PostgreSQL, Redis, the media
root in its html/hls, the hooks at /internal/rtmp, /hls/, and an rtmp
block on $TEST_NGINX_RTMP_PORT whose exec_push runs
rtmp-hooks/twitch_live.sh.  Options: ladder ('360p30:600k'), transcode
(all transcoder options), workers (2), log_level ('info'), retention,
pattern (1: twitch_test_pattern), http_config, config, instance.

=item make_source($size, $fps, $secs)

=item publish($key, $file, loop => 1), stop_publisher($p), publisher_alive($p)

=item hls_get($n, $path), segments($playlist_text), ffprobe_json($url, @opts)

=item have_tools(), rtmp_url($name), tmpdir()

=back

=cut
