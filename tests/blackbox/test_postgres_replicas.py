"""Several `rtgw serve` replicas on one PostgreSQL database behave as one service.

- Concurrent duplicate submits and events split across two replicas: exactly one job / one event
  effect each, and every replay body is byte-identical to the first response.
- A PostgreSQL restart while clients write: 503 fast while it is down, success after it is back,
  every acknowledged write present afterwards. This runs on a PRIVATE PostgreSQL instance
  (initdb + pg_ctl in a temporary directory, on its own port) so stopping it cannot disturb
  anything else using the machine's shared cluster.
- kill -9 of one replica while both take acknowledged writes: nothing acknowledged is lost and
  the other replica keeps serving.

Needs RTGW_TEST_BACKENDS to include postgresql (scripts/test.sh does); skipped otherwise.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import (BACKENDS, Api, ServerPool, event_body, make_token, pg_counts, psql,
                      submit_body, uid)

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="RTGW_TEST_BACKENDS does not include postgresql")


@pytest.fixture
def pg_pool(rtgw_bin, tmp_path):
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    yield pool
    pool.close()


def _headers(tenant: str) -> dict:
    return {"authorization": "Bearer " + make_token(tenant, exp_in=3600),
            "content-type": "application/json"}


def test_two_replicas_give_exactly_one_effect_per_duplicate(pg_pool):
    a = pg_pool()
    b = pg_pool(pg_schema=a.pg_schema)  # a second replica on the same schema
    tenant = uid("tenant")
    h = _headers(tenant)
    jobs = [submit_body(tenant) for _ in range(30)]
    copies = 6  # each request sent 6 times, alternating replicas, all at once

    def send(srv, path, body):
        with httpx.Client(base_url=srv.base_url, timeout=30) as c:
            r = c.post(path, content=json.dumps(body), headers=h)
            return r.status_code, r.content

    with cf.ThreadPoolExecutor(max_workers=24) as ex:
        futs = {}
        for body in jobs:
            for i in range(copies):
                srv = a if i % 2 == 0 else b
                futs[ex.submit(send, srv, "/api/runtime/jobs:submit", body)] = body["job_id"]
        results: dict[str, list] = {}
        for f in cf.as_completed(futs):
            results.setdefault(futs[f], []).append(f.result())
    for job_id, rs in results.items():
        assert [s for s, _ in rs] == [202] * copies, (job_id, rs)
        assert len({body for _, body in rs}) == 1, (job_id, "replay bodies differ", rs)
    counts = pg_counts(a.pg_schema)
    assert counts["jobs"] == len(jobs), counts
    assert counts["projection_outbox"] == len(jobs), counts

    # Events: the same event_id through both replicas at once; exactly one is the effect.
    sub = {job_id: json.loads(rs[0][1])["submission_id"] for job_id, rs in results.items()}
    events = [event_body(tenant, b_["job_id"], sub[b_["job_id"]], "running") for b_ in jobs]
    with cf.ThreadPoolExecutor(max_workers=24) as ex:
        futs = {}
        for ev in events:
            for i in range(copies):
                srv = a if i % 2 == 0 else b
                futs[ex.submit(send, srv, f"/api/runtime/jobs/{ev['job_id']}/events", ev)] = \
                    ev["event_id"]
        ev_results: dict[str, list] = {}
        for f in cf.as_completed(futs):
            ev_results.setdefault(futs[f], []).append(f.result())
    for event_id, rs in ev_results.items():
        assert [s for s, _ in rs] == [200] * copies, (event_id, rs)
        first_effects = [json.loads(body) for _, body in rs
                         if json.loads(body) == {"ok": True, "idempotent": False}]
        assert len(first_effects) == 1, (event_id, rs)
    counts = pg_counts(a.pg_schema)
    assert counts["job_events"] == len(events), counts
    assert counts["projection_outbox"] == 2 * len(jobs), counts
    # Both replicas read the same state (no per-process cache).
    for srv in (a, b):
        api = Api(srv, tenant)
        for body in jobs:
            job = api.job_ok(body["job_id"])
            assert job["state"] == "running" and job["projection_version"] == 2, job
        api.close()


# --------------------------------------------------------------------------------------------
# a private PostgreSQL we may stop and start
# --------------------------------------------------------------------------------------------
class PrivatePostgres:
    def __init__(self):
        versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
        self.bindir = versions[-1] / "bin"
        self.dir = Path(tempfile.mkdtemp(prefix="rtgw-pgpriv-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_user = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  timeout=120)

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        res = subprocess.run([*self.as_user, str(self.bindir / tool), *args],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        assert res.returncode == 0, (tool, args, res.stdout, res.stderr)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg():
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.close()


class Writers:
    """Threads submitting new jobs to some servers until stopped; records every outcome."""

    def __init__(self, servers, tenant: str, n: int = 4):
        self.servers = servers
        self.tenant = tenant
        self.h = _headers(tenant)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[str] = []
        self.refused: list[tuple[float, float]] = []  # (time, latency) of each 503
        self.errors: list[str] = []
        self.killing: set = set()  # servers the test is about to kill: their disconnects are expected
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(n)]

    def _run(self, i: int) -> None:
        srv = self.servers[i % len(self.servers)]
        with httpx.Client(base_url=srv.base_url, timeout=10) as c:
            while not self.stop.is_set():
                body = submit_body(self.tenant, job_id=uid(f"w{i}"))
                t0 = time.monotonic()
                try:
                    r = c.post("/api/runtime/jobs:submit", content=json.dumps(body),
                               headers=self.h)
                except httpx.TransportError as e:
                    if srv in self.killing:
                        return  # this replica is being killed: expected
                    with self.lock:
                        self.errors.append(f"transport: {e!r}")
                    time.sleep(0.05)
                    continue
                dt = time.monotonic() - t0
                with self.lock:
                    if r.status_code == 202:
                        self.acked.append(body["job_id"])
                    elif r.status_code == 503:
                        self.refused.append((time.monotonic(), dt))
                    else:
                        self.errors.append(f"{r.status_code} {r.text[:200]}")
                if r.status_code == 503:
                    time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=20)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_postgres_restart_under_load_fails_fast_and_loses_nothing(pg_pool, private_pg):
    srv = pg_pool("--migrate", "on", database_url=private_pg.url)
    tenant = uid("tenant")
    with Writers([srv], tenant) as w:
        _wait(lambda: w.count() >= 100, 20, "100 acknowledged submits")
        private_pg.stop()
        down_at = time.monotonic()
        acked_when_down = w.count()
        time.sleep(2.0)
        with w.lock:
            refused_while_down = [dt for t, dt in w.refused if t > down_at + 0.3]
        # Health says so while it is down.
        with srv.client() as c:
            hr = c.get("/api/health")
        private_pg.start()
        _wait(lambda: w.count() >= acked_when_down + 100, 30, "writes to succeed again")
    assert not w.errors, w.errors[:5]
    assert len(refused_while_down) >= 10, f"only {len(refused_while_down)} 503s while down"
    assert max(refused_while_down) < 1.0, f"slow 503 while down: {max(refused_while_down):.3f}s"
    assert hr.status_code == 503, hr.text
    assert hr.json()["checks"]["store"]["reachable"] is False, hr.text
    # Every acknowledged submit is there.
    api = Api(srv, tenant)
    for job_id in w.acked:
        r = api.job(job_id)
        assert r.status_code == 200, (job_id, r.status_code, r.text)
    api.close()
    assert srv.running


@pytest.mark.slow
def test_kill9_of_a_replica_loses_no_acknowledged_write(pg_pool):
    a = pg_pool()
    b = pg_pool(pg_schema=a.pg_schema)
    tenant = uid("tenant")
    with Writers([a, b], tenant, n=6) as w:
        _wait(lambda: w.count() >= 200, 20, "200 acknowledged submits")
        w.killing.add(a)
        a.kill9()
        at_kill = w.count()
        _wait(lambda: w.count() >= at_kill + 100, 20, "the surviving replica to keep acking")
    assert not w.errors, w.errors[:5]
    api = Api(b, tenant)
    for job_id in w.acked:
        r = api.job(job_id)
        assert r.status_code == 200, (job_id, r.status_code, r.text)
    api.close()
    counts = pg_counts(a.pg_schema)
    assert counts["jobs"] >= len(w.acked), counts
    # The killed replica comes back on the same database and sees everything.
    a.restart()
    api = Api(a, tenant)
    for job_id in w.acked[-50:]:
        assert api.job(job_id).status_code == 200
    api.close()


def test_two_replicas_lease_every_submission_exactly_once(pg_pool):
    """One management node polls both replicas with many concurrent lease calls: every submission
    is handed out exactly once (FOR UPDATE SKIP LOCKED across processes), none is lost."""
    from slurm_helpers import Node

    a = pg_pool()
    b = pg_pool(pg_schema=a.pg_schema)
    tenant = uid("tenant")
    h = _headers(tenant)
    n_jobs = 120
    with httpx.Client(base_url=a.base_url, timeout=30) as c:
        for _ in range(n_jobs):
            r = c.post("/api/runtime/jobs:submit", content=json.dumps(submit_body(tenant)),
                       headers=h)
            assert r.status_code == 202, r.text
    nodes = [Node(srv, tenant, "mgmt-node-1") for srv in (a, b)]
    for n in nodes:
        assert n.heartbeat().status_code == 200

    def poll(i: int) -> list[tuple[str, str]]:
        node = Node(a if i % 2 == 0 else b, tenant, "mgmt-node-1", token=nodes[0].token)
        try:
            got = []
            for _ in range(6):
                r = node.acquire(max_jobs=5, lease_seconds=600)
                assert r.status_code == 200, r.text
                got += [(l["job_id"], l["lease_id"]) for l in r.json()["leases"]]
            return got
        finally:
            node.close()

    with cf.ThreadPoolExecutor(max_workers=16) as ex:
        grants = [g for gs in ex.map(poll, range(16)) for g in gs]
    # Whatever is left (if the pollers ran out of rounds) is leased by a final sweep.
    while True:
        left = nodes[1].acquire(max_jobs=256, lease_seconds=600).json()["leases"]
        if not left:
            break
        grants += [(l["job_id"], l["lease_id"]) for l in left]
    job_ids = [j for j, _ in grants]
    assert len(job_ids) == n_jobs and len(set(job_ids)) == n_jobs, \
        f"{len(job_ids)} grants for {len(set(job_ids))} jobs"
    assert len({lease for _, lease in grants}) == n_jobs
    assert psql(f"SELECT count(*) FROM {a.pg_schema}.job_leases WHERE grants = 1").strip() == \
        str(n_jobs)
    # Every lease renews through either replica (one service).
    for i, (job_id, lease_id) in enumerate(grants[:10]):
        assert nodes[i % 2].renew(lease_id, lease_seconds=120).status_code == 200
    for n in nodes:
        n.close()


def test_concurrent_duplicate_cancels_across_replicas_have_one_effect(pg_pool):
    """The same cancel sent many times at once through both replicas: never-leased jobs get one
    gateway `cancelled` event (one projection version, one outbox row); a leased job one request."""
    from slurm_helpers import Node

    a = pg_pool()
    b = pg_pool(pg_schema=a.pg_schema)
    tenant = uid("tenant")
    h = _headers(tenant)
    with httpx.Client(base_url=a.base_url, timeout=30) as c:
        fresh = [submit_body(tenant) for _ in range(10)]
        for body in fresh:
            assert c.post("/api/runtime/jobs:submit", content=json.dumps(body),
                          headers=h).status_code == 202
    leased = submit_body(tenant)
    with httpx.Client(base_url=b.base_url, timeout=30) as c:
        assert c.post("/api/runtime/jobs:submit", content=json.dumps(leased),
                      headers=h).status_code == 202
    node = Node(b, tenant, "mgmt-node-1")
    got = node.acquire(max_jobs=1, lease_seconds=600).json()["leases"]
    # Oldest first: the fresh jobs came first, so take whichever was granted as "leased".
    assert len(got) == 1
    leased_id = got[0]["job_id"]
    targets = [b_["job_id"] for b_ in fresh] + [leased["job_id"]]
    copies = 6

    def cancel(srv, job_id):
        with httpx.Client(base_url=srv.base_url, timeout=30) as c:
            r = c.post(f"/api/runtime/jobs/{job_id}:cancel", content=b"{}", headers=h)
            return job_id, r.status_code, r.json()

    with cf.ThreadPoolExecutor(max_workers=24) as ex:
        futs = [ex.submit(cancel, a if i % 2 == 0 else b, j)
                for j in targets for i in range(copies)]
        results = [f.result() for f in futs]
    assert all(s == 202 for _, s, _ in results), results
    schema = a.pg_schema
    n_fresh = len(targets) - 1
    assert psql(f"SELECT count(*) FROM {schema}.job_cancels").strip() == str(len(targets))
    assert psql(f"SELECT count(*) FROM {schema}.job_events WHERE event_id LIKE 'cancel:%'"
                ).strip() == str(n_fresh)
    # One outbox row per submit and one per gateway cancel, never a second.
    assert psql(f"SELECT count(*) FROM {schema}.projection_outbox").strip() == \
        str(len(targets) + n_fresh)
    with httpx.Client(base_url=b.base_url, timeout=30) as c:
        for job_id in targets:
            d = c.get(f"/api/runtime/jobs/{job_id}/detail", headers=h).json()
            if job_id == leased_id:
                assert d["state"] == "submitted" and d["events"] == [], d
            else:
                assert d["state"] == "cancelled" and d["projection_version"] == 2, d
                assert [e["event_id"] for e in d["events"]] == [f"cancel:{d['submission_id']}"]
    polled = node.acquire().json()
    assert [c_["job_id"] for c_ in polled["cancellations"]] == [leased_id]
    node.close()
