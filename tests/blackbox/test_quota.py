"""Active-job quotas of the limits file (issue 18, docs/contracts/limits.md "Quotas"): a submit
that would exceed the tenant's max_active_jobs or the user's max_active_jobs_per_user gets 429
quota_exceeded naming the limit, and nothing is stored; a replay of an accepted submit still gets
its original 202 bytes while the tenant is over quota; a job that finishes frees its slot; SIGHUP
raising a limit lets submits through. On PostgreSQL two replicas count exactly: 64 concurrent
submits with max_active_jobs 10 create exactly 10 jobs, also with two tenants racing at once."""
from __future__ import annotations

import concurrent.futures as cf
import json
import signal
from pathlib import Path

import httpx
import pytest

from conftest import (BACKENDS, Api, assert_error, event_body, make_token, metric_value,
                      parse_metrics, pg_counts, submit_body, uid)
from test_postgres_replicas import pg_pool  # noqa: F401 (a fixture: two replicas, one schema)


def write_limits(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def start_limited(server_factory, tmp_path: Path, doc: dict):
    path = write_limits(tmp_path / "limits.json", doc)
    srv = server_factory("--limits-file", str(path))
    srv.limits_path = path
    return srv


def one_tenant(server_factory, tmp_path: Path, max_active_jobs: int):
    """A server whose limits file gives one new tenant max_active_jobs: (server, its Api)."""
    tenant = uid("t")
    srv = start_limited(server_factory, tmp_path,
                        {"tenants": {tenant: {"max_active_jobs": max_active_jobs}}})
    return srv, Api(srv, tenant=tenant)


def refusals(srv) -> float:
    with srv.client() as c:
        samples = parse_metrics(c.get("/metrics").text)
    return metric_value(samples, "rtgw_limit_refusals_total", reason="quota_exceeded")


def assert_not_stored(api: Api, job_id: str) -> None:
    assert_error(api.job(job_id), 404, "not_found")


def test_tenant_quota_refuses_the_submit_over_it_and_stores_nothing(server_factory, tmp_path):
    tenant, other = uid("t"), uid("t")
    srv = start_limited(server_factory, tmp_path, {"tenants": {tenant: {"max_active_jobs": 3}}})
    api, api_other = Api(srv, tenant=tenant), Api(srv, tenant=other)
    accepted = [api.new_job()[0]["job_id"] for _ in range(3)]

    over = submit_body(tenant)
    err = assert_error(api.submit(over), 429, "quota_exceeded")
    assert "max_active_jobs is 3" in err["message"], err
    assert_not_stored(api, over["job_id"])
    page = api.list_jobs({"limit": 10}).json()
    assert sorted(j["job_id"] for j in page["jobs"]) == sorted(accepted), page
    assert refusals(srv) == 1
    # Another tenant (no entry, no default) is not limited.
    for _ in range(4):
        api_other.new_job()
    api.close()
    api_other.close()


def test_per_user_quota_counts_each_user_apart(server_factory, tmp_path):
    tenant = uid("t")
    srv = start_limited(server_factory, tmp_path, {"default": {"max_active_jobs_per_user": 2}})
    alice = Api(srv, tenant=tenant, token=make_token(tenant, sub="alice"))
    bob = Api(srv, tenant=tenant, token=make_token(tenant, sub="bob"))
    for _ in range(2):
        alice.submit_ok(submit_body(tenant, requested_by={"user_id": "alice"}))
    over = submit_body(tenant, requested_by={"user_id": "alice"})
    err = assert_error(alice.submit(over), 429, "quota_exceeded")
    assert "max_active_jobs_per_user is 2" in err["message"], err
    assert_not_stored(alice, over["job_id"])
    # bob's jobs are his own count.
    for _ in range(2):
        bob.submit_ok(submit_body(tenant, requested_by={"user_id": "bob"}))
    assert_error(bob.submit(submit_body(tenant, requested_by={"user_id": "bob"})), 429,
                 "quota_exceeded")
    alice.close()
    bob.close()


def test_replay_while_over_quota_gets_the_original_bytes(server_factory, tmp_path):
    srv, api = one_tenant(server_factory, tmp_path, 1)
    tenant = api.tenant
    body = submit_body(tenant)
    first = api.submit(body)
    assert first.status_code == 202, first.text
    assert_error(api.submit(submit_body(tenant)), 429, "quota_exceeded")
    for _ in range(2):
        replay = api.submit(body)
        assert replay.status_code == 202, replay.text
        assert replay.content == first.content  # byte for byte
    # Same key, another body: still the idempotency conflict, not the quota.
    other = dict(body, resource_shape={"cpu": 2, "memory_mib": 2048, "walltime_seconds": 3600})
    assert_error(api.submit(other), 409, "idempotency_conflict")
    assert refusals(srv) == 1
    api.close()


def test_a_finished_job_frees_its_slot(server_factory, tmp_path):
    srv, api = one_tenant(server_factory, tmp_path, 1)
    tenant = api.tenant
    body, accepted = api.new_job()
    waiting = submit_body(tenant)
    assert_error(api.submit(waiting), 429, "quota_exceeded")
    # queued and running are still active.
    for state in ("queued", "running"):
        api.event_ok(body["job_id"],
                     event_body(tenant, body["job_id"], accepted["submission_id"], state))
        assert_error(api.submit(waiting), 429, "quota_exceeded")
    api.event_ok(body["job_id"],
                 event_body(tenant, body["job_id"], accepted["submission_id"], "completed"))
    api.submit_ok(waiting)
    assert api.job_ok(waiting["job_id"])["state"] == "submitted"
    assert_error(api.submit(submit_body(tenant)), 429, "quota_exceeded")
    api.close()


def test_rate_limit_is_checked_before_the_quota(server_factory, tmp_path):
    tenant = uid("t")
    srv = start_limited(server_factory, tmp_path, {"tenants": {tenant: {
        "max_active_jobs": 1, "requests_per_second": 0.001, "burst": 2}}})
    api = Api(srv, tenant=tenant)
    api.new_job()
    assert_error(api.submit(submit_body(tenant)), 429, "quota_exceeded")  # took the 2nd token
    assert_error(api.submit(submit_body(tenant)), 429, "rate_limited")
    assert refusals(srv) == 1
    api.close()


def test_sighup_raising_the_limit_lets_submits_through(server_factory, tmp_path):
    srv, api = one_tenant(server_factory, tmp_path, 1)
    tenant = api.tenant
    api.new_job()
    waiting = submit_body(tenant)
    assert_error(api.submit(waiting), 429, "quota_exceeded")
    write_limits(srv.limits_path, {"tenants": {tenant: {"max_active_jobs": 2}}})
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for_log(lambda e: e.get("msg") == "limits file reloaded")
    api.submit_ok(waiting)
    assert_error(api.submit(submit_body(tenant)), 429, "quota_exceeded")
    # Removing the quota removes the count.
    write_limits(srv.limits_path, {})
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for_log(lambda e: e.get("msg") == "limits file reloaded" and e.get("tenants") == 0)
    api.new_job()
    api.close()


# ============================================================================================
# PostgreSQL: two replicas count exactly
# ============================================================================================
needs_pg = pytest.mark.skipif("postgresql" not in BACKENDS,
                              reason="RTGW_TEST_BACKENDS does not include postgresql")


def race(replicas, submits: list[dict], workers: int = 64) -> list[tuple[str, int, bytes]]:
    """Every submit at once, alternating replicas: (tenant, status, body) each."""
    tokens = {b["tenant_id"]: make_token(b["tenant_id"], exp_in=3600) for b in submits}

    def send(i: int, body: dict):
        srv = replicas[i % len(replicas)]
        h = {"authorization": "Bearer " + tokens[body["tenant_id"]],
             "content-type": "application/json"}
        with httpx.Client(base_url=srv.base_url, timeout=60) as c:
            r = c.post("/api/runtime/jobs:submit", content=json.dumps(body), headers=h)
            return body["tenant_id"], r.status_code, r.content

    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(lambda p: send(*p), enumerate(submits)))


def pg_replicas(pg_pool, tmp_path: Path, doc: dict):
    path = write_limits(tmp_path / "limits.json", doc)
    a = pg_pool("--limits-file", str(path))
    b = pg_pool("--limits-file", str(path), pg_schema=a.pg_schema)
    return a, b


def tally(results, tenant: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for t, status, _ in results:
        if t == tenant:
            out[status] = out.get(status, 0) + 1
    return out


@needs_pg
def test_two_replicas_64_concurrent_submits_create_exactly_the_quota(pg_pool, tmp_path):
    tenant = uid("t")
    a, b = pg_replicas(pg_pool, tmp_path, {"tenants": {tenant: {"max_active_jobs": 10}}})
    results = race([a, b], [submit_body(tenant) for _ in range(64)])
    assert tally(results, tenant) == {202: 10, 429: 54}, tally(results, tenant)
    for _, status, body in results:
        if status == 429:
            assert json.loads(body)["error"]["code"] == "quota_exceeded"
    assert pg_counts(a.pg_schema)["jobs"] == 10
    assert refusals(a) + refusals(b) == 54


@needs_pg
def test_two_tenants_racing_on_two_replicas_count_exactly_without_deadlock(pg_pool, tmp_path):
    # Both tenants' submits interleaved on both replicas, so batches hold both tenants' quota
    # locks at once, from either side.
    t1, t2 = uid("t"), uid("t")
    a, b = pg_replicas(pg_pool, tmp_path, {
        "default": {"max_active_jobs_per_user": 1000},
        "tenants": {t1: {"max_active_jobs": 10}, t2: {"max_active_jobs": 7}}})
    for round_ in range(3):
        submits = [submit_body(t) for _ in range(64) for t in (t1, t2)]
        results = race([a, b], submits, workers=96)
        want1 = {202: 10, 429: 54} if round_ == 0 else {429: 64}
        want2 = {202: 7, 429: 57} if round_ == 0 else {429: 64}
        assert tally(results, t1) == want1, (round_, tally(results, t1))
        assert tally(results, t2) == want2, (round_, tally(results, t2))
    assert pg_counts(a.pg_schema)["jobs"] == 17
    for srv in (a, b):
        assert "deadlock" not in srv.stderr_text().lower()
