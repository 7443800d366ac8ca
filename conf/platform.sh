#!/usr/bin/env bash
#
# Starts and stops the platform's private services: a PostgreSQL cluster,
# a Redis server and nginx with our modules, all under one var/ directory.
# PostgreSQL and Redis listen on loopback only, nginx on $LISTEN.  No
# system service is touched.
#
#   conf/platform.sh up | down | status
#   conf/platform.sh pg start|stop|status
#   conf/platform.sh redis start|stop|status
#   conf/platform.sh db             create role and database, migrate, seed
#   conf/platform.sh db-reset       drop the database and Redis data, then db
#   conf/platform.sh nginx start|stop|reload|conf
#   conf/platform.sh demo start|stop|status   the demo stream (make run)
#
# Settings (environment):
#   TWITCH_VAR   state directory            (default: <repo>/var)
#   LISTEN       address nginx listens on   (default: 127.0.0.1; make run
#                for HTTP and RTMP          passes 0.0.0.0)
#   HTTP_PORT    nginx HTTP                 (default: 8080)
#   RTMP_PORT    nginx RTMP                 (default: 1935)
#   PG_PORT      PostgreSQL                 (default: 54329)
#   REDIS_PORT   Redis                      (default: 63799)
#   TWITCH_SEED  apply the demo data: 1/0   (default: 1)
#   DEMO_CHANNEL channel of the demo stream that "up" starts, "" for none
#                                           (default: shroud)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${TWITCH_VAR:-$ROOT/var}
LISTEN=${LISTEN:-127.0.0.1}
HTTP_PORT=${HTTP_PORT:-8080}
RTMP_PORT=${RTMP_PORT:-1935}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
TWITCH_SEED=${TWITCH_SEED:-1}
DEMO_CHANNEL=${DEMO_CHANNEL-shroud}

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULES_DIR=${MODULES_DIR:-$ROOT/build/nginx/objs}
RTMP_MODULE=${RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}

DB_NAME=twitch
DB_USER=twitch
DB_PASSWORD=twitch
PG_CONNINFO="host=127.0.0.1 port=$PG_PORT dbname=$DB_NAME user=$DB_USER \
password=$DB_PASSWORD connect_timeout=3 options='-c timezone=UTC'"

PG_HOME=$VAR/pg
REDIS_DIR=$VAR/redis
NGINX_DIR=$VAR/nginx
LOG_DIR=$VAR/log

say() { printf '%s\n' "$*" >&2; }
die() { say "platform: $*"; exit 1; }

# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# "postgres" account that Debian's package creates.  When that account
# cannot reach var/ (a checkout under a private home directory), the
# cluster lives in /var/tmp and var/pg points to it.
if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
    mkdir -p "$VAR"
    if ! as_pg test -x "$VAR" 2>/dev/null; then
        PG_HOME=/var/tmp/twitch-pg-$(printf '%s' "$VAR" | md5sum | cut -c1-12)
    fi
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

PG_DATA=$PG_HOME/data
PG_RUN=$PG_HOME/run
PG_LOG=$PG_HOME/postgres.log

wait_for() {    # wait_for <seconds> <command...>
    local n=$(( $1 * 10 )); shift
    while ! "$@" >/dev/null 2>&1; do
        n=$(( n - 1 ))
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_running() {
    [ -f "$PG_DATA/postmaster.pid" ] &&
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_start() {
    mkdir -p "$PG_HOME" "$PG_RUN" "$LOG_DIR"

    if [ "$(id -u)" = 0 ]; then
        chown "$PG_USER" "$PG_HOME" "$PG_RUN"
        as_pg test -w "$PG_HOME" || die "user $PG_USER cannot write $PG_HOME"
    fi

    if [ "$PG_HOME" != "$VAR/pg" ]; then
        ln -sfn "$PG_HOME" "$VAR/pg"
    fi

    ln -sfn "$PG_LOG" "$LOG_DIR/postgres.log"

    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        say "postgres: creating a cluster in $PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 \
            --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
            >"$LOG_DIR/initdb.log" 2>&1 ||
            { cat "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
    fi

    if pg_running; then
        return 0
    fi

    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w \
        -t 30 -o "-p $PG_PORT -c listen_addresses=127.0.0.1 \
-c unix_socket_directories=$PG_RUN -c max_connections=200 \
-c fsync=${PG_FSYNC:-on}" start >/dev/null ||
        { tail -n 20 "$PG_LOG" >&2; die "postgres failed"; }

    say "postgres: up on 127.0.0.1:$PG_PORT"
}

pg_stop() {
    if pg_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop \
            >/dev/null
        say "postgres: stopped"
    fi
}

psql_admin() {
    as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" \
        -U postgres "$@"
}

db_setup() {
    psql_admin -d postgres -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'" | grep -q 1 ||
        psql_admin -d postgres -c \
            "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'"

    psql_admin -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1 ||
        psql_admin -d postgres -c \
            "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8'"

    "$ROOT/db/migrate.sh" "$PG_CONNINFO"

    if [ "$TWITCH_SEED" = 1 ]; then
        "$ROOT/db/seed.sh" "$PG_CONNINFO"
    fi
}

db_reset() {
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" FLUSHALL >/dev/null
    db_setup
}

redis_pid() { cat "$REDIS_DIR/redis.pid" 2>/dev/null || true; }

redis_running() {
    local pid
    pid=$(redis_pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

redis_start() {
    mkdir -p "$REDIS_DIR" "$LOG_DIR"

    if redis_running; then
        return 0
    fi

    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
        --dir "$REDIS_DIR" --logfile "$LOG_DIR/redis.log" \
        --save "${REDIS_SAVE:-60 1}" --appendonly no >/dev/null

    wait_for 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping ||
        { tail -n 20 "$LOG_DIR/redis.log" >&2; die "redis failed"; }

    say "redis: up on 127.0.0.1:$REDIS_PORT"
}

redis_stop() {
    local pid
    pid=$(redis_pid)

    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        wait_for 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null ||
            true
        say "redis: stopped"
    fi

    rm -f "$REDIS_DIR/redis.pid"
}

nginx_conf() {
    local user_line="" mod

    mkdir -p "$NGINX_DIR/conf" "$NGINX_DIR/tmp" "$VAR/hls" "$LOG_DIR"
    mkdir -p "$LOG_DIR/live"

    for mod in "$RTMP_MODULE" "$MODULES_DIR/ngx_http_twitch_module.so" \
               "$MODULES_DIR/ngx_http_twitch_chat_module.so"; do
        [ -f "$mod" ] || die "missing module $mod (run make build)"
    done

    # as root, the master drops the workers to www-data when that account
    # can reach the files the workers use; else they stay root
    if [ "$(id -u)" = 0 ]; then
        if runuser -u www-data -- test -x "$NGINX_DIR/tmp" 2>/dev/null &&
           runuser -u www-data -- test -x "$ROOT/conf" 2>/dev/null; then
            user_line="user www-data;"
            chown -R www-data "$NGINX_DIR/tmp" "$VAR/hls"
            # the transcoders' logs (they run as the workers)
            chown www-data "$LOG_DIR/live"
        else
            user_line="user root;"
        fi
    fi

    sed -e "s|@ROOT@|$ROOT|g" \
        -e "s|@VAR@|$VAR|g" \
        -e "s|@LISTEN@|$LISTEN|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@RTMP_PORT@|$RTMP_PORT|g" \
        -e "s|@PG_CONNINFO@|$PG_CONNINFO|g" \
        -e "s|@REDIS@|127.0.0.1:$REDIS_PORT|g" \
        -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@RTMP_MODULE@|$RTMP_MODULE|g" \
        -e "s|@MODULES_DIR@|$MODULES_DIR|g" \
        "$ROOT/conf/nginx.conf.in" >"$NGINX_DIR/conf/nginx.conf.new"

    "$NGINX" -t -q -p "$NGINX_DIR" -c conf/nginx.conf.new \
        -e "$LOG_DIR/nginx-error.log" ||
        die "the rendered nginx.conf does not pass nginx -t"

    mv "$NGINX_DIR/conf/nginx.conf.new" "$NGINX_DIR/conf/nginx.conf"
}

nginx_pid() { cat "$NGINX_DIR/nginx.pid" 2>/dev/null || true; }

nginx_running() {
    local pid
    pid=$(nginx_pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

nginx_start() {
    nginx_conf

    if nginx_running; then
        # a reload keeps the modules already loaded: restart for new ones
        if [ -n "$(find "$MODULES_DIR" -name '*.so' \
                       -newer "$NGINX_DIR/nginx.pid" 2>/dev/null)" ]; then
            nginx_stop
        else
            "$NGINX" -p "$NGINX_DIR" -c conf/nginx.conf \
                -e "$LOG_DIR/nginx-error.log" -s reload
            say "nginx: configuration reloaded"
            return 0
        fi
    fi

    "$NGINX" -p "$NGINX_DIR" -c conf/nginx.conf \
        -e "$LOG_DIR/nginx-error.log" ||
        die "nginx failed to start (see $LOG_DIR/nginx-error.log)"

    wait_for 10 port_open "$HTTP_PORT" ||
        die "nginx does not listen on $HTTP_PORT"

    say "nginx: up on 127.0.0.1:$HTTP_PORT (RTMP on 127.0.0.1:$RTMP_PORT)"
}

nginx_stop() {
    local pid
    pid=$(nginx_pid)

    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid"
        wait_for 15 sh -c "! kill -0 $pid" || kill -TERM "$pid" 2>/dev/null ||
            true
        say "nginx: stopped"
    fi
}

# The demo stream: rtmp-hooks/twitch_demo.sh publishes ffmpeg's test
# pattern with DEMO_CHANNEL's stream key, through the same RTMP ingest,
# transcoder and HLS as OBS would (and again after nginx restarts).
DEMO_DIR=$VAR/demo

demo_pid() { cat "$DEMO_DIR/demo.pid" 2>/dev/null || true; }

demo_running() {
    local pid
    pid=$(demo_pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

demo_start() {
    local key

    [ -n "$DEMO_CHANNEL" ] || return 0

    if ! [[ $DEMO_CHANNEL =~ ^[A-Za-z0-9_]{3,25}$ ]]; then
        die "DEMO_CHANNEL must be a channel name"
    fi

    if demo_running; then
        return 0
    fi

    key=$(psql_admin -d "$DB_NAME" -tA -c \
          "SELECT stream_key FROM channels
            WHERE lower(name) = lower('$DEMO_CHANNEL')") || key=""

    if [ -z "$key" ]; then
        say "demo: no channel \"$DEMO_CHANNEL\": no demo stream"
        return 0
    fi

    mkdir -p "$DEMO_DIR" "$LOG_DIR"

    TWITCH_DEMO_KEY=$key setsid "$ROOT/rtmp-hooks/twitch_demo.sh" \
        "rtmp://127.0.0.1:$RTMP_PORT/live" 640x360 30 \
        </dev/null >>"$LOG_DIR/demo.log" 2>&1 &
    echo $! >"$DEMO_DIR/demo.pid"

    say "demo: a test pattern is live on /$DEMO_CHANNEL" \
        "(HLS: /hls/$DEMO_CHANNEL/master.m3u8)"
}

demo_stop() {
    local pid
    pid=$(demo_pid)

    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait_for 10 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null ||
            true
        say "demo: stopped"
    fi

    rm -f "$DEMO_DIR/demo.pid"
}

status_line() {    # status_line <name> <running-test...>
    local name=$1; shift
    if "$@"; then say "$name: running"; else say "$name: stopped"; fi
}

cmd=${1:-}
sub=${2:-}

case "$cmd/$sub" in
    pg/start)       pg_start ;;
    pg/stop)        pg_stop ;;
    pg/status)      pg_running ;;
    redis/start)    redis_start ;;
    redis/stop)     redis_stop ;;
    redis/status)   redis_running ;;
    db/)            db_setup ;;
    db-reset/)      db_reset ;;
    nginx/start)    nginx_start ;;
    nginx/stop)     nginx_stop ;;
    nginx/reload)   nginx_start ;;
    nginx/conf)     nginx_conf ;;
    demo/start)     demo_start ;;
    demo/stop)      demo_stop ;;
    demo/status)    demo_running ;;
    up/)            pg_start; redis_start; db_setup; nginx_start; demo_start ;;
    down/)          demo_stop; nginx_stop; redis_stop; pg_stop ;;
    status/)
        status_line postgres pg_running
        status_line redis redis_running
        status_line nginx nginx_running
        status_line demo demo_running ;;
    *)
        sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2 ;;
esac
