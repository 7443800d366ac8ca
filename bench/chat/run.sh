#!/usr/bin/env bash
#
# Chat fan-out benchmark, one command, one run, same box (bench/RESULTS.md):
# our chat (ngx_twitch_chat: WebSocket, Redis pub/sub fan-out) against
# nchan (Debian's libnginx-mod-nchan, memory store) doing the same fan-out,
# on the same nginx binary with the same number of workers.
#
# For every N in NS: both servers are (re)started, N subscribers plus PUBS
# publishers connect to each (one room / one channel) with bench/chat/
# wsload.c, and then
#
#   1. memory per idle connection: the PSS (anonymous + shared memory) of
#      the nginx instance (master and workers) with every connection in
#      the room and idle, minus the PSS before they connected, / (N+PUBS);
#   2. the publish rate is stepped up: each value of TARGETS is an offered
#      number of deliveries per second, rate = target / (N + PUBS)
#      messages per second, for STEP_SECS (then up to DRAIN_SECS for the
#      last deliveries).  nchan and ours alternate at every step.  A side
#      falls behind when it delivers less than 99 % of what was sent
#      within the drain time, or its p99 publish-to-receive latency passes
#      LAT_LIMIT_MS (a backlog that grows during the step shows there);
#      such a step is run once more (the box is shared), and if it falls
#      behind again the side is not stepped further.
#
# Reported per step: deliveries/s, p50/p99 publish-to-receive, server CPU
# per delivery (run time of every thread of the nginx master and workers,
# user + system, from /proc/<pid>/task/*/schedstat; for ours also Redis
# and PostgreSQL, separately).
#
#   bench/chat/run.sh     # NS="1000 5000 10000" PUBS=100 WORKERS=1
#                         # STEP_SECS=5 DRAIN_SECS=3 LAT_LIMIT_MS=500
#
# Environment: NS, PUBS, WORKERS, TARGETS (deliveries/s), STEP_SECS,
# DRAIN_SECS, LAT_LIMIT_MS, TEXT_LEN (characters of our chat text), SETTLE
# (seconds before memory is read), BUILD (the build directory).
#
# Its own ports and directory: HTTP 18190 (ours) and 18191 (nchan),
# PostgreSQL 25590, Redis 26590, var/bench-chat (results.txt: every
# measurement; wsload.log: the load generator's messages).  The tables for
# bench/RESULTS.md go to stdout.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/chat
NS=${NS:-"1000 5000 10000"}
PUBS=${PUBS:-100}
WORKERS=${WORKERS:-1}
TARGETS=${TARGETS:-"10000 25000 50000 100000 150000 200000 300000 400000"}
STEP_SECS=${STEP_SECS:-5}
DRAIN_SECS=${DRAIN_SECS:-3}
LAT_LIMIT_MS=${LAT_LIMIT_MS:-500}
TEXT_LEN=${TEXT_LEN:-64}
SETTLE=${SETTLE:-3}
BUILD=${BUILD:-$ROOT/build}

export TWITCH_VAR=$ROOT/var/bench-chat
export HTTP_PORT=18190 RTMP_PORT=18192 PG_PORT=25590 REDIS_PORT=26590
export PG_FSYNC=off REDIS_SAVE=""
NCHAN_PORT=18191
VAR=$TWITCH_VAR
MODULES_DIR=$BUILD/nginx/objs
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
PG_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=twitch user=twitch \
password=twitch options='-c timezone=UTC'"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# the load generator holds N + PUBS sockets, each nginx worker as many
ulimit -n "$(ulimit -Hn)"
need=$(( $(printf '%s\n' $NS | sort -n | tail -1) + PUBS + 100 ))
[ "$(ulimit -n)" -ge "$need" ] ||
    die "ulimit -n is $(ulimit -n), $need are needed"
[ "$need" -le 16000 ] || die "at most 15900 connections per side"

mkdir -p "$VAR"

make -s -C "$ROOT" BUILD="$BUILD" deps
[ -f "$NCHAN_MODULE" ] ||
    die "nchan is missing: $NCHAN_MODULE (libnginx-mod-nchan, make deps)"
make -s -C "$ROOT" BUILD="$BUILD" \
    "$MODULES_DIR/ngx_http_twitch_module.so" \
    "$MODULES_DIR/ngx_http_twitch_chat_module.so" >/dev/null
cc -O2 -Wall -o "$VAR/wsload" "$HERE/wsload.c"

GEN_PIDS=()

stop_nginx() {    # stop_nginx <dir>
    local pid
    pid=$(cat "$1/nginx.pid" 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
}

stop_gens() {
    local p
    for p in "${GEN_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${GEN_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    GEN_PIDS=()
    exec 5>&- 6<&- 7>&- 8<&-
}

cleanup() {
    stop_gens
    stop_nginx "$VAR/ours"
    stop_nginx "$VAR/nchan"
    "$ROOT/conf/platform.sh" redis stop 2>/dev/null || true
    "$ROOT/conf/platform.sh" pg stop 2>/dev/null || true
}
trap cleanup EXIT

"$ROOT/conf/platform.sh" pg start
"$ROOT/conf/platform.sh" redis start
"$ROOT/conf/platform.sh" db-reset >/dev/null

psql_q() { psql "$PG_CONNINFO" -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

CHANNEL=$(psql_q "SELECT id FROM channels WHERE name = 'shroud'")
[ -n "$CHANNEL" ] || die "no demo channel"

# the publishers: accounts with the demo password, moderators of the
# channel (rate limit 100 messages per 30 s each)
psql_q "
INSERT INTO users (username, email, password_hash, display_name)
SELECT 'benchpub' || lpad(i::text, 4, '0'),
       'benchpub' || i || '@example.org', u.password_hash,
       'benchpub' || lpad(i::text, 4, '0')
  FROM generate_series(1, $PUBS) AS i, users AS u
 WHERE u.username = 'shroud';
INSERT INTO channel_moderators (channel_id, user_id)
SELECT $CHANNEL, id FROM users WHERE username LIKE 'benchpub%';" >/dev/null

render() {    # render <template> <dir> <port>
    mkdir -p "$2/tmp"
    sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" -e "s|@WORKERS@|$WORKERS|g" \
        -e "s|@REDIS_PORT@|$REDIS_PORT|g" -e "s|@PG_CONNINFO@|$PG_CONNINFO|g" \
        -e "s|@MODULES_DIR@|$MODULES_DIR|g" "$1" >"$2/nginx.conf"
}

render "$HERE/ours.conf.in" "$VAR/ours" "$HTTP_PORT"
render "$HERE/nchan.conf.in" "$VAR/nchan" "$NCHAN_PORT"

start_nginx() {    # start_nginx <dir> <port>
    stop_nginx "$1"
    /usr/sbin/nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    die "nginx in $1 does not answer on $2"
}

start_nginx "$VAR/ours" "$HTTP_PORT"

# a session per publisher, from the login endpoint
say "bench: logging in $PUBS publishers"
: >"$VAR/cookies"
for i in $(seq "$PUBS"); do
    name=$(printf 'benchpub%04d' "$i")
    c=$(curl -s -o /dev/null -D - -H 'Content-Type: application/json' \
            -d "{\"username\":\"$name\",\"password\":\"demo1234\"}" \
            "http://127.0.0.1:$HTTP_PORT/api/auth/login" |
        sed -n 's/^[Ss]et-[Cc]ookie: session=\([^;]*\).*/\1/p')
    [ -n "$c" ] || die "login of $name failed"
    echo "$c" >>"$VAR/cookies"
done

# a full join history (50 messages) from the start, as in a busy room
printf 'step 25 3 3\nquit\n' |
    "$VAR/wsload" --mode ours --port "$HTTP_PORT" --path /ws/chat \
        --channel "$CHANNEL" --subs 0 --pubs "$PUBS" \
        --cookies "$VAR/cookies" --pub-limit 100/31000 \
        --text-len "$TEXT_LEN" >/dev/null 2>>"$VAR/wsload.log" ||
    die "the first messages could not be sent"

children() { pgrep -P "$1" | paste -sd, -; }

# PSS of an nginx instance (master + workers): anonymous + shared, kB
pss_kb() {    # pss_kb <dir>
    local m p total=0 v
    m=$(cat "$1/nginx.pid")
    for p in $m $(pgrep -P "$m"); do
        v=$(awk '/^Pss_Anon:|^Pss_Shmem:/ { s += $2 } END { print s + 0 }' \
            "/proc/$p/smaps_rollup")
        total=$(( total + v ))
    done
    echo "$total"
}

kv() {    # kv <key> <line>: the value of key=value in a step line
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

step() {    # step <side> <rate> <secs> <drain>: prints the result line
    local line
    if [ "$1" = ours ]; then
        echo "step $2 $3 $4" >&5
        read -r -t 600 -u 6 line || die "ours: no step result"
    else
        echo "step $2 $3 $4" >&7
        read -r -t 600 -u 8 line || die "nchan: no step result"
    fi
    printf '%s\n' "$line"
}

judge() {    # judge <step line>: ok, or behind
    printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v lim="$LAT_LIMIT_MS" '
        { v[$1] = $2 }
        END {
            bad = v["delivered"] < 0.99 * v["expected"] ||
                  v["p99"] > lim || v["closed"] > 0 || v["capped"] > 0
            print bad ? "behind" : "ok"
        }'
}

# every result line, for the tables at the end
RES=$VAR/results.txt
: >"$RES"

ni=0
for N in $NS; do
    ni=$(( ni + 1 ))
    say "bench: N=$N subscribers + $PUBS publishers"

    start_nginx "$VAR/ours" "$HTTP_PORT"
    start_nginx "$VAR/nchan" "$NCHAN_PORT"

    om=$(cat "$VAR/ours/nginx.pid")
    nm=$(cat "$VAR/nchan/nginx.pid")
    pgm=$(head -1 "$VAR/pg/data/postmaster.pid")
    rpid=$(cat "$VAR/redis/redis.pid")

    # the pool connections are opened as the workers start
    sleep 1

    base_ours=$(pss_kb "$VAR/ours")
    base_nchan=$(pss_kb "$VAR/nchan")

    rm -f "$VAR"/gen-*.in "$VAR"/gen-*.out
    mkfifo "$VAR/gen-ours.in" "$VAR/gen-ours.out" \
           "$VAR/gen-nchan.in" "$VAR/gen-nchan.out"

    "$VAR/wsload" --mode ours --port "$HTTP_PORT" --path /ws/chat \
        --channel "$CHANNEL" --subs "$N" --pubs "$PUBS" \
        --cookies "$VAR/cookies" --pub-limit 100/31000 \
        --text-len "$TEXT_LEN" \
        --cpu "nginx=$om,$(children "$om")" --cpu "redis=$rpid" \
        --cpu "pg=$pgm,$(children "$pgm")" \
        <"$VAR/gen-ours.in" >"$VAR/gen-ours.out" 2>>"$VAR/wsload.log" &
    GEN_PIDS+=($!)
    exec 5>"$VAR/gen-ours.in" 6<"$VAR/gen-ours.out"

    "$VAR/wsload" --mode nchan --port "$NCHAN_PORT" --path /sub \
        --pub-path /pubsub --subs "$N" --pubs "$PUBS" \
        --cpu "nginx=$nm,$(children "$nm")" \
        <"$VAR/gen-nchan.in" >"$VAR/gen-nchan.out" 2>>"$VAR/wsload.log" &
    GEN_PIDS+=($!)
    exec 7>"$VAR/gen-nchan.in" 8<"$VAR/gen-nchan.out"

    read -r -t 600 -u 6 r_ours || die "ours: the connections failed"
    read -r -t 600 -u 8 r_nchan || die "nchan: the connections failed"
    say "bench: ours $r_ours; nchan $r_nchan"

    sleep "$SETTLE"

    mem_ours=$(( ($(pss_kb "$VAR/ours") - base_ours) * 1024 / (N + PUBS) ))
    mem_nchan=$(( ($(pss_kb "$VAR/nchan") - base_nchan) * 1024 /
                  (N + PUBS) ))
    echo "mem n=$N side=ours bytes=$mem_ours" >>"$RES"
    echo "mem n=$N side=nchan bytes=$mem_nchan" >>"$RES"
    say "bench: idle memory per connection: ours $mem_ours B," \
        "nchan $mem_nchan B"

    # warm-up; our chat message's size sets nchan's
    line=$(step ours 10 1 "$DRAIN_SECS")
    size=$(kv bytes "$line")
    echo "size ${size%.*}" >&7
    read -r -t 10 -u 8 _ || die "nchan: no answer to size"
    step nchan 10 1 "$DRAIN_SECS" >/dev/null

    # the side that goes first changes at every step (and every N)
    first=nchan; second=ours
    [ $(( ni % 2 )) = 1 ] || { first=ours; second=nchan; }
    behind_ours=0; behind_nchan=0

    for T in $TARGETS; do
        rate=$(awk -v t="$T" -v n=$(( N + PUBS )) \
               'BEGIN { printf "%.3f", t / n }')

        for side in $first $second; do
            eval "b=\$behind_$side"
            [ "$b" = 0 ] || continue

            line=$(step "$side" "$rate" "$STEP_SECS" "$DRAIN_SECS")
            verdict=$(judge "$line")
            tries=1

            if [ "$verdict" != ok ]; then
                # once more, after a pause: the box is shared
                say "bench: N=$N $side target=$T fell behind, once more"
                sleep "$DRAIN_SECS"
                line=$(step "$side" "$rate" "$STEP_SECS" "$DRAIN_SECS")
                verdict=$(judge "$line")
                tries=2
            fi

            echo "$line n=$N side=$side target=$T status=$verdict" \
                 "tries=$tries" >>"$RES"
            say "bench: N=$N $side target=$T: $verdict" \
                "dps=$(kv dps "$line") p50=$(kv p50 "$line")" \
                "p99=$(kv p99 "$line") cpu=$(kv cpu_nginx "$line")"

            [ "$verdict" = ok ] || eval "behind_$side=1"
        done

        [ "$behind_ours" = 1 ] && [ "$behind_nchan" = 1 ] && break
        side=$first; first=$second; second=$side
    done

    # idle again, after the traffic
    sleep "$SETTLE"
    mem_ours=$(( ($(pss_kb "$VAR/ours") - base_ours) * 1024 / (N + PUBS) ))
    mem_nchan=$(( ($(pss_kb "$VAR/nchan") - base_nchan) * 1024 /
                  (N + PUBS) ))
    echo "memafter n=$N side=ours bytes=$mem_ours" >>"$RES"
    echo "memafter n=$N side=nchan bytes=$mem_nchan" >>"$RES"

    echo quit >&5
    echo quit >&7
    stop_gens
    rm -f "$VAR"/gen-*.in "$VAR"/gen-*.out
done

stop_nginx "$VAR/ours"
stop_nginx "$VAR/nchan"

awk -f "$HERE/report.awk" -v pubs="$PUBS" -v workers="$WORKERS" \
    -v step_secs="$STEP_SECS" -v drain="$DRAIN_SECS" \
    -v lat="$LAT_LIMIT_MS" -v ns="$NS" -v targets="$TARGETS" \
    -v date="$(date -u +%Y-%m-%d)" -v cores="$(nproc)" \
    -v cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 |
              sed 's/^ //')" "$RES"
