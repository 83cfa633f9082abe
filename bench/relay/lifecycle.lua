-- Steady event load for the projection-lag bench: queued, then running, then completed for
-- every seeded job ($RTGW_JOBS_FILE: "job_id submission_id [workspace_id]" lines, as seed.lua
-- writes them), one pass per state so a job's events never race each other. Each connection
-- waits $RTGW_DELAY_MS after each response (rate control). Also bench/list_watch/watch_fanout.py's.
local tenant = os.getenv("RTGW_TENANT")
local token = os.getenv("RTGW_TOKEN")
local delay_ms = tonumber(os.getenv("RTGW_DELAY_MS") or "0")
local jobs = {}
for line in io.lines(assert(os.getenv("RTGW_JOBS_FILE"))) do
  local id, sub, ws = line:match("^(%S+)%s+(%S+)%s*(%S*)")
  if id then jobs[#jobs + 1] = { id = id, sub = sub, ws = ws ~= "" and ws or "ws-lag" } end
end
local states = { "queued", "running", "completed" }
local counter = -1
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
local fmt = '{"event_id":"%s:%s","tenant_id":"%s","workspace_id":"%s","job_id":"%s",' ..
  '"submission_id":"%s","execution_id":"x","state":"%s","occurred_at":"2026-01-01T00:00:00Z",' ..
  '"trace_id":"t"%s}'

function request()
  counter = counter + 1
  local job = jobs[(counter % #jobs) + 1]
  local state = states[(math.floor(counter / #jobs) % 3) + 1]
  local extra = state == "completed" and ',"result_ref":{"output_uri":"file:///o"}' or ""
  local body = string.format(fmt, job.sub, state, tenant, job.ws, job.id, job.sub, state, extra)
  return wrk.format(nil, "/api/runtime/jobs/" .. job.id .. "/events", nil, body)
end

function delay() return delay_ms end
