#!/usr/bin/env bash
#
# REST API benchmark, one script, one run, same box (bench/RESULTS.md):
#
#   1. GET /api/health against plain nginx "return 200" in the same nginx
#      (same workers): bar >= 60 % of its requests per second;
#   2. GET /api/channels/live against pgbench running the very SQL of that
#      endpoint (extracted from the module's source) on the same database,
#      with as many clients as the API has pool connections: bar >= 50 %
#      of pgbench's transactions per second.  There is no response cache.
#
# Peer and ours alternate (ABAB...) REPS times; medians are compared.
#
#   bench/api/run.sh            # DURATION=5 REPS=3 CONNS=50 WORKERS=1 POOL=8
#
# Environment: DURATION (s per run), REPS, CONNS (wrk connections),
# WORKERS (nginx workers), POOL (PostgreSQL connections per worker).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/api
DURATION=${DURATION:-5}
REPS=${REPS:-3}
CONNS=${CONNS:-50}
WORKERS=${WORKERS:-1}
POOL=${POOL:-8}

export TWITCH_VAR=$ROOT/var/bench
export HTTP_PORT=18090 RTMP_PORT=18091 PG_PORT=25490 REDIS_PORT=26490
export PG_FSYNC=off REDIS_SAVE=""
VAR=$TWITCH_VAR
PG_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=twitch user=twitch \
password=twitch options='-c timezone=UTC'"
PGBENCH=/usr/lib/postgresql/15/bin/pgbench

for tool in wrk "$PGBENCH"; do
    command -v "$tool" >/dev/null ||
        { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done

make -s -C "$ROOT" build >/dev/null

cleanup() {
    [ -f "$VAR/nginx.pid" ] && kill -QUIT "$(cat "$VAR/nginx.pid")" \
        2>/dev/null || true
    "$ROOT/conf/platform.sh" redis stop 2>/dev/null || true
    "$ROOT/conf/platform.sh" pg stop 2>/dev/null || true
}
trap cleanup EXIT

"$ROOT/conf/platform.sh" pg start
"$ROOT/conf/platform.sh" redis start
"$ROOT/conf/platform.sh" db-reset >/dev/null
psql "$PG_CONNINFO" -X -q -v ON_ERROR_STOP=1 -f "$HERE/data.sql"

mkdir -p "$VAR/tmp"
sed -e "s|@VAR@|$VAR|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@REDIS_PORT@|$REDIS_PORT|g" -e "s|@PG_CONNINFO@|$PG_CONNINFO|g" \
    -e "s|@WORKERS@|$WORKERS|g" -e "s|@POOL@|$POOL|g" \
    -e "s|@RTMP_MODULE@|/usr/lib/nginx/modules/ngx_rtmp_module.so|g" \
    -e "s|@MODULES_DIR@|$ROOT/build/nginx/objs|g" \
    "$HERE/nginx.conf.in" >"$VAR/nginx.conf"

/usr/sbin/nginx -p "$VAR" -c "$VAR/nginx.conf" -e "$VAR/nginx-error.log"

base=http://127.0.0.1:$HTTP_PORT

for i in $(seq 50); do
    curl -sf "$base/api/health" >/dev/null && break
    sleep 0.1
done

curl -sf "$base/api/health" >/dev/null ||
    { echo "bench: the API does not answer" >&2; exit 1; }
curl -sf "$base/api/channels/live?limit=20" | grep -q '"isLive":true' ||
    { echo "bench: /api/channels/live returns no live channels" >&2; exit 1; }

# the SQL of /api/channels/live, as the module runs it
sql=$("$HERE/stmt_sql.pl" "$ROOT/ngx_twitch_module/ngx_http_twitch_channels.c" \
      channels_live)
{
    echo "\\set lim 20"
    echo "\\set off 0"
    printf '%s;\n' "$sql" | sed -e 's/\$1/:lim/g' -e 's/\$2/:off/g'
} >"$VAR/live.pgbench"

wrk_rps() {    # wrk_rps <url>
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$1" 2>&1 |
        awk '/^Requests\/sec:/ { print $2 }'
}

pgbench_tps() {
    "$PGBENCH" "$PG_CONNINFO" -n -M prepared -c $((POOL * WORKERS)) -j 1 \
        -T "$DURATION" -f "$VAR/live.pgbench" 2>&1 |
        awk '/^tps = / { print $3 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# warm up: statements prepared on every pool connection
wrk -t1 -c"$CONNS" -d2s "$base/api/channels/live?limit=20" >/dev/null
wrk -t1 -c"$CONNS" -d1s "$base/api/health" >/dev/null

plain=(); health=(); pgb=(); live=()

for r in $(seq "$REPS"); do
    plain+=("$(wrk_rps "$base/plain")")
    health+=("$(wrk_rps "$base/api/health")")
    pgb+=("$(pgbench_tps)")
    live+=("$(wrk_rps "$base/api/channels/live?limit=20")")
    echo "round $r: return200=${plain[-1]} health=${health[-1]}" \
         "pgbench=${pgb[-1]} live=${live[-1]}" >&2
done

m_plain=$(printf '%s\n' "${plain[@]}" | median)
m_health=$(printf '%s\n' "${health[@]}" | median)
m_pgb=$(printf '%s\n' "${pgb[@]}" | median)
m_live=$(printf '%s\n' "${live[@]}" | median)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
r_health=$(ratio "$m_health" "$m_plain")
r_live=$(ratio "$m_live" "$m_pgb")

verdict() { [ "$1" -ge "$2" ] && echo "pass" || echo "FAIL"; }

cat <<REPORT
### REST API ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))

Command: \`DURATION=$DURATION REPS=$REPS CONNS=$CONNS WORKERS=$WORKERS POOL=$POOL bench/api/run.sh\`
(wrk -t1 -c$CONNS, ${DURATION}s per run, peer and ours alternating, $REPS rounds, medians;
nginx $WORKERS worker(s), $POOL PostgreSQL connections per worker; pgbench -M prepared
with $((POOL * WORKERS)) clients running the SQL of /api/channels/live, limit 20, on the
same database: 2000 channels, 300 live)

| measure | peer | ours | ratio | bar | verdict |
| --- | --- | --- | --- | --- | --- |
| GET /api/health vs \`return 200\` (req/s) | $m_plain | $m_health | ${r_health} % | ≥ 60 % | $(verdict "$r_health" 60) |
| GET /api/channels/live vs pgbench (req/s vs tps) | $m_pgb | $m_live | ${r_live} % | ≥ 50 % | $(verdict "$r_live" 50) |

Rounds: return200 ${plain[*]}; health ${health[*]}; pgbench ${pgb[*]}; live ${live[*]}.
REPORT
