#!/usr/bin/env bash
# Starts a local PostgreSQL for the tests and prints the DSN rtgw's tests use.
# Idempotent: creates the cluster, role and database only when missing, starts the cluster only
# when it is down. No systemd here: pg_ctlcluster (postgresql-common) starts the server directly.
# When this script started the cluster it leaves a marker, so postgres-down.sh stops only a cluster
# it started (a PostgreSQL that was already running, e.g. someone else's, is left alone).
#
#   scripts/services/postgres-up.sh        -> prints e.g. postgresql://rtgw_pg:rtgw_pg@127.0.0.1:5432/rtgw_pg
#
# Env: RTGW_PG_ROLE (default rtgw_pg; also the password and the database name).
set -euo pipefail
ROLE=${RTGW_PG_ROLE:-rtgw_pg}
MARKER=${RTGW_PG_MARKER:-/tmp/rtgw-postgres-started-by-test}

if ! command -v pg_lsclusters >/dev/null; then
  echo "postgres-up: PostgreSQL is not installed; run scripts/install-deps.sh" >&2
  exit 1
fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi
}
# Newest installed server version (bookworm: 15).
VER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VER main"; then
  if [ "$(id -u)" -eq 0 ]; then pg_createcluster "$VER" main >/dev/null; else sudo pg_createcluster "$VER" main >/dev/null; fi
fi
PORT=$(pg_lsclusters -h | awk -v v="$VER" '$1==v && $2=="main" {print $3}')
STATUS=$(pg_lsclusters -h | awk -v v="$VER" '$1==v && $2=="main" {print $4}')
if [ "$STATUS" != online ]; then
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$VER" main start; else sudo pg_ctlcluster "$VER" main start; fi
  echo "$VER main" > "$MARKER"
fi
for _ in $(seq 1 50); do
  as_postgres psql -p "$PORT" -Atqc 'select 1' >/dev/null 2>&1 && break
  sleep 0.2
done
if ! as_postgres psql -p "$PORT" -Atc "select 1 from pg_roles where rolname='$ROLE'" | grep -q 1; then
  # CREATEDB: the black-box suite and unit tests make a fresh schema or database per test server.
  as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qc "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$ROLE'"
fi
if ! as_postgres psql -p "$PORT" -Atc "select 1 from pg_database where datname='$ROLE'" | grep -q 1; then
  as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $ROLE OWNER $ROLE"
fi
DSN="postgresql://$ROLE:$ROLE@127.0.0.1:$PORT/$ROLE"
PGCONNECT_TIMEOUT=5 psql "$DSN" -Atqc 'select 1' >/dev/null
echo "$DSN"
