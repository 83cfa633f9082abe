#!/usr/bin/env bash
# nginx keep-alive ceiling only: the nginx part of $SHARED_BENCH/run_ceilings.sh, same config
# ($SHARED_BENCH/ceilings/nginx.conf: 127.0.0.1:18081, `return 200 '{"ok":true}'`, 2 workers),
# same wrk runs (no script, and $SHARED_BENCH/wrk/ok.lua), same summary labels, without the
# fsync/SQLite part. bench/run.sh uses it when CEILINGS=nginx.
#
# Env knobs: CONNS (default "32 8"), DURATION (10s), OUTDIR (${TMPDIR:-/tmp}/rtgw-bench/nginx-<timestamp>)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

CONNS=${CONNS:-"32 8"}
DURATION=${DURATION:-10s}
OUTDIR=${OUTDIR:-${TMPDIR:-/tmp}/rtgw-bench/nginx-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTDIR"
DUR_S=$(dur_secs "$DURATION")
URL=http://127.0.0.1:18081/

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-bench-nginx.XXXXXX")
NGINX_PID=
cleanup() { [ -z "$NGINX_PID" ] || stop_pid_rc "$NGINX_PID" 10; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

mkdir -p "$WORK/nginx/tmp"
nginx -v 2>&1 | tee "$OUTDIR/meta.txt"
nginx -p "$WORK/nginx/" -c "$SHARED_BENCH/ceilings/nginx.conf" > "$OUTDIR/nginx.log" 2>&1 &
NGINX_PID=$!
wait_http_bounded "$URL" 10 "$NGINX_PID"
curl -s --max-time 2 "$URL" > "$OUTDIR/nginx-body.txt"
wrk_bounded 2 -t1 -c8 -d2s "$URL" > /dev/null   # warm-up
for c in $CONNS; do
  wrk_bounded "$DUR_S" -t1 -c"$c" -d"$DURATION" --latency "$URL" > "$OUTDIR/nginx-c$c.txt"
  wrk_summary "nginx c$c" "$OUTDIR/nginx-c$c.txt" | tee -a "$OUTDIR/summary.txt"
  wrk_bounded "$DUR_S" -t1 -c"$c" -d"$DURATION" --latency -s "$SHARED_BENCH/wrk/ok.lua" "$URL" \
    > "$OUTDIR/nginx-lua-c$c.txt"
  wrk_summary "nginx+lua-request c$c" "$OUTDIR/nginx-lua-c$c.txt" | tee -a "$OUTDIR/summary.txt"
done
echo "raw output: $OUTDIR"
