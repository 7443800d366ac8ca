#!/usr/bin/env bash
#
# twitch_demo.sh: a demo stream for "make run", so that a newcomer sees
# live video at once: ffmpeg's test pattern (testsrc2, 640x360 at 30 fps,
# light on a small machine) with a tone, x264 + AAC with 2 s keyframes,
# published like OBS would, to RTMP_URL with the stream key of a channel,
# and published again whenever it stops (nginx reloaded or restarted).
#
#   TWITCH_DEMO_KEY=<stream key> twitch_demo.sh rtmp://127.0.0.1:1935/live
#
# The key comes in the environment, not in the arguments; ffmpeg's own
# messages name the URL (with the key), so they are discarded.  SIGTERM
# stops ffmpeg and the script.

set -u

url=${1:?usage: TWITCH_DEMO_KEY=... $0 RTMP_URL [WxH] [FPS]}
size=${2:-640x360}
fps=${3:-30}
key=${TWITCH_DEMO_KEY:?the stream key is expected in TWITCH_DEMO_KEY}
unset TWITCH_DEMO_KEY

if ! [[ $key =~ ^[A-Za-z0-9_-]{32,128}$ && $size =~ ^[0-9]{2,4}x[0-9]{2,4}$ \
        && $fps =~ ^[0-9]{1,2}$ ]]; then
    echo "twitch_demo: bad arguments" >&2
    exit 1
fi

say() {
    printf '%s twitch_demo[%d]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" \
        "$*"
}

stop=0
child=0

on_signal() {
    stop=1
    if [ "$child" -gt 0 ]; then
        kill -INT "$child" 2>/dev/null
    fi
}

trap on_signal TERM INT HUP

delay=2

while [ "$stop" = 0 ]; do
    say "publishing the test pattern ($size, $fps fps)"
    started=$SECONDS

    ffmpeg -nostdin -hide_banner -loglevel quiet -re \
        -f lavfi -i "testsrc2=size=$size:rate=$fps" \
        -f lavfi -i "sine=frequency=440:beep_factor=2:sample_rate=48000" \
        -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p \
        -g $((2 * fps)) -keyint_min $((2 * fps)) -sc_threshold 0 -b:v 800k \
        -c:a aac -b:a 96k -f flv "$url/$key" </dev/null >/dev/null 2>&1 &
    child=$!

    while kill -0 "$child" 2>/dev/null; do
        wait "$child"
    done
    child=0

    [ "$stop" = 1 ] && break

    # nginx down or restarting, or the key refused: try again, slower
    if [ $((SECONDS - started)) -ge 30 ]; then
        delay=2
    else
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    fi

    say "the stream stopped: publishing again in $delay s"
    sleep "$delay" &
    wait $! 2>/dev/null
done

say "stopped"
exit 0
