#!/usr/bin/env bash
#
# Init script for the official postgres image (docker-compose.yml mounts it
# into /docker-entrypoint-initdb.d/ and db/ at /db).  The image runs it
# once, when the data volume is first created, while the server listens on
# its Unix socket only.  It applies the migrations and the demo data.
#
# Later schema changes on an existing volume:
#   docker compose exec postgres /db/migrate.sh "dbname=twitch user=twitch"

set -euo pipefail

conn="host=/var/run/postgresql dbname=${POSTGRES_DB:-twitch} user=${POSTGRES_USER:-twitch}"
export PGPASSWORD="${POSTGRES_PASSWORD:-}"

/db/migrate.sh "$conn"

if [ "${TWITCH_SEED_DEMO:-1}" = 1 ]; then
    /db/seed.sh "$conn"
fi
