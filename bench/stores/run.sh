#!/usr/bin/env bash
# API throughput by store and replica count (issue 4's benchmark): the shared wrk scenarios
# `submit` and `event` against
#   sqlite-1  one `rtgw serve` on a fresh SQLite file (the embedded default),
#   pg-1      one `rtgw serve` on PostgreSQL,
#   pg-2      two `rtgw serve` replicas on the same PostgreSQL schema,
# always with CONNS connections in total (pg-2: CONNS/2 per replica, two wrk processes at the
# same time; req/s summed, p50/p99 the worse of the two). Each configuration gets a fresh store
# (a new SQLite file; a new PostgreSQL schema, dropped after). Prints a Markdown table.
#
# Needs PostgreSQL (scripts/services/postgres-up.sh) and the bench packages
# (scripts/install-deps.sh --bench). Knobs: CONNS (32), DURATION (10s), CONFIGS
# ("sqlite-1 pg-1 pg-2"), SCENARIOS ("submit event"), PG_DSN, RTGW_BIN, RESULTS, SEED_JOBS (64).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/bench/lib.sh"
PY=/usr/bin/python3
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
CONFIGS=${CONFIGS:-"sqlite-1 pg-1 pg-2"}
SCENARIOS=${SCENARIOS:-"submit event"}
SEED_JOBS=${SEED_JOBS:-64}
PG_DSN=${PG_DSN:-postgresql://rtgw_pg:rtgw_pg@127.0.0.1:5432/rtgw_pg}
RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
RESULTS=${RESULTS:-${TMPDIR:-/tmp}/rtgw-bench/stores-$(date +%Y%m%d-%H%M%S)}
DUR_S=$(dur_secs "$DURATION")
WRK_DIR=$SHARED_BENCH/wrk
PEER_DIR=$SHARED_BENCH/peers/fastapi_ref
mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-stores.XXXXXX")
SECRET=bench-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export RTGW_JWT_SECRET=$SECRET RTGW_TENANT=tenant-bench
PIDS=()
SCHEMA=

stop_all() {
  local p
  for p in "${PIDS[@]}"; do stop_pid_rc "$p" 15 || true; done
  PIDS=()
  if [ -n "$SCHEMA" ]; then
    psql "$PG_DSN" -qAtc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    SCHEMA=
  fi
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

start_replica() {   # <db-url> <n>: starts one rtgw serve; appends to PIDS and PORTS
  local url=$1 n=$2
  local pf=$WORK/port-$n
  rm -f "$pf"
  RTGW_JWT_HS256_SECRET=$SECRET "$RTGW_BIN" serve --listen 127.0.0.1:0 --port-file "$pf" \
    --database-url "$url" --migrate on --log-format json > "$RESULTS/$CFG-replica$n.stdout" \
    2> "$WORK/replica$n.log" &
  PIDS+=($!)
  local i
  for ((i = 0; i < 200; i++)); do [ -s "$pf" ] && break; sleep 0.1; done
  PORTS+=("$(tr -dc 0-9 < "$pf")")
  wait_http_bounded "http://127.0.0.1:${PORTS[-1]}/api/health" 20 "${PIDS[-1]}"
}

ROWS=()
for CFG in $CONFIGS; do
  PORTS=()
  case $CFG in
    sqlite-1) URLS=("sqlite://$WORK/$CFG.db") ;;
    pg-1|pg-2)
      SCHEMA=bench_$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
      psql "$PG_DSN" -qAtc "CREATE SCHEMA $SCHEMA" >/dev/null
      sep='?'; [[ $PG_DSN == *\?* ]] && sep='&'
      u="$PG_DSN${sep}options=-csearch_path%3D$SCHEMA"
      if [ "$CFG" = pg-1 ]; then URLS=("$u"); else URLS=("$u" "$u"); fi ;;
    *) echo "unknown config $CFG (sqlite-1 | pg-1 | pg-2)" >&2; exit 1 ;;
  esac
  # The first replica migrates; the second starts once the schema is there.
  for i in "${!URLS[@]}"; do start_replica "${URLS[$i]}" "$i"; done
  N=${#PORTS[@]}
  PER=$((CONNS / N))
  BASE0=http://127.0.0.1:${PORTS[0]}
  export RTGW_JOBS_FILE=$WORK/$CFG-jobs.txt
  timeout -k 5 120 "$PY" "$ROOT/bench/seed_as_bff.py" "$PEER_DIR/seed.py" "$BASE0" "$RTGW_TENANT" "$SEED_JOBS" "$RTGW_JOBS_FILE" "seed-$CFG-$$" > /dev/null
  RTGW_TOKEN=$("$PY" "$PEER_DIR/mint_token.py" "$RTGW_TENANT" bench 86400)
  export RTGW_TOKEN
  for s in $SCENARIOS; do
    # warm-up, not recorded
    WARM_PIDS=()
    for i in "${!PORTS[@]}"; do
      RTGW_RUN_ID=warm-$CFG-$s-$i-$$ wrk_bounded 2 -t1 -c4 -d2s -s "$WRK_DIR/$s.lua" \
        "http://127.0.0.1:${PORTS[$i]}" > /dev/null 2>&1 &
      WARM_PIDS+=($!)
    done
    for p in "${WARM_PIDS[@]}"; do wait "$p" || true; done
    WRK_PIDS=()
    for i in "${!PORTS[@]}"; do
      RTGW_RUN_ID=run-$CFG-$s-$i-$$ wrk_bounded "$DUR_S" -t1 -c"$PER" -d"$DURATION" --latency \
        -s "$WRK_DIR/$s.lua" "http://127.0.0.1:${PORTS[$i]}" > "$RESULTS/$CFG-$s-r$i.txt" 2>&1 &
      WRK_PIDS+=($!)
    done
    for p in "${WRK_PIDS[@]}"; do wait "$p" || true; done
    for i in "${!PORTS[@]}"; do
      wrk_summary "$CFG $s replica$i c$PER" "$RESULTS/$CFG-$s-r$i.txt" | tee -a "$RESULTS/summary.txt"
    done
    ROWS+=("$("$PY" "$HERE/sum.py" "$CFG" "$s" "$N" "$PER" "$RESULTS"/"$CFG-$s"-r*.txt)")
  done
  # keep warnings/errors of the servers
  for i in "${!PORTS[@]}"; do
    grep -v '"level":"info"' "$WORK/replica$i.log" | head -n 50 > "$RESULTS/$CFG-replica$i-log-excerpt.txt" || true
  done
  stop_all
done

{
  echo "| config | scenario | replicas x conns | req/s | p50 | p99 | non-2xx | socket errors |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS/REPORT.md"
echo "raw output: $RESULTS"
