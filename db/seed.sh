#!/usr/bin/env bash
#
# Loads the demo data (db/seed/demo.sql) into a migrated database.
#
#   db/seed.sh <conninfo-or-URL>
#
# Safe to run again: every insert skips rows that already exist, so a second
# run changes nothing.  Refuses to run while migrations are pending.
# All demo accounts have the password "demo1234".

set -euo pipefail
export LC_ALL=C

prog=${0##*/}

if [ $# -ne 1 ] || [ -z "$1" ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    echo "usage: $prog <psql-conninfo-or-URL>" >&2
    exit 2
fi

conn=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seed=${SEED_FILE:-$here/seed/demo.sql}

export PGAPPNAME=${PGAPPNAME:-twitch-seed}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 -d "$conn")

[ -r "$seed" ] || { echo "$prog: cannot read $seed" >&2; exit 1; }

# every migration file must be recorded as applied
versions=()
for f in "$here"/migrations/*.sql; do
    [ -e "$f" ] || continue
    name=${f##*/}
    versions+=("${name%.sql}")
done

has_table=$("${psql_cmd[@]}" -At \
    -c "SELECT to_regclass('schema_migrations') IS NOT NULL") \
    || { echo "$prog: cannot connect" >&2; exit 1; }

if [ "$has_table" != t ]; then
    pending=all
else
    pending=$("${psql_cmd[@]}" -At -v list="${versions[*]}" <<'SQL'
SELECT coalesce(string_agg(v, ' ' ORDER BY v), '')
  FROM unnest(string_to_array(:'list', ' ')) AS v
 WHERE v NOT IN (SELECT version FROM schema_migrations);
SQL
    ) || { echo "$prog: cannot read schema_migrations" >&2; exit 1; }
fi

if [ -n "$pending" ]; then
    echo "$prog: migrations not applied ($pending); run db/migrate.sh first" >&2
    exit 1
fi

"${psql_cmd[@]}" --single-transaction -f "$seed" \
    || { echo "$prog: FAILED (rolled back)" >&2; exit 1; }

"${psql_cmd[@]}" -At -F ' ' <<'SQL'
SELECT 'demo data loaded; database now has ' ||
       (SELECT count(*) FROM categories) || ' categories, ' ||
       (SELECT count(*) FROM users) || ' users, ' ||
       (SELECT count(*) FROM channels) || ' channels, ' ||
       (SELECT count(*) FROM emotes) || ' emotes, ' ||
       (SELECT count(*) FROM followers) || ' follows, ' ||
       (SELECT count(*) FROM subscriptions) || ' subscriptions';
SQL
