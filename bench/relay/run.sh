#!/usr/bin/env bash
# Projection lag under steady event load (issue 4's benchmark): rtgw serve with its in-process
# relay delivering to an nginx sink on loopback (`return 204`: the sink costs nothing, so the
# number is rtgw's), events posted by wrk at a fixed rate. Lag = outbox row committed -> sink
# answered 2xx (rtgw_projection_lag_seconds), read from /metrics before and after the run.
#
# Knobs: RATE (events/s, default 5000), DURATION (10s), CONNS (16), SEED_S (wrk seconds of
# submits to create jobs, default 8), RTGW_BIN, RESULTS.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/bench/lib.sh"
RATE=${RATE:-5000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
SEED_S=${SEED_S:-8}
RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
RESULTS=${RESULTS:-${TMPDIR:-/tmp}/rtgw-bench/lag-$(date +%Y%m%d-%H%M%S)}
PY=/usr/bin/python3
mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-lag.XXXXXX")
NGINX_PID= RTGW_PID=
cleanup() {
  [ -z "$RTGW_PID" ] || stop_pid_rc "$RTGW_PID" 20 || true
  [ -z "$NGINX_PID" ] || stop_pid_rc "$NGINX_PID" 10 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# -- the sink: nginx answering 204 to every POST ------------------------------------------------
mkdir -p "$WORK/nginx/tmp"
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  server { listen 127.0.0.1:18082; location / { return 204; } }
}
NGINX
nginx -p "$WORK/nginx/" -c "$WORK/nginx.conf" > "$RESULTS/nginx.log" 2>&1 &
NGINX_PID=$!

# -- rtgw with the relay ------------------------------------------------------------------------
SECRET=bench-secret-0123456789abcdef0123456789
TENANT=tenant-lag
"$RTGW_BIN" serve --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --database-url "sqlite://$WORK/rtgw.db" --jwt-hs256-secret "$SECRET" --access-log off \
  --projection-url http://127.0.0.1:18082/projection \
  --projection-secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw > "$RESULTS/rtgw.log" 2>&1 &
RTGW_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT
wait_http_bounded "$URL/api/health" 10 "$RTGW_PID"
export RTGW_TENANT=$TENANT RTGW_RUN_ID=lag$$
RTGW_TOKEN=$("$RTGW_BIN" dev token --secret "$SECRET" --tenant "$TENANT" --sub bench --ttl 3600)
export RTGW_TOKEN

drained() {  # waits (bounded) until the relay has nothing left to send
  for _ in $(seq 1 600); do
    if curl -s "$URL/api/health" | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["checks"]["projection_relay"]; sys.exit(0 if r["in_flight"]==0 and r["backlog"]==0 else 1)'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# -- seed jobs (their submits are relayed too, before the measurement) ----------------------------
RTGW_JOBS_OUT="$WORK/jobs.txt" wrk_bounded "$SEED_S" -t1 -c16 -d"${SEED_S}s" -s "$HERE/seed.lua" "$URL" \
  > "$RESULTS/seed.txt"
JOBS=$(wc -l < "$WORK/jobs.txt")
sleep 6  # the outbox stats behind /api/health refresh every 5 s
drained || echo "warning: seed backlog did not drain" >&2
sleep 6
drained || true

# -- steady events at RATE ------------------------------------------------------------------------
DELAY_MS=$("$PY" -c "print(max(0, int($CONNS * 1000 / $RATE) - 1))")
curl -s "$URL/metrics" > "$RESULTS/metrics-before.txt"
RTGW_JOBS_FILE="$WORK/jobs.txt" RTGW_DELAY_MS=$DELAY_MS wrk_bounded "$(dur_secs "$DURATION")" \
  -t1 -c"$CONNS" -d"$DURATION" --latency -s "$HERE/lifecycle.lua" "$URL" > "$RESULTS/events.txt"
sleep 6
drained || echo "warning: event backlog did not drain" >&2
curl -s "$URL/metrics" > "$RESULTS/metrics-after.txt"

EVENT_RATE=$(awk '/^Requests\/sec/ {print $2}' "$RESULTS/events.txt")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$RESULTS/events.txt")
LAG=$("$PY" "$HERE/lag_report.py" "$RESULTS/metrics-before.txt" "$RESULTS/metrics-after.txt")
echo "jobs_seeded=$JOBS target_rate=$RATE conns=$CONNS delay_ms=$DELAY_MS events_per_s=$EVENT_RATE non2xx=${NON2XX:-0} $LAG" \
  | tee "$RESULTS/summary.txt"
