"""Pre-flight for a benchmark target: send ONE request of each wrk scenario's exact shape
(bodies copied from the shared wrk/submit.lua and wrk/event.lua, same headers as
wrk/common.lua) and check the statuses the scenarios expect: submit 202 with a
submission_id, event 200, projection 200. Prints one line per check and the body of
any failure, so a run full of non-2xx is explained before wrk starts.

usage: RTGW_TOKEN=... python3 check_rtgw.py <base_url> <tenant> <jobs_file> <run_id>
Exit status: 0 all good, 1 a check failed.
"""
import json
import os
import sys

import httpx

base, tenant, jobs_file, run = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
token = os.environ["RTGW_TOKEN"].strip()
headers = {"Authorization": "Bearer " + token, "x-tenant-id": tenant,
           "Content-Type": "application/json"}
failures = 0


def check(name, resp, want, need_key=None):
    global failures
    ok = resp.status_code == want
    body = resp.text
    if ok and need_key:
        try:
            ok = need_key in resp.json()
        except ValueError:
            ok = False
    print("%s %-10s %d (want %d)%s" % ("PASS" if ok else "FAIL", name, resp.status_code, want,
                                       "" if ok else "  body: " + body[:500]))
    if not ok:
        failures += 1


with open(jobs_file) as f:
    job_id, sub_id = f.readline().split()[:2]

with httpx.Client(base_url=base, timeout=10) as c:
    jid = "%s-check-0" % run
    submit = ('{"tenant_id":"%s","workspace_id":"ws-bench","job_id":"%s",'
              '"idempotency_key":"%s","management_node_id":"mn-1",'
              '"execution_profile":{"queue_name":"default"},'
              '"resource_shape":{"cpu":2,"memory_mib":4096,"walltime_seconds":3600},'
              '"payload_ref":{"input_uri":"s3://bench/in/%s"},'
              '"requested_by":{"user_id":"bench"}}') % (tenant, jid, "idem-" + jid, jid)
    check("submit", c.post("/api/runtime/jobs:submit", content=submit, headers=headers), 202,
          "submission_id")
    ev = "%s-check-e" % run
    event = ('{"event_id":"%s","tenant_id":"%s","workspace_id":"ws-bench",'
             '"job_id":"%s","submission_id":"%s","execution_id":"ex-%s","state":"running",'
             '"occurred_at":"2024-01-01T00:00:00Z","trace_id":"tr-%s"}') % (
                 ev, tenant, job_id, sub_id, job_id, ev)
    check("event", c.post("/api/runtime/jobs/%s/events" % job_id, content=event,
                          headers=headers), 200)
    get_headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    r = c.get("/api/runtime/jobs/%s/projection" % job_id, headers=get_headers)
    check("projection", r, 200, "status")
    if r.status_code == 200:
        print("     projection body: %s" % json.dumps(r.json())[:300])
sys.exit(1 if failures else 0)
