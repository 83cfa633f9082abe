#!/usr/bin/env bash
# Benchmark rtgw with the shared wrk scenarios, the same way $SHARED_BENCH/run_peer.sh
# benchmarks the FastAPI peer (bench/run.sh calls both; this also runs alone).
#
# One pass = fresh SQLite file in a mktemp dir (synchronous left at rtgw's default, FULL),
# start `rtgw serve` on 127.0.0.1 (port 0 + --port-file unless RTGW_PORT is set),
# seed SEED_JOBS jobs with the peer's seed.py (as a BFF: bench/seed_as_bff.py), pre-flight one request of each scenario
# (bench/check_rtgw.py), warm up (each scenario, -c8, WARMUP), then for each scenario and
# each connection count:
#   wrk -t1 -c<N> -d<DURATION> --latency -s $SHARED_BENCH/wrk/<scenario>.lua
# with a fresh RTGW_RUN_ID per wrk run (no run ever replays another run's idempotency keys
# or event ids). Around each run it records the server's CPU time, /metrics, and the HTTP
# statuses in the server's own access log for that run. The server is stopped by PID.
#
# Env knobs:
#   RTGW_BIN    binary (default /work/main/build/release/src/app/rtgw)
#   PYTHON      python with httpx + jwt (default Debian's /usr/bin/python3)
#   CONNS       connection counts (default "32 8")
#   DURATION    wrk duration per run (default 10s)
#   SCENARIOS   default "submit event projection"
#   SEED_JOBS   jobs pre-created for event/projection (default 64, as the peer)
#   WARMUP      warm-up per scenario, not recorded (default 2s; 0 = none)
#   RTGW_PORT   listen port (default 0 = pick a free one)
#   RTGW_SERVE_ARGS  extra `rtgw serve` flags, e.g. "--io-threads 2"
#   BENCH_DATABASE_URL  store to run on instead of a fresh SQLite file, e.g. a PostgreSQL URL
#                       (migrated at start; use an empty database or schema per run)
#   KEEP_LOGS   1 = keep the full access log in OUTDIR (it is large: ~1 line per request)
#   OUTDIR      raw output (default ${TMPDIR:-/tmp}/rtgw-bench/rtgw-<timestamp>)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
. "$HERE/lib.sh"

PYTHON=${PYTHON:-/usr/bin/python3}
RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
CONNS=${CONNS:-"32 8"}
DURATION=${DURATION:-10s}
SCENARIOS=${SCENARIOS:-"submit event projection"}
SEED_JOBS=${SEED_JOBS:-64}
WARMUP=${WARMUP:-2s}
RTGW_PORT=${RTGW_PORT:-0}
RTGW_SERVE_ARGS=${RTGW_SERVE_ARGS:-}
KEEP_LOGS=${KEEP_LOGS:-0}
STAMP=$(date +%Y%m%d-%H%M%S)
OUTDIR=${OUTDIR:-${TMPDIR:-/tmp}/rtgw-bench/rtgw-$STAMP}
mkdir -p "$OUTDIR"
DUR_S=$(dur_secs "$DURATION")
WARM_S=0; [ "$WARMUP" = 0 ] || WARM_S=$(dur_secs "$WARMUP")
WRK_DIR=$SHARED_BENCH/wrk
PEER_DIR=$SHARED_BENCH/peers/fastapi_ref

[ -x "$RTGW_BIN" ] || { echo "RTGW_BIN=$RTGW_BIN is not an executable" >&2; exit 1; }
"$PYTHON" -c 'import jwt, httpx' 2>/dev/null || {
  echo "PYTHON=$PYTHON cannot import jwt/httpx (use Debian's /usr/bin/python3)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-bench-work.XXXXXX")
SECRET=bench-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export RTGW_JWT_SECRET=$SECRET            # read by the peer's seed.py / mint_token.py
export RTGW_TENANT=tenant-bench
export RTGW_JOBS_FILE=$WORK/jobs.txt
RUN=r$STAMP-$$
DB=$WORK/rtgw.db
LOG=$WORK/rtgw.log
PORT_FILE=$WORK/port

SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    stop_pid_rc "$SERVER_PID" 15
    echo "rtgw exit status after SIGTERM (cleanup): $STOP_RC" >> "$OUTDIR/server-exit.txt"
    SERVER_PID=
  fi
  if [ -f "$LOG" ]; then
    if [ "$KEEP_LOGS" = 1 ]; then cp "$LOG" "$OUTDIR/server.log"; fi
    rm -f "$LOG"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# Server: the JWT secret goes through the environment (not visible in ps).
# shellcheck disable=SC2206
EXTRA=($RTGW_SERVE_ARGS)
DB_URL=${BENCH_DATABASE_URL:-sqlite://$DB}
# The shared event scenario posts late `running` events round-robin over SEED_JOBS jobs, ~1,500
# per job in a 10 s run; the peer stores them all. rtgw refuses a job's 1,001st never-applied
# event by default (409 event_limit, docs/contracts/limits.md), so the bench raises the cap to
# do the same work (a binary from before the cap has no such flag).
CAP=()
SERVE_HELP=$("$RTGW_BIN" serve --help 2>&1 || true)
if [[ $SERVE_HELP == *--max-unapplied-events-per-job* ]]; then
  CAP=(--max-unapplied-events-per-job 1000000)
fi
CMD=("$RTGW_BIN" serve --listen "127.0.0.1:$RTGW_PORT" --database-url "$DB_URL" --migrate on
     --port-file "$PORT_FILE" --log-format json "${CAP[@]}" "${EXTRA[@]}")
RTGW_JWT_HS256_SECRET=$SECRET "${CMD[@]}" > "$OUTDIR/server.stdout" 2> "$LOG" &
SERVER_PID=$!

PORT=
for ((i = 0; i < 200; i++)); do   # <= 20 s
  if [ -s "$PORT_FILE" ]; then PORT=$(tr -dc 0-9 < "$PORT_FILE"); [ -n "$PORT" ] && break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  [ "$RTGW_PORT" != 0 ] && PORT=$RTGW_PORT   # binary without --port-file support: trust the flag
fi
if [ -z "$PORT" ] || ! wait_http_bounded "http://127.0.0.1:$PORT/api/health" 20 "$SERVER_PID"; then
  echo "rtgw did not become healthy; last log lines:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
fi
BASE=http://127.0.0.1:$PORT

{
  echo "rtgw conns=[$CONNS] duration=$DURATION seed_jobs=$SEED_JOBS warmup=$WARMUP port=$PORT"
  echo "cmd: ${CMD[*]}" | sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#'
  echo "binary: $RTGW_BIN ($(stat -c '%s bytes, modified %y' "$RTGW_BIN"))"
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$RTGW_BIN")/../../CMakeCache.txt" 2>/dev/null || true)
  echo "build type: ${bt:-unknown}"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src has uncommitted changes)')"
  echo "rtgw env overrides: $(env | grep -E '^RTGW_(IO_THREADS|ACCESS_LOG|LOG_|SQLITE|STORE)' | tr '\n' ' ')"
  echo "db dir: $WORK ($(df -PT "$WORK" | awk 'NR==2 {print $2}'))"
  echo "health: $(curl -s --max-time 2 "$BASE/api/health")"
  wrk -v 2>&1 | head -1 || true
} | tee "$OUTDIR/meta.txt"

timeout -k 5 120 "$PYTHON" "$ROOT/bench/seed_as_bff.py" "$PEER_DIR/seed.py" "$BASE" "$RTGW_TENANT" "$SEED_JOBS" "$RTGW_JOBS_FILE" "$RUN-seed"
RTGW_TOKEN=$("$PYTHON" "$PEER_DIR/mint_token.py" "$RTGW_TENANT" bench 86400)
export RTGW_TOKEN

if ! RTGW_TOKEN=$RTGW_TOKEN timeout -k 5 60 "$PYTHON" "$HERE/check_rtgw.py" "$BASE" "$RTGW_TENANT" \
     "$RTGW_JOBS_FILE" "$RUN-check" > "$OUTDIR/check.txt" 2>&1; then
  cat "$OUTDIR/check.txt"
  echo "WARNING: rtgw pre-flight failed (see above); the wrk runs will show non-2xx" >&2
fi
echo "pre-flight: $(grep -c '^PASS' "$OUTDIR/check.txt" || true) passed, $(grep -c '^FAIL' "$OUTDIR/check.txt" || true) failed"

# warm-up (not in the results, but non-2xx here is reported)
if [ "$WARM_S" -gt 0 ]; then
  for s in $SCENARIOS; do
    RTGW_RUN_ID=$RUN-warm-$s wrk_bounded "$WARM_S" -t1 -c8 -d"$WARMUP" --latency -s "$WRK_DIR/$s.lua" "$BASE" \
      > "$OUTDIR/warmup-$s.txt" 2>&1 || true
    wrk_summary "warmup rtgw $s c8" "$OUTDIR/warmup-$s.txt" >> "$OUTDIR/warmup.txt"
  done
  awk '$0 !~ /non2xx 0 / || $0 !~ /sockerr -$/ { print "WARNING warm-up: " $0 }' "$OUTDIR/warmup.txt" >&2
fi

CLK_TCK=$(getconf CLK_TCK)
log_statuses() {   # <from-byte> <to-byte>: "count status" lines from the access log slice
  local from=$1 to=$2
  tail -c +$((from + 1)) "$LOG" | head -c $((to - from)) \
    | grep -oE '"status":[ ]*[0-9]{3}' | tr -dc '0-9\n' | sort | uniq -c || true
}

for s in $SCENARIOS; do
  for c in $CONNS; do
    tag=$s-c$c
    raw=$OUTDIR/$tag.txt
    export RTGW_RUN_ID=$RUN-$tag     # unique ids per wrk run: no idempotent replays
    curl -s --max-time 2 "$BASE/metrics" > "$OUTDIR/$tag.metrics-before.txt" || true
    sleep 0.2
    log0=$(stat -c %s "$LOG"); cpu0=$(proc_cpu_ticks "$SERVER_PID"); t0=$(date +%s.%N)
    wrk_bounded "$DUR_S" -t1 -c"$c" -d"$DURATION" --latency -s "$WRK_DIR/$s.lua" "$BASE" > "$raw" 2>&1 || true
    t1=$(date +%s.%N); cpu1=$(proc_cpu_ticks "$SERVER_PID")
    sleep 0.3   # let the last access-log lines land
    log1=$(stat -c %s "$LOG")
    curl -s --max-time 2 "$BASE/metrics" > "$OUTDIR/$tag.metrics-after.txt" || true
    log_statuses "$log0" "$log1" > "$OUTDIR/$tag.statuses.txt"
    if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
      awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "server_cpu_s=%.2f wall_s=%.2f\n", (b - a) / hz, t1 - t0 }' > "$OUTDIR/$tag.cpu.txt"
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "rtgw died during $tag; last log lines:" >&2; tail -n 30 "$LOG" >&2 || true
      wrk_summary "rtgw $s c$c" "$raw" | tee -a "$OUTDIR/summary.txt"
      exit 1
    fi
    wrk_summary "rtgw $s c$c" "$raw" | tee -a "$OUTDIR/summary.txt"
  done
done

# keep what matters from the (huge) access log: start-up lines and anything not an info line
{ head -n 5 "$LOG"; echo "..."; grep -v '"level":"info"' "$LOG" | head -n 200; } \
  > "$OUTDIR/server-log-excerpt.txt" 2>/dev/null || true
echo "access log: $(stat -c %s "$LOG") bytes, $(wc -l < "$LOG") lines" >> "$OUTDIR/meta.txt"

stop_pid_rc "$SERVER_PID" 15; SERVER_PID=
echo "rtgw exit status after SIGTERM: $STOP_RC" | tee "$OUTDIR/server-exit.txt"
echo "raw output: $OUTDIR"
