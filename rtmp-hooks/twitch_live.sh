#!/usr/bin/env bash
#
# twitch_live.sh: the transcoder of one live broadcast, kept running.
#
# nginx (ngx_http_twitch_live_module, "twitch_transcoder") starts it in
# the worker that holds the RTMP streams, when a publisher's key has been
# accepted and before the publisher is let in, and stops it with SIGTERM
# when the publish ends:
#
#   twitch_live.sh CHANNEL BROADCAST RTMP_URL MEDIA_ROOT LOG_DIR
#                  [twitch_transcode options: --ladder ... --preset ...]
#
#   CHANNEL     the channel: the RTMP stream's name after the publish hook
#               renamed it from the key
#   BROADCAST   the broadcast's id (streams.id)
#   RTMP_URL    the RTMP application, read back from 127.0.0.1
#   MEDIA_ROOT  the broadcast's live HLS in MEDIA_ROOT/CHANNEL/bBROADCAST,
#               its VOD in MEDIA_ROOT/CHANNEL/vods/BROADCAST
#   LOG_DIR     directory of transcode-CHANNEL.log
#
# The live master playlist and thumbnail are also published at the
# channel's stable URLs, MEDIA_ROOT/CHANNEL/master.m3u8 (its variants
# point into bBROADCAST/) and MEDIA_ROOT/CHANNEL/thumb.jpg: segment URLs
# then differ from one broadcast to the next (each restarts at seg_0.ts),
# so they can be cached for long.
#
# A transcoder that fails is started again with the same --broadcast, so
# the playlists continue after an EXT-X-DISCONTINUITY; one that ends
# normally (the stream ended) ends this script.  SIGTERM is passed on to
# the transcoder, which then ends the playlists (EXT-X-ENDLIST).

set -u

# the media is public: readable by all, writable by the workers only
umask 022

if [ $# -lt 5 ]; then
    echo "usage: $0 CHANNEL BROADCAST RTMP_URL MEDIA_ROOT LOG_DIR" \
         "[twitch_transcode options]" >&2
    exit 1
fi

name=$1
id=$2
rtmp=$3
media=$4
logs=$5
shift 5

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
transcoder=${TWITCH_TRANSCODE:-$here/twitch_transcode}
log=$logs/transcode-$name.log

# both become paths: our own values, checked all the same
if ! [[ $name =~ ^[A-Za-z0-9_]{3,25}$ && $id =~ ^[0-9]{1,19}$ ]]; then
    exit 1
fi

# nginx discards our output: the log must be writable by the worker user
if ! : >>"$log" 2>/dev/null; then
    log=/dev/null
fi

say() {
    printf '%s twitch_live[%d] %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        "$$" "$name" "$*" >>"$log" 2>/dev/null
}

stop=0
child=0

on_signal() {
    stop=1
    if [ "$child" -gt 0 ]; then
        kill -TERM "$child" 2>/dev/null
    fi
}

trap on_signal TERM INT HUP

chan=$media/$name
out=$chan/b$id

mkdir -p "$chan" 2>/dev/null

# the channel's master still names an earlier broadcast: gone until ours
if [ -f "$chan/master.m3u8" ] && ! grep -q "^b$id/" "$chan/master.m3u8"; then
    rm -f "$chan/master.m3u8"
fi

# copies the broadcast's master (prefixing its URIs) and links its
# thumbnail at the channel's URLs, when they changed
publish_files() {
    if [ -f "$out/master.m3u8" ] &&
       [ "$out/master.m3u8" -nt "$chan/master.m3u8" ]
    then
        sed "s|^\([^#]\)|b$id/\1|" "$out/master.m3u8" \
            >"$chan/.master.m3u8.tmp" 2>/dev/null &&
            mv -f "$chan/.master.m3u8.tmp" "$chan/master.m3u8"
    fi

    if [ -f "$out/thumb.jpg" ] && [ "$out/thumb.jpg" -nt "$chan/thumb.jpg" ]
    then
        ln -f "$out/thumb.jpg" "$chan/.thumb.jpg.tmp" 2>/dev/null &&
            mv -f "$chan/.thumb.jpg.tmp" "$chan/thumb.jpg"
    fi
}

delay=0

while [ "$stop" = 0 ]; do
    started=$SECONDS

    say "transcoding broadcast $id"

    "$transcoder" --input "$rtmp/$name" --out "$out" \
        --vod-dir "$chan/vods/$id" --broadcast "$id" \
        --log "$log" "$@" </dev/null >/dev/null 2>&1 &
    child=$!

    # a trapped signal interrupts the sleep; the transcoder's status is
    # kept for the last wait
    while kill -0 "$child" 2>/dev/null; do
        publish_files
        sleep 0.25 &
        wait $! 2>/dev/null
    done

    wait "$child"
    rc=$?
    child=0

    publish_files

    if [ "$stop" = 1 ]; then
        break
    fi

    case $rc in
        0)  say "the stream ended"; break ;;
        1)  say "the transcoder refused its options"; exit 1 ;;
        *)  say "the transcoder exited with status $rc: starting it again" ;;
    esac

    # at once after a crash, then backing off to 10 s if it keeps failing
    if [ $((SECONDS - started)) -ge 10 ]; then
        delay=0
    elif [ "$delay" = 0 ]; then
        delay=1
    else
        delay=$((delay * 2 > 10 ? 10 : delay * 2))
    fi

    if [ "$delay" -gt 0 ]; then
        sleep "$delay" &
        wait $! 2>/dev/null
    fi
done

exit 0
