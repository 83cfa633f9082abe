"""Gate 2-4 of the runtime runbook, end to end, plus the read shapes of the contract."""
from __future__ import annotations

from datetime import datetime, timezone

import jwt

from conftest import (TRACE_ID_RE, TS_MICROS_RE, UUID_RE, Api, event_body, make_token, submit_body,
                      uid)

JOB_FIELDS = {"job_id", "tenant_id", "workspace_id", "submission_id", "management_node_id",
              "state", "execution_profile", "resource_shape", "payload_ref", "requested_by",
              "result_ref", "error", "accepted_at", "updated_at", "trace_id",
              "projection_version"}
PROJECTION_FIELDS = {"job_id", "tenant_id", "workspace_id", "submission_id", "status", "state",
                     "projection_version", "updated_at", "result_ref", "error"}
EVENT_FIELDS = {"seq", "event_id", "execution_id", "state", "occurred_at", "received_at",
                "trace_id", "result_ref", "error", "applied"}


def parse_ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_runbook_gate_flow(api: Api):
    """Gate 2 (submit 202), Gate 3 (running + completed events), Gate 4 (reads), with one
    unscoped JWT whose sub is requested_by.user_id, on the default (--authz compat) server: the
    seeds' runbook flow passes unchanged under issue 16's authorization."""
    assert "scope" not in jwt.decode(api.token, options={"verify_signature": False})
    t = api.tenant
    body = submit_body(t, job_id=uid("job-gate"), requested_by={"user_id": "blackbox-user"})
    job_id = body["job_id"]

    r = api.submit(body)
    assert r.status_code == 202, r.text
    sub = r.json()
    assert set(sub) >= {"job_id", "submission_id", "accepted_at", "trace_id"}, sub
    assert sub["job_id"] == job_id
    assert UUID_RE.match(sub["submission_id"]), sub
    assert TS_MICROS_RE.match(sub["accepted_at"]), sub
    assert TRACE_ID_RE.match(sub["trace_id"]), sub
    assert r.headers["x-trace-id"] == sub["trace_id"]
    assert r.headers["content-type"].startswith("application/json")

    # freshly submitted: state submitted, projection queued, version 1
    j0 = api.job_ok(job_id)
    assert j0["state"] == "submitted"
    assert j0["projection_version"] == 1
    p0 = api.projection_ok(job_id)
    assert p0["status"] == "queued" and p0["state"] == "submitted"
    assert p0["projection_version"] == 1

    ev_run = event_body(t, job_id, sub["submission_id"], "running", event_id=uid("evt-running"),
                        execution_id="aiida-4242", occurred_at="2026-02-18T00:00:00Z")
    r = api.event(job_id, ev_run)
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "idempotent": False}

    j1 = api.job_ok(job_id)
    p1 = api.projection_ok(job_id)
    assert j1["state"] == "running" and p1["status"] == "running" and p1["state"] == "running"
    assert p1["projection_version"] > p0["projection_version"]

    ev_done = event_body(t, job_id, sub["submission_id"], "completed",
                         event_id=uid("evt-completed"), execution_id="aiida-4242",
                         occurred_at="2026-02-18T00:05:00Z",
                         result_ref={"output_uri": "s3://out/" + job_id})
    r = api.event(job_id, ev_done)
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "idempotent": False}

    job = api.job_ok(job_id)
    assert job["state"] == "completed"
    assert job["result_ref"] == {"output_uri": "s3://out/" + job_id}
    assert job["error"] is None

    detail = api.detail_ok(job_id)
    assert [e["event_id"] for e in detail["events"]] == [ev_run["event_id"], ev_done["event_id"]]
    assert [e["state"] for e in detail["events"]] == ["running", "completed"]
    assert all(e["applied"] is True for e in detail["events"])
    seqs = [e["seq"] for e in detail["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 2

    proj = api.projection_ok(job_id)
    assert proj["status"] == "finished"
    assert proj["state"] == "completed"
    assert proj["result_ref"] == {"output_uri": "s3://out/" + job_id}
    assert p0["projection_version"] < p1["projection_version"] < proj["projection_version"]
    assert proj["projection_version"] == 3
    assert job["projection_version"] == proj["projection_version"]


def test_job_read_echoes_submission(api: Api):
    body = submit_body(api.tenant, workspace_id="ws-" + uid("w"), management_node_id="mn-7",
                       execution_profile={"queue_name": "gpu-long"},
                       resource_shape={"cpu": 8, "memory_mib": 65536, "walltime_seconds": 7200},
                       payload_ref={"input_uri": "s3://bucket/in/x.json"},
                       requested_by={"user_id": "alice"})
    api.token = make_token(api.tenant, sub="alice")  # requested_by.user_id is the token's sub
    sub = api.submit_ok(body)
    job = api.job_ok(body["job_id"])
    assert JOB_FIELDS <= set(job), f"missing fields: {JOB_FIELDS - set(job)}"
    for k in ("job_id", "tenant_id", "workspace_id", "management_node_id", "execution_profile",
              "resource_shape", "payload_ref", "requested_by"):
        assert job[k] == body[k], (k, job[k], body[k])
    assert job["submission_id"] == sub["submission_id"]
    assert job["accepted_at"] == sub["accepted_at"]
    assert job["trace_id"] == sub["trace_id"]
    assert job["state"] == "submitted"
    assert job["result_ref"] is None and job["error"] is None
    assert job["projection_version"] == 1
    assert TS_MICROS_RE.match(job["accepted_at"]) and TS_MICROS_RE.match(job["updated_at"]), job
    assert parse_ts(job["updated_at"]) >= parse_ts(job["accepted_at"])
    now = datetime.now(timezone.utc)
    assert abs((now - parse_ts(job["accepted_at"])).total_seconds()) < 120, job["accepted_at"]

    proj = api.projection_ok(body["job_id"])
    assert PROJECTION_FIELDS <= set(proj), f"missing fields: {PROJECTION_FIELDS - set(proj)}"
    assert proj["job_id"] == body["job_id"] and proj["tenant_id"] == api.tenant
    assert proj["workspace_id"] == body["workspace_id"]
    assert proj["submission_id"] == sub["submission_id"]
    assert proj["status"] == "queued" and proj["state"] == "submitted"
    assert proj["result_ref"] is None and proj["error"] is None
    assert proj["updated_at"] == job["updated_at"]

    detail = api.detail_ok(body["job_id"])
    assert JOB_FIELDS <= set(detail)
    assert detail["events"] == []
    for k in JOB_FIELDS:
        assert detail[k] == job[k], k


def test_detail_event_fields(api: Api):
    body, sub = api.new_job()
    job_id = body["job_id"]
    ev = event_body(api.tenant, job_id, sub["submission_id"], "failed",
                    occurred_at="2026-02-18T01:02:03.5+02:00",
                    error={"code": "NonZeroExitCode", "message": "exit 3", "exit_code": 3})
    api.event_ok(job_id, ev)
    d = api.detail_ok(job_id)
    assert len(d["events"]) == 1
    e = d["events"][0]
    assert EVENT_FIELDS <= set(e), f"missing: {EVENT_FIELDS - set(e)}"
    assert e["event_id"] == ev["event_id"]
    assert e["execution_id"] == ev["execution_id"]
    assert e["state"] == "failed"
    assert e["trace_id"] == ev["trace_id"]
    assert e["error"] == ev["error"]
    assert e["result_ref"] is None
    assert e["applied"] is True
    assert isinstance(e["seq"], int)
    # occurred_at: same instant, emitted as RFC 3339 UTC with microseconds
    assert TS_MICROS_RE.match(e["occurred_at"]), e["occurred_at"]
    assert parse_ts(e["occurred_at"]) == parse_ts("2026-02-17T23:02:03.5+00:00")
    assert TS_MICROS_RE.match(e["received_at"]), e["received_at"]
    assert d["state"] == "failed" and d["error"] == ev["error"]
    proj = api.projection_ok(job_id)
    assert proj["status"] == "failed" and proj["error"] == ev["error"]
    assert proj["projection_version"] == 2


def test_full_lifecycle_projection_versions(api: Api):
    body, sub = api.new_job()
    job_id, sid = body["job_id"], sub["submission_id"]
    seen = [api.projection_ok(job_id)]
    for state, status in (("queued", "queued"), ("running", "running"),
                          ("cancelled", "cancelled")):
        extra = {"error": {"code": "Cancelled", "message": "by user"}} if state == "cancelled" else {}
        api.event_ok(job_id, event_body(api.tenant, job_id, sid, state, **extra))
        p = api.projection_ok(job_id)
        assert p["state"] == state and p["status"] == status, p
        seen.append(p)
    assert [p["projection_version"] for p in seen] == [1, 2, 3, 4]
    ups = [parse_ts(p["updated_at"]) for p in seen]
    assert ups == sorted(ups), "updated_at must not go backwards"
    assert api.job_ok(job_id)["error"] == {"code": "Cancelled", "message": "by user"}


def test_submit_boundary_values_accepted(api: Api):
    """The largest/smallest legal values of each ranged field are accepted and stored."""
    long_id = ("J" + uid("b").replace("-", "_") + "." + "x" * 128)[:128]
    body = submit_body(api.tenant, job_id=long_id,
                       workspace_id="w" * 256, management_node_id="m" * 256,
                       idempotency_key=(uid("k") + "k" * 256)[:256],
                       execution_profile={"queue_name": "q" * 256},
                       resource_shape={"cpu": 1024, "memory_mib": 16777216,
                                       "walltime_seconds": 31536000},
                       payload_ref={"input_uri": "s3:" + "p" * 4093},
                       requested_by={"user_id": "ü" * 10 + "u" * 200})
    assert len(body["idempotency_key"]) == 256
    assert len(body["payload_ref"]["input_uri"]) == 4096
    api.token = make_token(api.tenant, sub=body["requested_by"]["user_id"])
    sub = api.submit_ok(body)
    assert sub["job_id"] == long_id
    job = api.job_ok(long_id)
    assert job["resource_shape"] == body["resource_shape"]
    assert job["payload_ref"] == body["payload_ref"]
    assert job["requested_by"] == body["requested_by"]

    small = submit_body(api.tenant, job_id="a" + uid("").replace("-", ""),
                        resource_shape={"cpu": 1, "memory_mib": 1, "walltime_seconds": 1},
                        workspace_id="w", management_node_id="m",
                        execution_profile={"queue_name": "q"}, requested_by={"user_id": "u"},
                        payload_ref={"input_uri": "x:y"})
    api.token = make_token(api.tenant, sub="u")
    api.submit_ok(small)


def test_job_id_allowed_characters(api: Api):
    job_id = "A-z_0.9@~" + uid("c")
    sub = api.submit_ok(submit_body(api.tenant, job_id=job_id))
    assert sub["job_id"] == job_id
    assert api.job_ok(job_id)["job_id"] == job_id
    # events and the other reads work with the same id in the path
    api.event_ok(job_id, event_body(api.tenant, job_id, sub["submission_id"], "running"))
    assert api.projection_ok(job_id)["status"] == "running"
    assert len(api.detail_ok(job_id)["events"]) == 1


def test_cpu_float_with_integral_value_accepted(api: Api):
    body = submit_body(api.tenant, resource_shape={"cpu": 2.0, "memory_mib": 2048,
                                                   "walltime_seconds": 600})
    api.submit_ok(body)
    rs = api.job_ok(body["job_id"])["resource_shape"]
    assert rs["cpu"] == 2 and isinstance(rs["cpu"], int), rs


def test_charset_parameter_and_no_tenant_header(server):
    """`Content-Type: application/json; charset=utf-8` is JSON; x-tenant-id is optional."""
    a = Api(server, send_tenant_header=False)
    try:
        body = submit_body(a.tenant)
        r = a.submit(body, headers={"content-type": "application/json; charset=utf-8"})
        assert r.status_code == 202, r.text
        sid = r.json()["submission_id"]
        r = a.event(body["job_id"], event_body(a.tenant, body["job_id"], sid, "running"),
                    headers={"content-type": "application/json;charset=UTF-8"})
        assert r.status_code == 200, r.text
        assert a.job_ok(body["job_id"])["state"] == "running"
        assert a.detail_ok(body["job_id"])["events"][0]["state"] == "running"
        assert a.projection_ok(body["job_id"])["status"] == "running"
    finally:
        a.close()


def test_unknown_fields_ignored(api: Api):
    body = submit_body(api.tenant, future_field={"x": 1}, another=[1, 2, 3])
    body["resource_shape"]["gpu"] = 4
    sub = api.submit_ok(body)
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "running",
                    new_thing="ignored")
    api.event_ok(body["job_id"], ev)
    assert api.job_ok(body["job_id"])["state"] == "running"
