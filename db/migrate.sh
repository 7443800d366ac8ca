#!/usr/bin/env bash
#
# Applies the schema migrations in db/migrations/ to a PostgreSQL database.
#
#   db/migrate.sh <conninfo-or-URL>
#   db/migrate.sh "host=127.0.0.1 port=5432 dbname=twitch user=twitch password=twitch"
#   db/migrate.sh postgresql://twitch:twitch@127.0.0.1:5432/twitch
#
# Migrations are files named NNN_name.sql, applied in name order.  Each
# pending file runs in its own transaction together with the row that
# records it in schema_migrations(version, checksum, applied_at), so a file
# is either applied completely and recorded, or not at all; the first
# failure stops the run (files applied before it stay applied).  Files must
# not contain BEGIN/COMMIT themselves.  Running the script again applies
# only files that are not recorded yet; concurrent runs are serialised with
# an advisory lock.  A recorded file whose contents changed afterwards is
# reported with a warning (it is never re-applied: add a new migration).
#
# Exit status: 0 on success (including "nothing to apply"), non-zero when a
# migration or the connection fails.
#
# Environment: MIGRATIONS_DIR overrides the directory of the .sql files.

set -euo pipefail
export LC_ALL=C

prog=${0##*/}

usage() {
    echo "usage: $prog <psql-conninfo-or-URL>" >&2
    exit 2
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
    usage
fi
case $1 in -h|--help) usage ;; esac

conn=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${MIGRATIONS_DIR:-$here/migrations}

# any number that is the same for every run; used as the advisory lock key
lock_key=7315420191

export PGAPPNAME=${PGAPPNAME:-twitch-migrate}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 -d "$conn")

die() {
    echo "$prog: $*" >&2
    exit 1
}

[ -d "$dir" ] || die "no migrations directory: $dir"

# collect and check the migration files
files=()
for f in "$dir"/*.sql; do
    [ -e "$f" ] || continue
    name=${f##*/}
    [[ $name =~ ^[0-9]{3}_[a-z0-9_]+\.sql$ ]] \
        || die "badly named migration (want NNN_name.sql): $name"
    if grep -Eiq '^[[:space:]]*(BEGIN|COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION)[[:space:]]*;' "$f"; then
        die "$name contains transaction control; migrate.sh wraps each file in a transaction"
    fi
    files+=("$f")
done

[ ${#files[@]} -gt 0 ] || die "no migrations in $dir"

# duplicate version numbers (e.g. 003_a.sql and 003_b.sql) are a mistake
dups=$(printf '%s\n' "${files[@]##*/}" | cut -c1-3 | uniq -d)
[ -z "$dups" ] || die "duplicate migration number(s): $dups"

# One psql session does everything: it holds a session advisory lock for
# the whole run (concurrent runs wait, then find nothing left to do), and
# applies each pending file in its own transaction together with its
# schema_migrations row.  Paths, versions and checksums are passed as psql
# variables (-v), so no quoting of file names is needed.
vars=()
script='SELECT pg_advisory_lock('"$lock_key"') AS locked \gset
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    checksum    text,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
'
i=0
for f in "${files[@]}"; do
    i=$((i + 1))
    name=${f##*/}
    vars+=(-v "f$i=$f" -v "v$i=${name%.sql}"
           -v "s$i=$(sha256sum "$f" | cut -d' ' -f1)")
    script+="
SELECT count(*) > 0 AS done,
       coalesce(bool_or(checksum IS DISTINCT FROM :'s$i' AND checksum IS NOT NULL), false) AS changed
  FROM schema_migrations WHERE version = :'v$i' \gset
\if :done
\if :changed
\\warn $prog: warning: :v$i.sql changed after it was applied, not re-applied
\endif
\else
\echo applying :v$i
BEGIN;
\i :f$i
INSERT INTO schema_migrations (version, checksum) VALUES (:'v$i', :'s$i');
COMMIT;
\echo applied :v$i
\endif
"
done

applied=0
failed=
status=
while IFS= read -r line; do
    case $line in
        "applying "*) failed=${line#applying } ;;
        "applied "*)  failed=; applied=$((applied + 1)); echo "$line" ;;
        "psql-exit "*) status=${line#psql-exit } ;;
        *)            echo "$line" ;;
    esac
done < <("${psql_cmd[@]}" "${vars[@]}" <<<"$script"; echo "psql-exit $?")

if [ "$status" != 0 ]; then
    if [ -n "$failed" ]; then
        die "FAILED: $failed.sql (rolled back; nothing of it was applied; $applied applied before it)"
    fi
    die "FAILED (psql exit status $status; $applied migration(s) applied)"
fi

if [ $applied -eq 0 ]; then
    echo "database is up to date (${#files[@]} migrations, none pending)"
else
    echo "$applied migration(s) applied"
fi
