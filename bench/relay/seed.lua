-- Seeds jobs for the projection-lag and watch fan-out benches: POST /api/runtime/jobs:submit
-- with unique ids, and writes "job_id submission_id workspace_id" per accepted job to
-- $RTGW_JOBS_OUT (wrk -t1 only). Workspace "ws-lag", or with $RTGW_WORKSPACES=N rotating over
-- ws-0 .. ws-<N-1> (bench/list_watch/watch_fanout.py).
local tenant = os.getenv("RTGW_TENANT")
local token = os.getenv("RTGW_TOKEN")
local run = os.getenv("RTGW_RUN_ID")
local workspaces = tonumber(os.getenv("RTGW_WORKSPACES") or "0")
local out = assert(io.open(assert(os.getenv("RTGW_JOBS_OUT")), "w"))
local counter = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
local fmt = '{"tenant_id":"%s","workspace_id":"%s","job_id":"%s","idempotency_key":"k-%s",' ..
  '"management_node_id":"node-lag","execution_profile":{"queue_name":"default"},' ..
  '"resource_shape":{"cpu":1,"memory_mib":512,"walltime_seconds":60},' ..
  '"payload_ref":{"input_uri":"inline://lag"},"requested_by":{"user_id":"bench"}}'

local function workspace(n)
  return workspaces > 0 and string.format("ws-%d", n % workspaces) or "ws-lag"
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d", run, counter)
  return wrk.format(nil, "/api/runtime/jobs:submit", nil,
    string.format(fmt, tenant, workspace(counter), id, id))
end

function response(status, headers, body)
  if status == 202 then
    local id = body:match('"job_id":"([^"]+)"')
    local sub = body:match('"submission_id":"([^"]+)"')
    local n = id and tonumber(id:match("-(%d+)$"))
    if id and sub and n then out:write(id, " ", sub, " ", workspace(n), "\n") end
  end
end

function done() out:close() end
