#!/usr/bin/env bash
# Submit smoke (seed 000's runtime_submit_smoke): one job through submit -> running -> completed
# -> reads, against a running rtgw, with credentials from a `rtgw dev secrets` file and tokens
# from `rtgw dev token`. Exit 0 when every step answers as the contract says, 1 otherwise.
#
#   rtgw dev secrets --out .rtgw-dev.env
#   set -a; . .rtgw-dev.env; set +a; rtgw serve &            # the gateway, with those secrets
#   scripts/submit-smoke.sh --secrets .rtgw-dev.env --base-url http://127.0.0.1:8080
#
#   scripts/submit-smoke.sh --secrets FILE --start-server    # start a throwaway rtgw serve
#       (port 0, temporary SQLite file, or --database-url URL) for this run and stop it after
#
# Options: --base-url URL  --secrets FILE (required)  --tenant T (default smoke-tenant)
#          --rtgw BIN (default $RTGW, else build/release/src/app/rtgw)  --start-server
#          --database-url URL (with --start-server)  --job-id ID (default smoke-<random>)
#          --conformance  also run `rtgw conformance` (seed 000 gates 1-6) against the same server
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_URL=http://127.0.0.1:8080
SECRETS=""
TENANT=smoke-tenant
RTGW_BIN=${RTGW:-$ROOT/build/release/src/app/rtgw}
START=0
CONFORMANCE=0
DB_URL=""
JOB_ID="smoke-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --base-url) BASE_URL=$2; shift 2 ;;
    --secrets) SECRETS=$2; shift 2 ;;
    --tenant) TENANT=$2; shift 2 ;;
    --rtgw) RTGW_BIN=$2; shift 2 ;;
    --start-server) START=1; shift ;;
    --conformance) CONFORMANCE=1; shift ;;
    --database-url) DB_URL=$2; shift 2 ;;
    --job-id) JOB_ID=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "submit-smoke: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$SECRETS" ] || { echo "submit-smoke: --secrets FILE is required (rtgw dev secrets --out FILE)" >&2; exit 2; }
[ -r "$SECRETS" ] || { echo "submit-smoke: cannot read $SECRETS" >&2; exit 2; }
[ -x "$RTGW_BIN" ] || { echo "submit-smoke: no rtgw binary at $RTGW_BIN (--rtgw BIN)" >&2; exit 2; }
command -v curl >/dev/null || { echo "submit-smoke: curl is missing" >&2; exit 2; }

# Proxy-auth credentials from the secrets file (when it has them); nothing else is sourced.
PROXY_KEY=$(sed -n 's/^RTGW_PROXY_AUTH_KEY=//p' "$SECRETS" | tail -1)
PROXY_SECRET=$(sed -n 's/^RTGW_PROXY_AUTH_SECRET=//p' "$SECRETS" | tail -1)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-smoke.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$START" = 1 ]; then
  (set -a; . "$SECRETS"; set +a
   exec "$RTGW_BIN" serve --listen 127.0.0.1:0 --port-file "$WORK/port" \
     --database-url "${DB_URL:-sqlite://$WORK/smoke.db}" --access-log off) 2>"$WORK/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$WORK/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "submit-smoke: rtgw serve exited:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -s "$WORK/port" ] || { echo "submit-smoke: rtgw serve did not start" >&2; exit 1; }
  BASE_URL="http://127.0.0.1:$(cat "$WORK/port")"
fi

TOKEN=$("$RTGW_BIN" dev token --secrets-file "$SECRETS" --tenant "$TENANT" --sub smoke-user --ttl 10m)
NODE_TOKEN=$("$RTGW_BIN" dev token --secrets-file "$SECRETS" --tenant "$TENANT" --sub mgmt-node-1 --node mgmt-node-1 --ttl 10m)
HDR=(-H "x-tenant-id: $TENANT" -H "content-type: application/json")
if [ -n "$PROXY_KEY" ]; then HDR+=(-H "Modal-Key: $PROXY_KEY" -H "Modal-Secret: $PROXY_SECRET"); fi

fail=0
# call NAME EXPECTED_STATUS TOKEN METHOD PATH [BODY] -> body in $WORK/NAME.json
call() {
  local name=$1 want=$2 token=$3 method=$4 path=$5 body=${6:-}
  local args=(-sS -o "$WORK/$name.json" -w '%{http_code}' -X "$method" "${HDR[@]}")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$body" ] && args+=(--data-binary "$body")
  local code
  code=$(curl "${args[@]}" "$BASE_URL$path") || code=000
  if [ "$code" = "$want" ]; then
    printf 'ok    %-10s %s %s -> %s\n' "$name" "$method" "$path" "$code"
  else
    printf 'FAIL  %-10s %s %s -> %s (want %s): %s\n' "$name" "$method" "$path" "$code" "$want" \
      "$(head -c 300 "$WORK/$name.json" 2>/dev/null)"
    fail=1
  fi
}
field() { sed -nE 's/.*"'"$2"'":"([^"]*)".*/\1/p' "$WORK/$1.json" | head -1; }
expect() {  # expect NAME FIELD VALUE
  local got; got=$(field "$1" "$2")
  if [ "$got" = "$3" ]; then printf 'ok    %-10s %s = %s\n' "$1" "$2" "$3"
  else printf 'FAIL  %-10s %s = %s (want %s)\n' "$1" "$2" "$got" "$3"; fail=1; fi
}

start_ns=$(date +%s%N)
call health 200 "" GET "/api/health?deep=1"
echo "      health: $(head -c 400 "$WORK/health.json" 2>/dev/null)"
call submit 202 "$TOKEN" POST /api/runtime/jobs:submit '{
  "tenant_id": "'"$TENANT"'", "workspace_id": "'"$TENANT"'", "job_id": "'"$JOB_ID"'",
  "idempotency_key": "submit-'"$JOB_ID"'", "management_node_id": "mgmt-node-1",
  "execution_profile": {"queue_name": "default"},
  "resource_shape": {"cpu": 1, "memory_mib": 2048, "walltime_seconds": 3600},
  "payload_ref": {"input_uri": "inline://smoke/'"$JOB_ID"'"},
  "requested_by": {"user_id": "smoke-user"}}'
SUB=$(field submit submission_id)
for state in running completed; do
  call "$state" 200 "$NODE_TOKEN" POST "/api/runtime/jobs/$JOB_ID/events" '{
    "event_id": "evt-'"$state"'-'"$JOB_ID"'", "tenant_id": "'"$TENANT"'", "workspace_id": "'"$TENANT"'",
    "job_id": "'"$JOB_ID"'", "submission_id": "'"$SUB"'", "execution_id": "smoke-exec-1",
    "state": "'"$state"'", "occurred_at": "2026-02-18T00:00:00Z", "trace_id": "trace-smoke-'"$state"'",
    "result_ref": {"output_uri": "inline://smoke/'"$JOB_ID"'/out"}}'
done
call job 200 "$TOKEN" GET "/api/runtime/jobs/$JOB_ID"
expect job state completed
call projection 200 "$TOKEN" GET "/api/runtime/jobs/$JOB_ID/projection"
expect projection status finished
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
if [ "$CONFORMANCE" = 1 ]; then
  PROXY_ARGS=()
  [ -n "$PROXY_KEY" ] && PROXY_ARGS=(--proxy-key "$PROXY_KEY" --proxy-secret "$PROXY_SECRET")
  if "$RTGW_BIN" conformance --base-url "$BASE_URL" --token "$TOKEN" \
      --other-tenant-token "$("$RTGW_BIN" dev token --secrets-file "$SECRETS" --tenant "$TENANT-other" --ttl 10m)" \
      "${PROXY_ARGS[@]}" > "$WORK/conformance.txt"; then
    echo "ok    conformance $(tail -1 "$WORK/conformance.txt")"
  else
    echo "FAIL  conformance"; cat "$WORK/conformance.txt"; fail=1
  fi
fi
if [ "$fail" = 0 ]; then
  echo "SMOKE PASS job=$JOB_ID tenant=$TENANT base_url=$BASE_URL elapsed_ms=$elapsed_ms"
else
  echo "SMOKE FAIL job=$JOB_ID tenant=$TENANT base_url=$BASE_URL"
  [ -n "$SERVER_PID" ] && { echo "--- rtgw serve stderr (tail)"; tail -20 "$WORK/serve.log"; }
fi
exit $fail
