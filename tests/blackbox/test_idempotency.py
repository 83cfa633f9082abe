"""Idempotent replays (byte for byte), event replays, late / out-of-order events."""
from __future__ import annotations

import json

import pytest

from conftest import Api, Unchanged, assert_error, event_body, make_token, submit_body, uid

TRACEPARENT = "00-{}-00f067aa0ba902b7-01"


# ============================================================================================
# submit replays
# ============================================================================================
def test_submit_replay_is_byte_identical(api: Api):
    body = submit_body(api.tenant)
    first = api.submit(body)
    assert first.status_code == 202, first.text
    snap = Unchanged(api, [body["job_id"]])
    for _ in range(3):
        again = api.submit(body)
        assert again.status_code == 202, again.text
        assert again.content == first.content, (first.content, again.content)
    snap.check("replays")


def test_submit_replay_ignores_trace_context_and_headers(api: Api):
    """The stored response is returned, including the original trace_id, even when the replay
    carries another traceparent (its own x-trace-id header may differ)."""
    body = submit_body(api.tenant)
    first = api.submit(body, headers={"traceparent": TRACEPARENT.format("a" * 32)})
    assert first.status_code == 202
    assert first.json()["trace_id"] == "a" * 32
    again = api.submit(body, headers={"traceparent": TRACEPARENT.format("b" * 32)})
    assert again.status_code == 202
    assert again.content == first.content
    # without x-tenant-id
    again2 = api.submit(body, headers={"x-tenant-id": None})
    assert again2.content == first.content


@pytest.mark.parametrize("variant", ["key-order", "whitespace", "unknown-fields", "cpu-float",
                                     "unicode-escapes"])
def test_submit_replay_fingerprint_is_canonical(api: Api, variant):
    """Fingerprint = canonical JSON of the validated known fields: these are the same request."""
    body = submit_body(api.tenant, requested_by={"user_id": "us\u00e9r"})
    api.token = make_token(api.tenant, sub="us\u00e9r")  # requested_by.user_id is the token's sub
    first = api.submit(json.dumps(body))
    assert first.status_code == 202, first.text
    if variant == "key-order":
        def rev(v):
            return {k: rev(x) for k, x in reversed(list(v.items()))} if isinstance(v, dict) else v
        raw = json.dumps(rev(body))
        assert raw != json.dumps(body)
    elif variant == "whitespace":
        raw = json.dumps(body, indent=4, separators=(" ,  ", " :  "))
    elif variant == "unknown-fields":
        b2 = json.loads(json.dumps(body))
        b2["client_hint"] = {"v": 2}
        b2["resource_shape"]["gpu"] = 1
        raw = json.dumps(b2)
    elif variant == "cpu-float":
        b2 = json.loads(json.dumps(body))
        b2["resource_shape"]["cpu"] = 1.0
        raw = json.dumps(b2)
    else:  # the same strings, escaped differently
        raw = json.dumps(body, ensure_ascii=True).replace("us\\u00e9r", "\\u0075s\\u00E9r")
        assert raw != json.dumps(body, ensure_ascii=True)
    again = api.submit(raw)
    assert again.status_code == 202, again.text
    assert again.content == first.content


def test_submit_replay_after_job_progressed(api: Api):
    """The original 202 is returned even after the job moved on."""
    body = submit_body(api.tenant)
    first = api.submit(body)
    sid = first.json()["submission_id"]
    api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sid, "running"))
    api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sid, "completed",
                                            result_ref={"output_uri": "s3://o"}))
    again = api.submit(body)
    assert again.status_code == 202 and again.content == first.content
    assert api.job_ok(body["job_id"])["state"] == "completed"


def test_conflicting_replay_then_good_replay(api: Api):
    body = submit_body(api.tenant)
    first = api.submit(body)
    assert_error(api.submit(dict(body, management_node_id="mn-2")), 409, "idempotency_conflict")
    again = api.submit(body)
    assert again.status_code == 202 and again.content == first.content


# ============================================================================================
# event replays
# ============================================================================================
def test_event_replay_idempotent(api: Api):
    body, sub = api.new_job()
    jid = body["job_id"]
    ev = event_body(api.tenant, jid, sub["submission_id"], "running")
    api.event_ok(jid, ev, idempotent=False)
    snap = Unchanged(api, [jid])
    for _ in range(3):
        api.event_ok(jid, ev, idempotent=True)
    # reordered keys, unknown fields, another traceparent: still the same event
    reordered = dict(reversed(list(ev.items())))
    api.event_ok(jid, reordered, idempotent=True)
    api.event_ok(jid, dict(ev, extra_field="x"), idempotent=True)
    r = api.event(jid, ev, headers={"traceparent": TRACEPARENT.format("c" * 32)})
    assert r.status_code == 200 and r.json() == {"ok": True, "idempotent": True}
    snap.check("event replays")
    assert len(api.detail_ok(jid)["events"]) == 1


def test_event_replay_after_later_events(api: Api):
    body, sub = api.new_job()
    jid, sid = body["job_id"], sub["submission_id"]
    ev_run = event_body(api.tenant, jid, sid, "running")
    ev_done = event_body(api.tenant, jid, sid, "completed", result_ref={"output_uri": "s3://r"})
    api.event_ok(jid, ev_run)
    api.event_ok(jid, ev_done)
    snap = Unchanged(api, [jid])
    api.event_ok(jid, ev_run, idempotent=True)
    api.event_ok(jid, ev_done, idempotent=True)
    snap.check()
    d = api.detail_ok(jid)
    assert [e["event_id"] for e in d["events"]] == [ev_run["event_id"], ev_done["event_id"]]
    assert d["state"] == "completed" and d["projection_version"] == 3


def test_same_event_id_on_two_jobs_is_two_events(api: Api):
    """Event idempotency key is (tenant, job, event_id)."""
    a, a_sub = api.new_job()
    b, b_sub = api.new_job()
    evt = uid("evt")
    api.event_ok(a["job_id"], event_body(api.tenant, a["job_id"], a_sub["submission_id"],
                                         "running", event_id=evt))
    api.event_ok(b["job_id"], event_body(api.tenant, b["job_id"], b_sub["submission_id"],
                                         "completed", event_id=evt), idempotent=False)
    assert api.job_ok(a["job_id"])["state"] == "running"
    assert api.job_ok(b["job_id"])["state"] == "completed"


# ============================================================================================
# late / out-of-order events
# ============================================================================================
def test_late_events_stored_not_applied(api: Api):
    body, sub = api.new_job()
    jid, sid = body["job_id"], sub["submission_id"]
    t = api.tenant
    done = event_body(t, jid, sid, "completed", result_ref={"output_uri": "s3://final"},
                      occurred_at="2026-02-18T00:10:00Z")
    api.event_ok(jid, done)  # completed straight from submitted: applies (rank 3 > 0)
    after_done = api.job_ok(jid)
    assert after_done["state"] == "completed" and after_done["projection_version"] == 2

    late = [
        event_body(t, jid, sid, "running", occurred_at="2026-02-18T00:05:00Z"),
        event_body(t, jid, sid, "queued", occurred_at="2026-02-18T00:01:00Z"),
        event_body(t, jid, sid, "failed", occurred_at="2026-02-18T00:20:00Z",
                   error={"code": "Late", "message": "after terminal"}),
        event_body(t, jid, sid, "completed", result_ref={"output_uri": "s3://second"}),
        event_body(t, jid, sid, "cancelled"),
    ]
    for ev in late:
        r = api.event(jid, ev)
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "idempotent": False}, (ev["state"], r.text)
        job = api.job_ok(jid)
        assert job["state"] == "completed", f"state regressed after late {ev['state']}"
        assert job["projection_version"] == 2
        assert job["updated_at"] == after_done["updated_at"]
        assert job["result_ref"] == {"output_uri": "s3://final"}
        assert job["error"] is None

    d = api.detail_ok(jid)
    assert [e["event_id"] for e in d["events"]] == [done["event_id"]] + [e["event_id"] for e in late]
    assert [e["applied"] for e in d["events"]] == [True] + [False] * len(late)
    seqs = [e["seq"] for e in d["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # history keeps what each late event said
    assert d["events"][3]["error"] == {"code": "Late", "message": "after terminal"}
    assert d["events"][4]["result_ref"] == {"output_uri": "s3://second"}
    p = api.projection_ok(jid)
    assert p["status"] == "finished" and p["projection_version"] == 2


def test_duplicate_state_and_backwards_events(api: Api):
    body, sub = api.new_job()
    jid, sid, t = body["job_id"], sub["submission_id"], api.tenant
    versions = [api.projection_ok(jid)["projection_version"]]
    plan = [("running", True), ("running", False), ("queued", False), ("running", False),
            ("failed", True), ("running", False), ("completed", False)]
    for state, applied in plan:
        extra = {"error": {"code": "E1", "message": "x"}} if state == "failed" else {}
        api.event_ok(jid, event_body(t, jid, sid, state, **extra))
        p = api.projection_ok(jid)
        versions.append(p["projection_version"])
    assert versions == sorted(versions), f"projection_version decreased: {versions}"
    assert versions == [1, 2, 2, 2, 2, 3, 3, 3]
    d = api.detail_ok(jid)
    assert [e["state"] for e in d["events"]] == [s for s, _ in plan]
    assert [e["applied"] for e in d["events"]] == [a for _, a in plan]
    assert d["state"] == "failed" and d["error"] == {"code": "E1", "message": "x"}
    assert d["result_ref"] is None
    assert api.projection_ok(jid)["status"] == "failed"


def test_queued_then_running_then_late_queued(api: Api):
    body, sub = api.new_job()
    jid, sid, t = body["job_id"], sub["submission_id"], api.tenant
    api.event_ok(jid, event_body(t, jid, sid, "queued"))
    p = api.projection_ok(jid)
    assert p["state"] == "queued" and p["status"] == "queued" and p["projection_version"] == 2
    api.event_ok(jid, event_body(t, jid, sid, "running"))
    api.event_ok(jid, event_body(t, jid, sid, "queued"))
    p = api.projection_ok(jid)
    assert p["state"] == "running" and p["projection_version"] == 3
    assert [e["applied"] for e in api.detail_ok(jid)["events"]] == [True, True, False]


def test_occurred_at_does_not_reorder_history(api: Api):
    """History is in arrival order, whatever occurred_at says."""
    body, sub = api.new_job()
    jid, sid, t = body["job_id"], sub["submission_id"], api.tenant
    e1 = event_body(t, jid, sid, "running", occurred_at="2026-03-01T00:00:00Z")
    e2 = event_body(t, jid, sid, "completed", occurred_at="2026-01-01T00:00:00Z")
    api.event_ok(jid, e1)
    api.event_ok(jid, e2)
    d = api.detail_ok(jid)
    assert [e["event_id"] for e in d["events"]] == [e1["event_id"], e2["event_id"]]
    assert d["state"] == "completed"
