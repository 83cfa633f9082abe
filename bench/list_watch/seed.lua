-- Seeds jobs for the watch fan-out bench: POST /api/runtime/jobs:submit with unique ids, the
-- workspace rotating over $RTGW_WORKSPACES (ws-0 .. ws-N-1); writes
-- "job_id submission_id workspace_id" per accepted job to $RTGW_JOBS_OUT (wrk -t1 only).
local tenant = os.getenv("RTGW_TENANT")
local token = os.getenv("RTGW_TOKEN")
local run = os.getenv("RTGW_RUN_ID")
local workspaces = tonumber(os.getenv("RTGW_WORKSPACES") or "1000")
local out = assert(io.open(assert(os.getenv("RTGW_JOBS_OUT")), "w"))
local counter = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
local fmt = '{"tenant_id":"%s","workspace_id":"%s","job_id":"%s","idempotency_key":"k-%s",' ..
  '"management_node_id":"node-w","execution_profile":{"queue_name":"default"},' ..
  '"resource_shape":{"cpu":1,"memory_mib":512,"walltime_seconds":60},' ..
  '"payload_ref":{"input_uri":"inline://watch"},"requested_by":{"user_id":"bench"}}'

function request()
  counter = counter + 1
  local id = string.format("%s-%d", run, counter)
  local ws = string.format("ws-%d", counter % workspaces)
  return wrk.format(nil, "/api/runtime/jobs:submit", nil, string.format(fmt, tenant, ws, id, id))
end

function response(status, headers, body)
  if status == 202 then
    local id = body:match('"job_id":"([^"]+)"')
    local sub = body:match('"submission_id":"([^"]+)"')
    local n = id and tonumber(id:match("-(%d+)$"))
    if id and sub and n then out:write(id, " ", sub, " ", string.format("ws-%d", n % workspaces), "\n") end
  end
end

function done() out:close() end
