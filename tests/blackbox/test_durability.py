"""Durability: every acknowledged write survives kill -9 and restart on the same SQLite file."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from conftest import Api, assert_error, event_body, make_token, submit_body, uid


@pytest.mark.slow
def test_kill9_mid_stream_loses_no_acknowledged_write(server_factory):
    srv = server_factory()
    tenant = uid("tenant")
    token = make_token(tenant, exp_in=3600)
    headers = {"authorization": "Bearer " + token, "x-tenant-id": tenant,
               "content-type": "application/json"}
    lock = threading.Lock()
    acked_submits: list[tuple[dict, bytes]] = []
    acked_events: list[dict] = []
    unexpected: list[str] = []
    transport_failures = []
    stop = threading.Event()

    def worker(n: int):
        with httpx.Client(base_url=srv.base_url, timeout=5) as c:
            while not stop.is_set():
                body = submit_body(tenant, job_id=uid(f"dur{n}"))
                try:
                    r = c.post("/api/runtime/jobs:submit", content=json.dumps(body), headers=headers)
                except httpx.TransportError as e:
                    transport_failures.append(repr(e))
                    return
                if r.status_code != 202:
                    unexpected.append(f"submit {r.status_code} {r.text[:200]}")
                    return
                with lock:
                    acked_submits.append((body, r.content))
                sid = r.json()["submission_id"]
                for state in ("running", "completed"):
                    extra = {"result_ref": {"output_uri": "s3://o/" + body["job_id"]}} \
                        if state == "completed" else {}
                    ev = event_body(tenant, body["job_id"], sid, state, **extra)
                    try:
                        r = c.post(f"/api/runtime/jobs/{body['job_id']}/events",
                                   content=json.dumps(ev), headers=headers)
                    except httpx.TransportError as e:
                        transport_failures.append(repr(e))
                        return
                    if r.status_code != 200 or r.json() != {"ok": True, "idempotent": False}:
                        unexpected.append(f"event {r.status_code} {r.text[:200]}")
                        return
                    with lock:
                        acked_events.append(ev)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        with lock:
            if len(acked_submits) + len(acked_events) >= 300:
                break
        if unexpected:
            break
        time.sleep(0.02)
    alive_at_kill = sum(t.is_alive() for t in threads)
    srv.kill9()  # mid-stream: the workers are still sending
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert not any(t.is_alive() for t in threads), "a worker hung after kill -9"
    assert not unexpected, f"non-2xx answers before the kill: {unexpected[:3]}"
    assert alive_at_kill == 4, "workers stopped before the kill; the stream was not live"
    assert len(acked_submits) >= 10, f"only {len(acked_submits)} submits acknowledged"
    assert srv.returncode == -9

    srv.restart()
    api = Api(srv, tenant=tenant, token=token)
    try:
        acked_ids = {ev["event_id"] for ev in acked_events}
        for body, raw in acked_submits:
            r = api.job(body["job_id"])
            assert r.status_code == 200, f"acknowledged submit {body['job_id']} lost: {r.text}"
            assert r.json()["submission_id"] == json.loads(raw)["submission_id"]
            d = api.detail_ok(body["job_id"])
            stored = {e["event_id"] for e in d["events"]}
            want = {e["event_id"] for e in acked_events if e["job_id"] == body["job_id"]}
            missing = want - stored
            assert not missing, f"acknowledged events lost for {body['job_id']}: {missing}"
            states = [e["state"] for e in d["events"] if e["event_id"] in acked_ids]
            if "completed" in states:
                assert d["state"] == "completed"
        # idempotency records survived too: replays are byte-identical / idempotent
        for body, raw in acked_submits[:: max(1, len(acked_submits) // 20)]:
            again = api.submit(body)
            assert again.status_code == 202 and again.content == raw
        for ev in acked_events[:: max(1, len(acked_events) // 20)]:
            api.event_ok(ev["job_id"], ev, idempotent=True)
        # and the restarted server takes new writes
        api.new_job()
    finally:
        api.close()


def test_clean_restart_keeps_data_and_idempotency(server_factory):
    srv = server_factory()
    api = Api(srv)
    body = submit_body(api.tenant)
    first = api.submit(body)
    assert first.status_code == 202
    sid = first.json()["submission_id"]
    ev = event_body(api.tenant, body["job_id"], sid, "running")
    api.event_ok(body["job_id"], ev)
    before = api.detail(body["job_id"]).content
    api.close()

    assert srv.stop() == 0
    srv.restart()
    api = Api(srv, tenant=api.tenant, token=api.token)
    try:
        assert api.detail(body["job_id"]).content == before
        again = api.submit(body)
        assert again.status_code == 202 and again.content == first.content
        assert_error(api.submit(dict(body, management_node_id="x")), 409, "idempotency_conflict")
        assert_error(api.submit(dict(body, idempotency_key=uid("k"))), 409, "job_id_conflict")
        api.event_ok(body["job_id"], ev, idempotent=True)
        assert_error(api.event(body["job_id"], dict(ev, state="failed")), 409, "event_conflict")
        api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sid, "completed"))
        d = api.detail_ok(body["job_id"])
        assert d["state"] == "completed" and d["projection_version"] == 3
        # seq keeps growing across restarts
        seqs = [e["seq"] for e in d["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == 2
    finally:
        api.close()


def test_kill9_right_after_single_ack(server_factory):
    srv = server_factory()
    api = Api(srv)
    body, sub = api.new_job()
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "failed",
                    error={"code": "OOM", "message": "killed", "exit_code": 137})
    api.event_ok(body["job_id"], ev)
    api.close()
    srv.kill9()
    srv.restart()
    api = Api(srv, tenant=api.tenant, token=api.token)
    try:
        job = api.job_ok(body["job_id"])
        assert job["state"] == "failed" and job["error"] == ev["error"]
        assert api.projection_ok(body["job_id"])["status"] == "failed"
    finally:
        api.close()
