#!/usr/bin/env bash
#
# Live video benchmark, one script, one run, same box (bench/RESULTS.md):
#
#   1. CPU: rtmp-hooks/twitch_transcode on the production ladder (the
#      --ladder and --preset of conf/nginx.conf.in: a stream-copied source
#      rung plus 720p/480p/360p/160p) against the ffmpeg CLI producing the
#      same ladder in one process: the source decoded once, a filter graph
#      of split and scale, libx264 with the same preset, bit rates, VBV
#      and keyframes, AAC, the HLS muxer with 2 s segments.  Both read the
#      same 1080p30 clip from a file as fast as they can; the figure is
#      CPU seconds (user + system of the whole process, every thread) per
#      second of media.  Bar: ours <= 1.0x the peer's.  Ours and the peer
#      alternate REPS times; medians are compared.
#
#   2. Latency: the whole platform (nginx with our modules and
#      nginx-rtmp, PostgreSQL, Redis, conf/nginx.conf.in as make run
#      renders it) on bench ports; ffmpeg -re publishes the clip with a
#      demo channel's stream key; bench/video/latency.pl polls the HLS over
#      HTTP: first frame -> playable master playlist, and frame published ->
#      the segment holding it listed in every variant's playlist.
#      Bar: the worst frame (a segment's first) <= segment duration + 1 s.
#
#   bench/video/run.sh        # REPS=3 DURATION=30 NOISE=6 POLL_MS=40
#
# Environment: REPS, DURATION (clip seconds), NOISE (testsrc2 temporal
# noise strength: how hard the picture is to encode), POLL_MS (HLS poll
# period), PARTS ("cpu latency", or one of them), BUILD (make's build
# directory, as for make build).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/video
REPS=${REPS:-3}
DURATION=${DURATION:-30}
NOISE=${NOISE:-6}
POLL_MS=${POLL_MS:-40}
PARTS=${PARTS:-cpu latency}

export TWITCH_VAR=$ROOT/var/bench-video
export HTTP_PORT=18290 RTMP_PORT=18291 PG_PORT=25690 REDIS_PORT=26690
export PG_FSYNC=off REDIS_SAVE=""
VAR=$TWITCH_VAR

if [ -n "${BUILD:-}" ]; then
    case $BUILD in
        /*) ;;
        *)  BUILD=$ROOT/$BUILD ;;
    esac
    export BUILD
fi
export MODULES_DIR=${BUILD:-$ROOT/build}/nginx/objs

BIN=$ROOT/rtmp-hooks/twitch_transcode

for tool in ffmpeg ffprobe perl /usr/bin/time psql; do
    command -v "$tool" >/dev/null ||
        { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done

make -s -C "$ROOT" build >/dev/null

say() { printf 'bench: %s\n' "$*" >&2; }

# --- the production ladder ---------------------------------------------------

CONF=$ROOT/conf/nginx.conf.in
LADDER=$(sed -n 's/.*--ladder[[:space:]]\{1,\}\([^[:space:];]*\).*/\1/p' \
         "$CONF" | head -n 1)
PRESET=$(sed -n 's/.*--preset[[:space:]]\{1,\}\([^[:space:];]*\).*/\1/p' \
         "$CONF" | head -n 1)
SEGMENT=2          # twitch_transcode's default, as in production
WINDOW=6

[ -n "$LADDER" ] && [ -n "$PRESET" ] ||
    { echo "bench: no --ladder/--preset in $CONF" >&2; exit 1; }

SRC_W=1920 SRC_H=1080 SRC_FPS=30

# --- the clip ----------------------------------------------------------------

mkdir -p "$VAR/cpu"
CLIP=$VAR/src-${SRC_H}p${SRC_FPS}-${DURATION}s-n$NOISE.flv

if [ ! -s "$CLIP" ]; then
    say "making $CLIP"
    # 1080p30 H.264 at 6 Mbit/s with a keyframe every 2 s exactly (OBS's
    # Twitch settings), stereo AAC 160k 48 kHz
    ffmpeg -nostdin -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=${SRC_W}x$SRC_H:rate=$SRC_FPS,noise=alls=$NOISE:allf=t" \
        -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000" \
        -t "$DURATION" -c:v libx264 -preset veryfast -b:v 6M -maxrate 6M \
        -bufsize 12M -g $((2 * SRC_FPS)) -keyint_min $((2 * SRC_FPS)) \
        -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 160k -ac 2 \
        -f flv "$CLIP.tmp"
    mv "$CLIP.tmp" "$CLIP"
fi

# --- the peer: ffmpeg, the same ladder in one process ------------------------

kbit() {    # kbit 2500k | 3M | 800000 -> kbit/s
    awk -v v="$1" 'BEGIN {
        n = v + 0; s = substr(v, length(v));
        if (s == "k" || s == "K") n *= 1; else if (s == "M" || s == "m")
            n *= 1000; else n /= 1000;
        printf "%d", n }'
}

# the rungs below the source, largest first, each scaled from the one
# before it (as ours are)
IFS=, read -r -a specs <<<"$LADDER"
rungs=()
for spec in "${specs[@]}"; do
    h=${spec%%p*}
    rest=${spec#*p}
    fps=${rest%%:*}; fps=${fps:-30}
    rest=${rest#*:}
    vb=${rest%%:*}
    ab=${rest#"$vb"}; ab=${ab#:}
    [ -n "$ab" ] || { [ "$h" -lt 240 ] && ab=64k || ab=128k; }
    [ "$h" -lt "$SRC_H" ] || continue
    [ "$fps" -ge "$SRC_FPS" ] ||
        { echo "bench: rung $spec: the peer keeps the source rate" >&2;
          exit 1; }
    w=$(awk -v h="$h" -v sw=$SRC_W -v sh=$SRC_H \
        'BEGIN { x = h * sw / sh / 2; printf "%d", 2 * int(x + 0.5) }')
    rungs+=("$h $w $SRC_FPS $(kbit "$vb") $(kbit "$ab")")
done
mapfile -t rungs < <(printf '%s\n' "${rungs[@]}" | sort -k1,1nr)

peer_args() {    # peer_args OUT THREADS(1: decoder and x264 | auto)
    local out=$1 threads=$2 i=0 graph="" maps=() codecs=() vsm="" prev
    local h w fps vb ab r

    prev="[0:v]"
    for r in "${rungs[@]}"; do
        read -r h w fps vb ab <<<"$r"
        i=$((i + 1))
        if [ "$i" -lt "${#rungs[@]}" ]; then
            graph+="${prev}scale=$w:$h,split=2[o$i][c$i];"
            prev="[c$i]"
        else
            graph+="${prev}scale=$w:$h[o$i]"
        fi
        maps+=(-map "[o$i]" -map 0:a)
        codecs+=(-b:v:$i "${vb}k" -maxrate:v:$i "${vb}k"
                 -bufsize:v:$i "$((2 * vb))k" -b:a:$i "${ab}k")
        vsm+=" v:$i,a:$i,name:${h}p$fps"
    done

    args=(-nostdin -hide_banner -loglevel error -y)
    if [ "$threads" != auto ]; then
        # the filter graph's (swscale's slices) and the decoder's
        args+=(-filter_complex_threads "$threads" -threads "$threads")
    fi
    args+=(-i "$CLIP"
          -filter_complex "$graph"
          -map 0:v -map 0:a "${maps[@]}"
          -c:v libx264 -c:v:0 copy -c:a aac -c:a:0 copy
          -preset "$PRESET" -pix_fmt yuv420p
          -x264-params keyint=infinite:scenecut=0:open-gop=0
          -forced-idr 1 -force_key_frames source
          "${codecs[@]}" -ac 2 -ar 48000)
    if [ "$threads" != auto ]; then
        args+=(-threads "$threads")       # the encoders
    fi
    args+=(-f hls -hls_time "$SEGMENT" -hls_list_size "$WINDOW"
           -hls_flags delete_segments+independent_segments+program_date_time
           -master_pl_name master.m3u8
           -var_stream_map "v:0,a:0,name:source$vsm"
           -hls_segment_filename "$out/%v/seg_%d.ts" "$out/%v/live.m3u8")
}

# --- CPU ---------------------------------------------------------------------

cpu_run() {    # cpu_run NAME COMMAND... -> CPU seconds per media second
    local name=$1 out=$VAR/cpu/$1 t u s
    shift
    rm -rf "$out"
    mkdir -p "$out"
    /usr/bin/time -f '%e %U %S' -o "$VAR/cpu/$name.time" \
        "$@" 2>"$VAR/cpu/$name.err" ||
        { cat "$VAR/cpu/$name.err" >&2; echo "bench: $name failed" >&2;
          exit 1; }
    [ "$(grep -c '^#EXT-X-STREAM-INF' "$out/master.m3u8")" = \
      $((${#rungs[@]} + 1)) ] ||
        { echo "bench: $name: not every rung in $out/master.m3u8" >&2;
          exit 1; }
    read -r t u s <"$VAR/cpu/$name.time"
    awk -v u="$u" -v s="$s" -v d="$DURATION" -v t="$t" -v n="$name" \
        'BEGIN { printf "%.4f %.2f %.2f %.2f\n", (u + s) / d, u, s, t }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() {
    awk -v v="$1" -v bar="$2" \
        'BEGIN { print (v ~ /^-?[0-9.]+$/ && v <= bar) ? "pass" : "FAIL" }'
}

cpu_part() {
    local round o p1 pa
    ours=(); peer1=(); peerauto=(); detail=()
    load0=$(cut -d' ' -f1-3 /proc/loadavg)

    for round in $(seq "$REPS"); do
        o=$(cpu_run ours "$BIN" -q --input "$CLIP" --out "$VAR/cpu/ours" \
            --ladder "$LADDER" --preset "$PRESET")
        peer_args "$VAR/cpu/peer1" 1
        p1=$(cpu_run peer1 ffmpeg "${args[@]}")
        peer_args "$VAR/cpu/peerauto" auto
        pa=$(cpu_run peerauto ffmpeg "${args[@]}")

        ours+=("${o%% *}"); peer1+=("${p1%% *}"); peerauto+=("${pa%% *}")
        detail+=("round $round: ours $o | ffmpeg threads=1 $p1 | ffmpeg threads=auto $pa")
        say "${detail[-1]}"
    done

    load1=$(cut -d' ' -f1-3 /proc/loadavg)

    m_ours=$(printf '%s\n' "${ours[@]}" | median)
    m_peer1=$(printf '%s\n' "${peer1[@]}" | median)
    m_peerauto=$(printf '%s\n' "${peerauto[@]}" | median)
    r1=$(ratio "$m_ours" "$m_peer1")
    ra=$(ratio "$m_ours" "$m_peerauto")
}

# --- latency -----------------------------------------------------------------

cleanup() {
    "$ROOT/conf/platform.sh" nginx stop 2>/dev/null || true
    "$ROOT/conf/platform.sh" redis stop 2>/dev/null || true
    "$ROOT/conf/platform.sh" pg stop 2>/dev/null || true
}

latency_part() {
    local key conninfo

    trap cleanup EXIT

    "$ROOT/conf/platform.sh" pg start
    "$ROOT/conf/platform.sh" redis start
    "$ROOT/conf/platform.sh" db-reset >/dev/null
    # broadcast ids start again at 1: no playlists of an earlier run
    rm -rf "$VAR/hls"
    "$ROOT/conf/platform.sh" nginx start

    conninfo="host=127.0.0.1 port=$PG_PORT dbname=twitch user=twitch \
password=twitch"
    key=$(psql "$conninfo" -X -tA -c \
          "SELECT stream_key FROM channels WHERE name = '$CHANNEL'")
    [ -n "$key" ] || { echo "bench: no channel $CHANNEL" >&2; exit 1; }

    mkdir -p "$VAR/latency"
    lat=$(BENCH_STREAM_KEY=$key perl "$HERE/latency.pl" \
          --base "http://127.0.0.1:$HTTP_PORT" --channel "$CHANNEL" \
          --rtmp "rtmp://127.0.0.1:$RTMP_PORT/live" --clip "$CLIP" \
          --duration "$DURATION" --poll-ms "$POLL_MS" --work "$VAR/latency")
    printf '%s\n' "$lat" >"$VAR/latency/result.txt"
    load2=$(cut -d' ' -f1-3 /proc/loadavg)

    cleanup
    trap - EXIT
}

L() { printf '%s\n' "$lat" | sed -n "s/^$1=//p"; }

CHANNEL=shroud
BAR_LAT=$((SEGMENT + 1))

case " $PARTS " in *" cpu "*) cpu_part ;; esac
case " $PARTS " in *" latency "*) latency_part ;; esac

# --- report ------------------------------------------------------------------

names="source"
for r in "${rungs[@]}"; do
    read -r h w fps vb ab <<<"$r"
    names+=", ${h}p$fps ${vb}k"
done

cat <<REPORT
### Video ladder ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))

Command: \`REPS=$REPS DURATION=$DURATION NOISE=$NOISE POLL_MS=$POLL_MS bench/video/run.sh\`

Clip: ${DURATION} s of 1080p30 \`testsrc2\` with temporal noise (strength
$NOISE), x264 6 Mbit/s, a keyframe every 2 s, stereo AAC 160k. Ladder
(from conf/nginx.conf.in): $names; preset $PRESET, VBV
maxrate = bit rate, bufsize = 2 s, a forced IDR on every source keyframe
(keyint infinite, no scenecut, closed GOP), ${SEGMENT} s MPEG-TS
segments, AAC 128k (64k below 240p).
REPORT

case " $PARTS " in *" cpu "*)
cat <<REPORT

**CPU per media second** (user + sys of the process and all its
threads, /usr/bin/time; both read the clip from a file as fast as they
can; ours, then the two peers, $REPS rounds, medians; load average
$load0 before, $load1 after):

| | CPU s per media s | ours / peer | bar | verdict |
| --- | --- | --- | --- | --- |
| ours: \`twitch_transcode --ladder $LADDER --preset $PRESET\` | $m_ours | | | |
| ffmpeg 5.1 CLI, \`-threads 1\` for the decoder and every encoder (as ours) | $m_peer1 | ${r1}× | ≤ 1.0× | $(verdict "$r1" 1.0) |
| ffmpeg 5.1 CLI, its default threads (decoder and x264: auto) | $m_peerauto | ${ra}× | ≤ 1.0× | $(verdict "$ra" 1.0) |

Rounds (CPU s per media s, user s, sys s, wall s):

$(printf '%s\n' "${detail[@]}" | sed 's/^/    /')

Threads. Ours: the main thread demuxes and decodes (H.264 in one thread
up to 1080p60), resamples the audio once and runs the two AAC encodes
(128k, 64k); one worker thread per CPU scales and encodes a group of
rungs of about equal pixel rate (on 2 CPUs: 720p | 480p, 360p, 160p),
x264 single-threaded in its worker; a thumbnail every 10 s. The peer:
one ffmpeg process whose main thread runs the filter graph and every
encoder in turn. With \`-threads 1 -filter_complex_threads 1\` its
decoder, scaling and x264 are single-threaded like ours (the cheapest
way to run it in CPU, and far from real time on 2 CPUs); by default
the decoder and x264 use frame threads. Both scale in a chain, 1080 →
720 → 480 → 360 → 160 (bicubic); the peer runs $((${#rungs[@]})) AAC
encodes (one per variant: its HLS muxer cannot share one) and makes no
thumbnails.
REPORT
;; esac

case " $PARTS " in *" latency "*)
cat <<REPORT

**Latency** through the platform: nginx with our modules and
nginx-rtmp, PostgreSQL and Redis on bench ports, conf/nginx.conf.in as
make run renders it (the same ladder and preset; twitch_live.sh runs the
transcoder); the clip published once with \`ffmpeg -re -c copy\` and the
stream key of the demo channel $CHANNEL; every variant playlist polled
over HTTP every $POLL_MS ms (bench/video/latency.pl); load average $load2
after.

| measure | value | bar | verdict |
| --- | --- | --- | --- |
| first frame published → master.m3u8 playable (every variant lists a segment and serves it) | $(L master_first_frame) s | | |
| the same from the publisher's start (RTMP connect, publish hook, transcoder start) | $(L master_launch) s | | |
| frame published → its segment listed in every variant, for a segment's first frame (the worst case): p50 / max | $(L seg_first_p50) / $(L seg_first_max) s | ≤ ${BAR_LAT} s (segment + 1 s) | $(verdict "$(L seg_first_max)" "$BAR_LAT") |
| the same for a segment's last frame: p50 / max | $(L seg_last_p50) / $(L seg_last_max) s | | |

A segment's media time is found by locating its first packets in the
clip (the source variant is a copy); $(L segments_located) segments
located, the first starting at media $(L media_first) s, $(L media_listed) s
listed of ${DURATION} s. Timed: $(L segments) segments (not the first,
listed before its playlist was polled, nor the last, cut at the end of
the stream). Largest gap between the first and the last variant listing
a segment: $(L variant_spread_max) s. Worst-frame delays, segment by
segment: $(L seg_first_all) s.
REPORT
;; esac
