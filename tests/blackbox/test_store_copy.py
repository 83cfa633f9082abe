"""`rtgw store copy`: promotion of an embedded SQLite deployment to PostgreSQL (seed 003), verified
by row counts and per-table checksums, and the copied store serves exactly what the original did:
same detail bytes, byte-identical submit replays, idempotent event replays.

Needs RTGW_TEST_BACKENDS to include postgresql (scripts/test.sh does); skipped otherwise.
"""
from __future__ import annotations

import pytest

from conftest import (BACKENDS, Api, ServerPool, event_body, new_pg_schema, pg_counts, pg_url, psql,
                      submit_body,
                      run_cli, uid)

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="RTGW_TEST_BACKENDS does not include postgresql")


@pytest.fixture
def schemas():
    made = []

    def make() -> str:
        made.append(new_pg_schema("copy"))
        return made[-1]
    yield make
    for s in made:
        psql(f"DROP SCHEMA IF EXISTS {s} CASCADE")


def _fill(api: Api) -> dict:
    """A few jobs in every shape: submitted only, applied + unapplied events, terminal with a
    result_ref, failed with an error. Returns {job_id: (submit body, 202 bytes, events)}."""
    jobs = {}
    for shape in ("submitted", "running", "completed", "failed"):
        body = submit_body(api.tenant)
        r = api.submit(body)
        assert r.status_code == 202, r.text
        sub = r.json()["submission_id"]
        events = []
        if shape != "submitted":
            events.append(event_body(api.tenant, body["job_id"], sub, "running"))
            events.append(event_body(api.tenant, body["job_id"], sub, "queued"))  # late: kept
        if shape == "completed":
            events.append(event_body(api.tenant, body["job_id"], sub, "completed",
                                     result_ref={"output_uri": "s3://bucket/" + body["job_id"]}))
        if shape == "failed":
            events.append(event_body(api.tenant, body["job_id"], sub, "failed",
                                     error={"code": "NonZeroExitCode", "message": "exit 3", "exit_code": 3}))
        for ev in events:
            assert api.event(body["job_id"], ev).status_code == 200
        jobs[body["job_id"]] = (body, r.content, events)
    return jobs


def _copy(rtgw_bin, src: str, dst: str, *extra: str):
    return run_cli(rtgw_bin, "store", "copy", "--from", src, "--to", dst, *extra, timeout=60)


def test_sqlite_to_postgresql_promotion_serves_the_same_data(rtgw_bin, tmp_path, schemas):
    lite = ServerPool(rtgw_bin, tmp_path / "lite", "sqlite")
    pg = ServerPool(rtgw_bin, tmp_path / "pg", "postgresql")
    try:
        old = lite()
        tenants = [Api(old), Api(old)]
        data = {t.tenant: _fill(t) for t in tenants}
        details = {(t.tenant, j): t.detail_ok(j) for t in tenants for j in data[t.tenant]}

        # While the SQLite server runs, its file is locked: refused, target untouched.
        target = schemas()
        res = _copy(rtgw_bin, old.database_url, pg_url(target))
        assert res.returncode != 0, res
        assert b"in use" in res.stderr, res.stderr
        old.stop()

        res = _copy(rtgw_bin, old.database_url, pg_url(target))
        out = res.stdout.decode()
        assert res.returncode == 0, (res.stdout, res.stderr)
        assert "copy verified" in out, out
        assert "ok       jobs: rows 8 -> 8" in out, out
        assert "ok       job_events: rows 16 -> 16" in out, out
        # The idempotency records (in jobs and job_events) have report lines of their own.
        assert "ok       idempotency records (jobs: key, fingerprint, stored 202 body): rows 8 -> 8" \
            in out, out
        assert "ok       event idempotency records (job_events: event_id, fingerprint): " \
            "rows 16 -> 16" in out, out
        counts = pg_counts(target)
        assert counts["jobs"] == 8 and counts["job_events"] == 16, counts

        # A second copy into the now non-empty target is refused unless --replace.
        res = _copy(rtgw_bin, old.database_url, pg_url(target))
        assert res.returncode == 2 and b"not empty" in res.stderr, res
        res = _copy(rtgw_bin, old.database_url, pg_url(target), "--replace")
        assert res.returncode == 0, res.stderr
        assert pg_counts(target)["jobs"] == 8

        # The promoted deployment: a PostgreSQL replica on the copied schema.
        new = pg(pg_schema=target)
        for t in tenants:
            api = Api(new, t.tenant, token=t.token)
            for job_id, (body, first_202, events) in data[t.tenant].items():
                assert api.detail_ok(job_id) == details[(t.tenant, job_id)]
                again = api.submit(body)
                assert again.status_code == 202 and again.content == first_202
                for ev in events:
                    api.event_ok(job_id, ev, idempotent=True)
            # New work continues on top of the copied history (seq and versions move on).
            job_id = next(j for j, (_, _, evs) in data[t.tenant].items() if not evs)
            sub = api.job_ok(job_id)["submission_id"]
            api.event_ok(job_id, event_body(t.tenant, job_id, sub, "running"))
            d = api.detail_ok(job_id)
            assert d["state"] == "running" and d["projection_version"] == 2, d
            api.close()
    finally:
        lite.close()
        pg.close()


def test_postgresql_to_postgresql_copies_the_outbox_too(rtgw_bin, tmp_path, schemas):
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    try:
        srv = pool()
        api = Api(srv)
        _fill(api)
        api.close()
        srv.stop()
        target = schemas()
        res = _copy(rtgw_bin, srv.database_url, pg_url(target))
        out = res.stdout.decode()
        assert res.returncode == 0, (out, res.stderr)
        assert "ok       projection_outbox: rows" in out, out
        src_counts, dst_counts = pg_counts(srv.pg_schema), pg_counts(target)
        for table in ("jobs", "job_events", "projection_outbox"):
            assert src_counts[table] == dst_counts[table] > 0, (table, src_counts, dst_counts)
        # Identity sequences moved past the copied ids: new rows do not collide.
        srv2 = pool(pg_schema=target)
        api = Api(srv2)
        api.new_job()
        api.close()
    finally:
        pool.close()


def test_copy_refuses_bad_urls_and_missing_sources(rtgw_bin, tmp_path):
    res = _copy(rtgw_bin, "sqlite://" + str(tmp_path / "missing.db"), "sqlite://" +
                str(tmp_path / "t.db"))
    assert res.returncode == 2 and b"no SQLite file" in res.stderr, res
    res = _copy(rtgw_bin, "mysql://x", "sqlite://" + str(tmp_path / "t.db"))
    assert res.returncode == 2 and b"--from" in res.stderr, res
    res = run_cli(rtgw_bin, "store", "copy", "--from", "sqlite://a.db")
    assert res.returncode == 2 and b"required" in res.stderr, res


def test_sqlite_outbox_is_copied_to_postgresql_and_back(rtgw_bin, tmp_path, schemas):
    """The SQLite outbox keeps its times as integer micros; the copy converts them both ways
    and the checksums still agree."""
    lite = ServerPool(rtgw_bin, tmp_path / "lite", "sqlite")
    try:
        old = lite("--outbox", "on")  # a serve whose relay runs elsewhere: rows accumulate
        api = Api(old)
        _fill(api)
        api.close()
        old.stop()
        target = schemas()
        res = _copy(rtgw_bin, old.database_url, pg_url(target))
        out = res.stdout.decode()
        assert res.returncode == 0, (out, res.stderr)
        # submit (4) + applied running (3) + completed (1) + failed (1)
        assert "ok       projection_outbox: rows 9 -> 9" in out, out
        assert pg_counts(target)["projection_outbox"] == 9
        back = "sqlite://" + str(tmp_path / "back.db")
        res = _copy(rtgw_bin, pg_url(target), back)
        assert res.returncode == 0, (res.stdout, res.stderr)
        assert "ok       projection_outbox: rows 9 -> 9" in res.stdout.decode()
        listed = run_cli(rtgw_bin, "relay", "dead-letters", "--database-url", back)
        assert listed.returncode == 0, listed.stderr
    finally:
        lite.close()


def test_nodes_leases_cancels_and_validator_runs_are_copied_and_keep_working(rtgw_bin, tmp_path,
                                                                            schemas):
    """Management nodes, their leases and cancel requests, and validator runs move with the
    deployment (SQLite -> PostgreSQL -> SQLite), verified per table; on the promoted store the node
    renews a lease it was granted before the move and the run reads back the same."""
    import json as _json
    import time as _time

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from slurm_helpers import Node
    from test_validators import SAMPLE, wait_job_state, wait_terminal

    key_file = tmp_path / "launcher.pem"
    key_file.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                         .private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    vfile = tmp_path / "validators.json"
    vfile.write_text(_json.dumps({"validators": [
        {"name": "json-rules", "version": "1.0.0",
         "command": ["/usr/bin/python3", str(SAMPLE)], "timeout_seconds": 30}]}))
    env = {"APP_ROLE": "all", "RTGW_VALIDATORS_FILE": str(vfile),
           "MEDIA_ROOT": str(tmp_path / "media"), "RTGW_LOCAL_LAUNCHER_KEY": str(key_file),
           "RTGW_VALIDATOR_POLL_INTERVAL_MS": "200"}
    lite = ServerPool(rtgw_bin, tmp_path / "lite", "sqlite")
    pg = ServerPool(rtgw_bin, tmp_path / "pg", "postgresql")
    try:
        old = lite(env=env)
        api = Api(old)
        node = Node(old, api.tenant, "mgmt-node-1")
        assert node.heartbeat().status_code == 200
        jobs = [api.submit(submit_body(api.tenant)).json()["job_id"] for _ in range(3)]
        leases = {l["job_id"]: l["lease_id"]
                  for l in node.acquire(max_jobs=2, lease_seconds=600).json()["leases"]}
        assert sorted(leases) == sorted(jobs[:2])
        assert api.post_json(f"/api/runtime/jobs/{jobs[0]}:cancel", {}).status_code == 202
        assert api.post_json(f"/api/runtime/jobs/{jobs[2]}:cancel", {}).status_code == 202
        r = api.post_json("/api/runtime/validations:launch",
                          {"validator": "json-rules", "workspace_id": "ws-1",
                           "input": {"document": {"data": {"name": "x"},
                                                  "rules": [{"path": "name", "required": True}]}}})
        assert r.status_code == 202, r.text
        run = wait_terminal(api, r.json()["run_id"])
        wait_job_state(api, run["job_id"], "completed")
        _time.sleep(0.5)  # the poller marks the run's event synced after the job event
        node.close()
        old.stop()

        target = schemas()
        res = _copy(rtgw_bin, old.database_url, pg_url(target))
        out = res.stdout.decode()
        assert res.returncode == 0, (out, res.stderr)
        for line in ("ok       nodes: rows 1 -> 1", "ok       job_leases: rows 2 -> 2",
                     "ok       job_cancels: rows 2 -> 2", "ok       validator_runs: rows 1 -> 1",
                     "ok       validator_executions: rows 1 -> 1"):
            assert line in out, out
        counts = pg_counts(target)
        assert counts["job_leases"] == 2 and counts["validator_executions"] == 1, counts

        # The promoted deployment carries on with the copied state.
        new = pg(pg_schema=target, env=env)
        node = Node(new, api.tenant, "mgmt-node-1")
        r = node.renew(leases[jobs[1]], lease_seconds=120)
        assert r.status_code == 200, r.text
        assert node.renew(leases[jobs[0]], lease_seconds=120).status_code == 409  # cancelled
        polled = node.acquire().json()
        assert polled["leases"] == [], polled
        assert [c["job_id"] for c in polled["cancellations"]] == [jobs[0]]
        with new.client() as c:
            h = c.get("/api/health?deep=1",
                      headers={"authorization": "Bearer " + api.token}).json()
        assert [n["node_id"] for n in h["checks"]["managed_aiida_runtime"]["nodes"]] == \
            ["mgmt-node-1"]
        api2 = Api(new, api.tenant, token=api.token)
        again = api2.get(f"/api/runtime/validations/{run['run_id']}")
        assert again.status_code == 200 and again.json()["status"] == "SUCCEEDED", again.text
        assert again.json()["findings"] == run["findings"]
        api2.close()
        node.close()
        api.close()
        new.stop()

        # And back to SQLite, verified the same way.
        back = "sqlite://" + str(tmp_path / "back.db")
        res = _copy(rtgw_bin, pg_url(target), back)
        assert res.returncode == 0, (res.stdout, res.stderr)
        assert "ok       validator_executions: rows 1 -> 1" in res.stdout.decode()
        assert "ok       job_leases: rows 2 -> 2" in res.stdout.decode()
    finally:
        lite.close()
        pg.close()
