"""Concurrent submits and events: writes are serialized, idempotency holds under races."""
from __future__ import annotations

import json
import threading
from collections import Counter

import httpx

from conftest import Api, assert_error, db_counts, event_body, submit_body, uid

RANK = {"submitted": 0, "queued": 1, "running": 2, "completed": 3, "failed": 3, "cancelled": 3}


def run_concurrently(server, requests: list[tuple[str, str, bytes, dict]],
                     timeout: float = 30.0) -> list[httpx.Response]:
    """Fires every (method, path, body, headers) from its own thread and connection, released
    together by a barrier. Returns the responses in input order."""
    n = len(requests)
    barrier = threading.Barrier(n)
    results: list = [None] * n
    clients = [server.client(timeout=timeout) for _ in range(n)]

    def worker(i):
        method, path, body, headers = requests[i]
        try:
            barrier.wait(timeout=timeout)
            results[i] = clients[i].request(method, path, content=body, headers=headers)
        except Exception as e:  # recorded and asserted below
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout + 5)
    for c in clients:
        c.close()
    assert not any(t.is_alive() for t in threads), "a request thread hung"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} requests failed at transport level: {errors[:3]}"
    return results


def submit_req(api: Api, body) -> tuple[str, str, bytes, dict]:
    return ("POST", "/api/runtime/jobs:submit", json.dumps(body).encode(),
            api.headers({"content-type": "application/json"}))


def counts_delta(before, after):
    if before is None or after is None:
        return None
    return {t: after.get(t, 0) - before.get(t, 0) for t in set(before) | set(after)
            if after.get(t, 0) != before.get(t, 0)}


def one_submit_delta(api: Api):
    """Row-count change one ordinary submit causes (schema-agnostic yardstick). Measured on the
    tenant's second submit: its first also creates the tenant's change-feed head row."""
    api.new_job()
    before = db_counts(api.server)
    api.new_job()
    return counts_delta(before, db_counts(api.server))


def test_64_concurrent_identical_submits_create_one_job(api: Api):
    unit = one_submit_delta(api)
    body = submit_body(api.tenant)
    before = db_counts(api.server)
    results = run_concurrently(api.server, [submit_req(api, body)] * 64)
    statuses = Counter(r.status_code for r in results)
    assert statuses == {202: 64}, f"statuses: {statuses}; e.g. {[r.text for r in results if r.status_code != 202][:2]}"
    bodies = {r.content for r in results}
    assert len(bodies) == 1, f"{len(bodies)} different response bodies: {list(bodies)[:3]}"
    sub = json.loads(bodies.pop())
    job = api.job_ok(body["job_id"])
    assert job["submission_id"] == sub["submission_id"]
    # a later replay still gets the same bytes
    assert api.submit(body).content == results[0].content
    # exactly one job: the store grew exactly as for one submit
    delta = counts_delta(before, db_counts(api.server))
    if unit is not None and delta is not None:
        assert delta == unit, f"64 identical submits changed the store by {delta}, one submit by {unit}"
    assert_error(api.submit(dict(body, idempotency_key=uid("k"))), 409, "job_id_conflict")


def test_many_different_submits_concurrently(api: Api):
    unit = one_submit_delta(api)
    bodies = [submit_body(api.tenant) for _ in range(64)]
    before = db_counts(api.server)
    results = run_concurrently(api.server, [submit_req(api, b) for b in bodies])
    bad = [(r.status_code, r.text) for r in results if r.status_code != 202]
    assert not bad, f"{len(bad)} non-202: {bad[:3]}"
    subs = [r.json() for r in results]
    assert [s["job_id"] for s in subs] == [b["job_id"] for b in bodies]
    assert len({s["submission_id"] for s in subs}) == 64
    assert len({s["trace_id"] for s in subs}) == 64
    for b, s in zip(bodies, subs):
        assert api.job_ok(b["job_id"])["submission_id"] == s["submission_id"]
    delta = counts_delta(before, db_counts(api.server))
    if unit is not None and delta is not None:
        assert delta == {t: 64 * d for t, d in unit.items()}, (delta, unit)


def test_concurrent_same_key_different_bodies_one_winner(api: Api):
    key, job_id = uid("key"), uid("job")
    bodies = [submit_body(api.tenant, job_id=job_id, key=key,
                          resource_shape={"cpu": i + 1, "memory_mib": 1024, "walltime_seconds": 60})
              for i in range(32)]
    results = run_concurrently(api.server, [submit_req(api, b) for b in bodies])
    ok = [i for i, r in enumerate(results) if r.status_code == 202]
    assert len(ok) == 1, f"{len(ok)} winners: {Counter(r.status_code for r in results)}"
    for i, r in enumerate(results):
        if i != ok[0]:
            assert_error(r, 409, "idempotency_conflict")
    job = api.job_ok(job_id)
    assert job["resource_shape"]["cpu"] == ok[0] + 1
    assert job["submission_id"] == results[ok[0]].json()["submission_id"]


def test_concurrent_same_job_id_different_keys_one_winner(api: Api):
    job_id = uid("job")
    bodies = [submit_body(api.tenant, job_id=job_id, key=uid("key")) for _ in range(32)]
    results = run_concurrently(api.server, [submit_req(api, b) for b in bodies])
    ok = [i for i, r in enumerate(results) if r.status_code == 202]
    assert len(ok) == 1, f"{len(ok)} winners: {Counter(r.status_code for r in results)}"
    for i, r in enumerate(results):
        if i != ok[0]:
            assert_error(r, 409, "job_id_conflict")
    assert api.job_ok(job_id)["submission_id"] == results[ok[0]].json()["submission_id"]
    # the winner's key replays; a loser's key is free for another job id
    assert api.submit(bodies[ok[0]]).content == results[ok[0]].content
    loser = bodies[(ok[0] + 1) % 32]
    assert api.submit(dict(loser, job_id=uid("job2"))).status_code == 202


def test_concurrent_distinct_events_keep_state_machine(api: Api):
    body, sub = api.new_job()
    jid, sid = body["job_id"], sub["submission_id"]
    states = (["queued"] * 10 + ["running"] * 10 + ["completed"] * 4 + ["failed"] * 4
              + ["cancelled"] * 4)
    events = [event_body(api.tenant, jid, sid, s) for s in states]
    results = run_concurrently(api.server, [
        ("POST", f"/api/runtime/jobs/{jid}/events", json.dumps(e).encode(),
         api.headers({"content-type": "application/json"})) for e in events])
    for r in results:
        assert r.status_code == 200 and r.json() == {"ok": True, "idempotent": False}, r.text
    d = api.detail_ok(jid)
    assert len(d["events"]) == len(events)
    assert {e["event_id"] for e in d["events"]} == {e["event_id"] for e in events}
    seqs = [e["seq"] for e in d["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # replay the state machine over the stored arrival order: applied flags must agree
    state, applied_count = "submitted", 0
    for e in d["events"]:
        should = RANK[state] < 3 and RANK[e["state"]] > RANK[state]
        assert e["applied"] is should, f"event {e} applied={e['applied']} in state {state}"
        if should:
            state = e["state"]
            applied_count += 1
    assert d["state"] == state and RANK[state] == 3
    assert d["projection_version"] == 1 + applied_count


def test_concurrent_duplicate_event(api: Api):
    body, sub = api.new_job()
    jid = body["job_id"]
    ev = event_body(api.tenant, jid, sub["submission_id"], "running")
    results = run_concurrently(api.server, [
        ("POST", f"/api/runtime/jobs/{jid}/events", json.dumps(ev).encode(),
         api.headers({"content-type": "application/json"}))] * 32)
    assert all(r.status_code == 200 for r in results), Counter(r.status_code for r in results)
    flags = Counter(r.json()["idempotent"] for r in results)
    assert flags == {False: 1, True: 31}, flags
    d = api.detail_ok(jid)
    assert len(d["events"]) == 1 and d["projection_version"] == 2


def test_concurrent_mixed_tenants(server):
    """Several tenants submitting the same job ids at once each get their own job."""
    apis = [Api(server) for _ in range(8)]
    try:
        job_ids = [uid("job") for _ in range(4)]
        reqs, owners = [], []
        for a in apis:
            for j in job_ids:
                reqs.append(submit_req(a, submit_body(a.tenant, job_id=j, key="k-" + j)))
                owners.append((a, j))
        results = run_concurrently(server, reqs)
        assert all(r.status_code == 202 for r in results), Counter(r.status_code for r in results)
        for (a, j), r in zip(owners, results):
            job = a.job_ok(j)
            assert job["tenant_id"] == a.tenant
            assert job["submission_id"] == r.json()["submission_id"]
    finally:
        for a in apis:
            a.close()

