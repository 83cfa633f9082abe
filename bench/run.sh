#!/usr/bin/env bash
# rtgw vs the FastAPI reference peer vs the nginx ceiling, in ONE run on this machine.
#
# The peer and run_ceilings.sh live in the shared reference bench, outside this repository
# (SHARED_BENCH). Without it (a fresh clone) this runs rtgw against the nginx ceiling alone, with
# the scenarios and nginx config copied in bench/reference/, and says how to add the peer.
#
# Per repetition (REPS):
#   1. ceilings: CEILINGS=full  -> $SHARED_BENCH/run_ceilings.sh (nginx `return 200` + fsync + SQLite)
#                CEILINGS=nginx -> bench/run_nginx.sh (the nginx part only, same config and labels)
#   2. for each connection count c in CONNS (the order peer/rtgw alternates between repetitions):
#        peer: $SHARED_BENCH/run_peer.sh with CONNS=c (fresh DB, smoke test, seed, warm-up, wrk)
#        rtgw: bench/run_rtgw.sh          with CONNS=c (fresh DB, seed, pre-flight, warm-up, wrk)
#      One pass per c because run_peer.sh reuses one RTGW_RUN_ID for all its wrk runs: a second
#      connection count in the same pass would replay the first one's idempotency keys and
#      event ids (cheap 202/200 replays instead of new writes).
# Then bench/report.py: medians over the repetitions, the rtgw/peer and rtgw/nginx ratios,
# the targets, and every non-2xx / socket error, to stdout and $RESULTS/REPORT.md.
#
# Env knobs:
#   CONNS       connection counts (default "32 8")
#   DURATION    wrk duration per run (default 10s)
#   REPS        repetitions; the report takes medians (default 1)
#   SCENARIOS   default "submit event projection"
#   CEILINGS    auto | full | nginx | none (default auto = full when $SHARED_BENCH has
#               run_ceilings.sh, else nginx; fsync/SQLite numbers are a bonus)
#   PEER        auto = run the peer when $SHARED_BENCH has it, 1 = required, 0 = skip (default auto)
#   RTGW        auto = run rtgw when `$RTGW_BIN serve --help` works, 1 = required, 0 = skip (default auto)
#   RTGW_BIN    default /work/main/build/release/src/app/rtgw
#   RTGW_SERVE_ARGS, WARMUP, SEED_JOBS, KEEP_LOGS: see bench/run_rtgw.sh
#   SHARED_BENCH  the shared reference bench directory (default /work/shared/bench when it
#               exists, else bench/reference/: no peer; `none` = bench/reference/)
#   PYTHON      Debian's python3 with fastapi/uvicorn/jwt/httpx (default /usr/bin/python3)
#   RESULTS     output directory (default ${TMPDIR:-/tmp}/rtgw-bench/run-<timestamp>)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
. "$HERE/lib.sh"

export PYTHON=${PYTHON:-/usr/bin/python3}
export CONNS=${CONNS:-"32 8"}
export DURATION=${DURATION:-10s}
export SCENARIOS=${SCENARIOS:-"submit event projection"}
export SHARED_BENCH
REPS=${REPS:-1}
CEILINGS=${CEILINGS:-auto}
PEER=${PEER:-auto}
RTGW=${RTGW:-auto}
export RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
RESULTS=${RESULTS:-${TMPDIR:-/tmp}/rtgw-bench/run-$(date +%Y%m%d-%H%M%S)}
DUR_S=$(dur_secs "$DURATION")
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "REPS must be a positive integer" >&2; exit 2; }
case "$CEILINGS" in auto|full|nginx|none) ;; *) echo "CEILINGS must be auto|full|nginx|none" >&2; exit 2 ;; esac

# ---- the reference peer: outside this repository, optional
ADD_PEER="To add the peer: SHARED_BENCH=/path/to/shared/bench bench/run.sh, where that directory is
      the shared reference bench (it has run_peer.sh and peers/fastapi_ref/; see bench/README.md)."
case "$PEER" in
  0) ;;
  1|auto)
    if peer_available; then PEER=1
    elif [ "$PEER" = 1 ]; then
      printf '%s\n' "PEER=1 but SHARED_BENCH=$SHARED_BENCH has no reference peer (run_peer.sh, peers/fastapi_ref/app.py)." "$ADD_PEER" >&2; exit 1
    else
      printf '%s\n' "NOTE: the FastAPI reference peer is not in this repository and SHARED_BENCH=$SHARED_BENCH" \
        "      does not have it: running rtgw against the nginx ceiling alone (no rtgw/peer ratios)." "$ADD_PEER" >&2
      PEER=0
    fi ;;
  *) echo "PEER must be auto|1|0" >&2; exit 2 ;;
esac
if [ "$CEILINGS" = auto ]; then
  if [ -r "$SHARED_BENCH/run_ceilings.sh" ]; then CEILINGS=full; else CEILINGS=nginx; fi
elif [ "$CEILINGS" = full ] && [ ! -r "$SHARED_BENCH/run_ceilings.sh" ]; then
  echo "CEILINGS=full needs \$SHARED_BENCH/run_ceilings.sh (SHARED_BENCH=$SHARED_BENCH); use CEILINGS=nginx or point SHARED_BENCH at the shared bench" >&2; exit 1
fi
# bench/reference/ holds copies of the shared files the rtgw side uses: say so if they drifted
if [ "$SHARED_BENCH" != "$BENCH_REFERENCE" ]; then
  (cd "$BENCH_REFERENCE" && find . -type f ! -name README.md) | while read -r f; do
    cmp -s "$BENCH_REFERENCE/$f" "$SHARED_BENCH/$f" \
      || echo "NOTE: bench/reference/${f#./} differs from $SHARED_BENCH/${f#./} (this run uses the latter; refresh the copy)" >&2
  done
fi

# ---- pre-flight
for t in wrk curl timeout awk; do
  command -v "$t" >/dev/null || { echo "missing tool: $t (run scripts/install-deps.sh --bench)" >&2; exit 1; }
done
[ "$CEILINGS" = none ] || command -v nginx >/dev/null || {
  echo "missing nginx (scripts/install-deps.sh --bench) or set CEILINGS=none" >&2; exit 1; }
if [ "$PEER" = 1 ]; then
  "$PYTHON" -c 'import fastapi, uvicorn, jwt, httpx' 2>/dev/null || {
    echo "PYTHON=$PYTHON cannot import fastapi/uvicorn/jwt/httpx (Debian's /usr/bin/python3; scripts/install-deps.sh --bench)" >&2; exit 1; }
fi
for p in 18080 18081; do   # the shared scripts' fixed ports (peer, nginx)
  if port_busy "$p"; then echo "port $p is already in use: a stale peer/nginx? stop it first" >&2; exit 1; fi
done
case "$RTGW" in
  0) ;;
  1|auto)
    if [ -x "$RTGW_BIN" ] && timeout 10 "$RTGW_BIN" serve --help >/dev/null 2>&1; then RTGW=1
    elif [ "$RTGW" = 1 ]; then echo "RTGW=1 but '$RTGW_BIN serve --help' does not work" >&2; exit 1
    else echo "NOTE: $RTGW_BIN missing or 'serve --help' fails: rtgw is skipped ($([ "$PEER" = 1 ] && echo 'peer + ')ceilings only)" >&2; RTGW=0
    fi ;;
  *) echo "RTGW must be auto|1|0" >&2; exit 2 ;;
esac

mkdir -p "$RESULTS"
CHILD=
on_exit() {
  # the stage scripts run under `timeout`, in their own process group; TERM reaches the whole group
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# stage <name> <seconds> <outdir> <command...>: bounded, logged; failures recorded, not fatal
FAILED=0
stage() {
  local name=$1 secs=$2 out=$3; shift 3
  local rc=0
  mkdir -p "$out"
  echo "--- $name (limit ${secs}s)"
  OUTDIR=$out timeout -k 15 "$secs" "$@" > >(tee "$out/stage.log") 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  if [ "$rc" -ne 0 ]; then
    FAILED=$((FAILED + 1))
    echo "$name: exit status $rc$([ "$rc" = 124 ] && echo ' (timed out)')" | tee -a "$RESULTS/failures.txt" >&2
  fi
  return 0
}

n_scen=$(wc -w <<<"$SCENARIOS"); n_conns=$(wc -w <<<"$CONNS")
{
  echo "date: $(date -Is)"
  echo "host: $(hostname) $(nproc) cpus, $(uname -sr), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "knobs: REPS=$REPS CONNS=[$CONNS] DURATION=$DURATION SCENARIOS=[$SCENARIOS] CEILINGS=$CEILINGS PEER=$PEER RTGW=$RTGW"
  echo "shared bench: $SHARED_BENCH$([ "$PEER" = 1 ] || echo ' (no peer)')"
  echo "rtgw: $RTGW_BIN $([ "$RTGW" = 1 ] && stat -c '(modified %y)' "$RTGW_BIN") ${RTGW_SERVE_ARGS:+args: $RTGW_SERVE_ARGS}"
  echo "tmp fs: $(df -PT "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}') (${TMPDIR:-/tmp})"
  echo "$(wrk -v 2>&1 | head -1); $(nginx -v 2>&1)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$RESULTS/meta.txt"

for r in $(seq "$REPS"); do
  echo "=== rep $r/$REPS"
  rep=$RESULTS/rep$r
  case "$CEILINGS" in
    full)  stage "rep$r ceilings" $((n_conns * 2 * (DUR_S + 3) + 120)) "$rep/ceilings" \
             bash "$SHARED_BENCH/run_ceilings.sh" ;;
    nginx) stage "rep$r nginx" $((n_conns * 2 * (DUR_S + 3) + 60)) "$rep/ceilings" \
             bash "$HERE/run_nginx.sh" ;;
  esac
  for c in $CONNS; do
    order="peer rtgw"; [ $((r % 2)) -eq 0 ] && order="rtgw peer"
    for who in $order; do
      if [ "$who" = peer ] && [ "$PEER" = 1 ]; then
        CONNS=$c stage "rep$r peer c$c" $((n_scen * (DUR_S + 3) + 180)) "$rep/peer-c$c" \
          bash "$SHARED_BENCH/run_peer.sh"
      elif [ "$who" = rtgw ] && [ "$RTGW" = 1 ]; then
        CONNS=$c stage "rep$r rtgw c$c" $((n_scen * (DUR_S + 8) + 240)) "$rep/rtgw-c$c" \
          bash "$HERE/run_rtgw.sh"
      fi
    done
  done
done

echo "=== report"
"$PYTHON" "$HERE/report.py" "$RESULTS" | tee "$RESULTS/REPORT.md"
echo "results: $RESULTS (REPORT.md, raw wrk output per rep)"
if [ "$FAILED" -gt 0 ]; then
  echo "WARNING: $FAILED stage(s) failed, see $RESULTS/failures.txt" >&2
  exit 1
fi
