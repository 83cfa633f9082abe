#!/usr/bin/env bash
# One real job through gateway + `rtgw agent` + Slurm (the promotion gate's Slurm smoke, seed 003):
# starts a throwaway `rtgw serve` (port 0, temporary SQLite file), an agent with the slurm
# executor for node `smoke-node`, submits an inline demo job, and waits (bounded) until it is
# `completed` with a Slurm job id as its execution_id. Evidence (logs, the job detail) goes to
# --artifact-dir. Exit 0 on success, 1 on failure, 2 when Slurm or the binary is missing.
#
#   scripts/slurm-agent-smoke.sh --rtgw build/release/src/app/rtgw --artifact-dir DIR [--timeout S]
set -euo pipefail
RTGW=build/release/src/app/rtgw
ART=""
TIMEOUT=120
while [ $# -gt 0 ]; do
  case "$1" in
    --rtgw) RTGW=$2; shift 2 ;;
    --artifact-dir) ART=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "slurm-agent-smoke: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$RTGW" ] || { echo "slurm-agent-smoke: no rtgw binary at $RTGW" >&2; exit 2; }
command -v sbatch >/dev/null && scontrol ping 2>/dev/null | grep -q UP \
  || { echo "slurm-agent-smoke: Slurm is not up (scripts/services/slurm-up.sh)" >&2; exit 2; }
ART=${ART:-$(mktemp -d "${TMPDIR:-/tmp}/rtgw-slurm-smoke.XXXXXX")}
mkdir -p "$ART"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-slurm-smoke-work.XXXXXX")
chmod 0755 "$WORK"   # slurmd runs the job as this user, in this directory
PY=/usr/bin/python3
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
GW_PID= AGENT_PID=
cleanup() {
  [ -z "$AGENT_PID" ] || { kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null || true; }
  [ -z "$GW_PID" ] || { kill -TERM "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

"$RTGW" serve --listen 127.0.0.1:0 --port-file "$WORK/port" --database-url "sqlite://$WORK/gw.db" \
  --jwt-hs256-secret "$SECRET" --log-format text > "$ART/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "slurm-agent-smoke: the gateway did not start (see $ART/gateway.log)" >&2; exit 1; }
API="http://127.0.0.1:$(cat "$WORK/port")"
TENANT=smoke-tenant NODE=smoke-node
"$RTGW" dev token --secret "$SECRET" --tenant "$TENANT" --sub agent --node "$NODE" > "$WORK/node.token"
TOKEN=$("$RTGW" dev token --secret "$SECRET" --tenant "$TENANT" --sub smoke)

"$RTGW" agent --gateway-url "$API" --node-id "$NODE" --token-file "$WORK/node.token" \
  --executor slurm --journal "$WORK/agent.db" --work-dir "$WORK/jobs" --poll-interval-ms 500 \
  --log-format text > "$ART/agent.log" 2>&1 &
AGENT_PID=$!

JOB="smoke-$(date +%s)-$$"
curl -fsS -H "Authorization: Bearer $TOKEN" -H "content-type: application/json" \
  -X POST "$API/api/runtime/jobs:submit" -d '{
  "tenant_id": "'$TENANT'", "workspace_id": "'$TENANT'", "job_id": "'$JOB'",
  "idempotency_key": "'$JOB'", "management_node_id": "'$NODE'",
  "execution_profile": {"queue_name": "debug"},
  "resource_shape": {"cpu": 1, "memory_mib": 128, "walltime_seconds": 120},
  "payload_ref": {"input_uri": "inline://smoke/hello?sleep=1"},
  "requested_by": {"user_id": "smoke"}}' > "$ART/submit.json"

state=""
for _ in $(seq 1 "$((TIMEOUT * 2))"); do
  curl -fsS -H "Authorization: Bearer $TOKEN" "$API/api/runtime/jobs/$JOB/detail" > "$ART/detail.json" || true
  state=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$ART/detail.json" 2>/dev/null || true)
  case "$state" in completed|failed|cancelled) break ;; esac
  sleep 0.5
done
EXEC=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["events"][-1]["execution_id"] if d["events"] else "")' "$ART/detail.json" 2>/dev/null || true)
echo "job $JOB: state=$state execution_id=$EXEC" | tee "$ART/result.txt"
if [ "$state" = completed ] && [[ "$EXEC" =~ ^[0-9]+$ ]]; then
  scontrol show job -o "$EXEC" > "$ART/scontrol.txt" 2>&1 || true
  echo "SLURM SMOKE PASS"
  exit 0
fi
echo "SLURM SMOKE FAIL (see $ART/agent.log)" >&2
exit 1
