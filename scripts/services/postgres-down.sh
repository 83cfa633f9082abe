#!/usr/bin/env bash
# Stops the PostgreSQL cluster that postgres-up.sh started (and only that one: without its marker
# file a running cluster was started by someone else and is left running). Idempotent.
set -uo pipefail
MARKER=${RTGW_PG_MARKER:-/tmp/rtgw-postgres-started-by-test}
[ -s "$MARKER" ] || exit 0
read -r VER NAME < "$MARKER"
if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$VER" "$NAME" stop; else sudo pg_ctlcluster "$VER" "$NAME" stop; fi
rm -f "$MARKER"
