"""/api/health tells the truth (issue 18): it never says "ok" while part of the API refuses.

Real `rtgw serve` processes, a real product sink, real stores:
- the projection relay failing NOW makes health "degraded" from the first failed attempt, with
  consecutive_failures and the live outbox backlog (read when health is asked, not the gauge the
  relay refreshes every 5 s); the sink recovering makes it "ok" again;
- real-policy with a missing or stale Slurm catalogue (or no Slurm) for a management node makes
  health "degraded", naming the node and why to its tenant, exactly when submits to it get 503;
- a store that cannot serve (a corrupted SQLite WAL, a stopped PostgreSQL) makes health 503
  "unavailable"; a corrupted SQLite index page, which reads and writes may never touch, makes
  `?deep=1` (PRAGMA quick_check) 503 "unavailable" while plain health stays 200.
"""
from __future__ import annotations

import sqlite3
import time

import pytest

from conftest import BACKENDS, Api, ServerPool, assert_error, event_body, submit_body
from projection_sink import ProjectionSink
from slurm_helpers import Node, adapter_env, heartbeat_body, write_policy
from test_projection_relay import SINK_SECRET, relay_args

NODE = "mgmt-node-1"  # submit_body's management_node_id


def health(srv, token: str | None = None, deep: bool = False):
    headers = {"authorization": "Bearer " + token} if token else {}
    with srv.client() as c:
        return c.get("/api/health" + ("?deep=1" if deep else ""), headers=headers)


def wait_health(srv, pred, timeout: float, token: str | None = None, what: str = ""):
    """Polls health until pred(json) holds; returns (json, seconds waited)."""
    t0 = time.monotonic()
    while True:
        r = health(srv, token)
        if pred(r.json()):
            return r.json(), time.monotonic() - t0
        assert time.monotonic() - t0 < timeout, f"health never {what}: {r.status_code} {r.text}"
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# the projection relay
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def sink():
    s = ProjectionSink(SINK_SECRET, behaviour=lambda n, u: 503).start()
    yield s
    s.close()


def test_relay_failing_now_is_degraded_at_once_and_ok_after_the_sink_recovers(server_factory,
                                                                              sink):
    srv = server_factory(*relay_args(sink.url, "--relay-max-attempts", "1000"))
    started = time.monotonic()  # the relay's own stats refresh ran now, on an empty outbox
    h = health(srv).json()
    assert h["status"] == "ok" and h["checks"]["projection_relay"]["backlog"] == 0, h
    api = Api(srv)
    api.submit_ok(submit_body(api.tenant))
    # One delivery attempt (the sink answers 503) is enough.
    deadline = time.monotonic() + 5
    while sink.requests < 1:
        assert time.monotonic() < deadline, "the relay never tried"
        time.sleep(0.01)
    h, waited = wait_health(srv, lambda j: j["status"] == "degraded", 2.0, what="degraded")
    relay = h["checks"]["projection_relay"]
    assert relay["status"] == "degraded" and relay["consecutive_failures"] >= 1, relay
    assert relay["backlog"] == 1, relay
    assert relay["last_error"].startswith("HTTP 503"), relay
    assert "consecutive delivery attempts" in relay["reason"], relay
    assert h["checks"]["store"]["status"] == "ok"
    # Well inside the relay's 5 s stats interval: the backlog was read when health was asked.
    assert time.monotonic() - started < 4.5, "too slow to tell a live read from the refresh"
    assert waited < 1.0, waited

    sink.behaviour = lambda n, u: 200
    h, _ = wait_health(srv, lambda j: j["status"] == "ok", 10.0, what="ok again")
    relay = h["checks"]["projection_relay"]
    assert relay["status"] == "ok" and relay["consecutive_failures"] == 0, relay
    assert "reason" not in relay, relay
    assert len(sink.applied) == 1
    h, _ = wait_health(srv, lambda j: j["checks"]["projection_relay"]["backlog"] == 0, 5.0,
                       what="with an empty backlog")
    api.close()


# ---------------------------------------------------------------------------------------------
# real-policy submit admission
# ---------------------------------------------------------------------------------------------
def admission(srv, token: str | None = None) -> tuple[str, dict]:
    r = health(srv, token)
    assert r.status_code == 200, r.text
    return r.json()["status"], r.json()["checks"]["submit_admission"]


def submit_to(api: Api, node: str):
    return api.submit(submit_body(api.tenant, management_node_id=node,
                                  execution_profile={"queue_name": "default"}))


def test_real_policy_names_the_nodes_whose_submits_are_refused_and_why(server_factory,
                                                                       tmp_path):
    policy = write_policy(tmp_path)
    srv = server_factory("--slurm-catalogue-max-age-seconds", "2",
                         env=adapter_env("real-policy", policy))
    api = Api(srv)
    other = Api(srv)
    slurm = Node(srv, api.tenant, NODE)
    local = Node(srv, api.tenant, "node-local")
    try:
        # No node has reported: every submit is refused, and health says so.
        status, check = admission(srv, api.token)
        assert status == "degraded" and check["status"] == "degraded", check
        assert check["nodes_total"] == 0 and "no management node" in check["reason"], check
        assert_error(submit_to(api, NODE), 503, "slurm_unavailable")

        # A fresh Slurm catalogue: submits pass, health is ok.
        assert slurm.heartbeat().status_code == 200
        status, check = admission(srv, api.token)
        assert (status, check["status"], check["nodes_refusing"]) == ("ok", "ok", 0), check
        assert "reason" not in check
        assert submit_to(api, NODE).status_code == 202

        # A node without Slurm: its submits are refused, health names it and says why.
        assert local.heartbeat(heartbeat_body(executor="local")).status_code == 200
        assert_error(submit_to(api, "node-local"), 503, "slurm_unavailable")
        status, check = admission(srv, api.token)
        assert status == "degraded" and check["nodes_refusing"] == 1, check
        assert [n["node_id"] for n in check["nodes"]] == ["node-local"], check
        assert "no Slurm" in check["nodes"][0]["reasons"][0], check
        assert "default" in check["nodes"][0]["queues_refused"], check

        # Another tenant sees that something refuses, never which node.
        status, check = admission(srv, other.token)
        assert status == "degraded" and check["nodes"] == [], check
        status, check = admission(srv)
        assert check["scope"] == "summary" and check["nodes"] == [], check
        assert "node-local" not in health(srv).text

        # The Slurm node's catalogue goes stale (max age 2 s): refused, and named.
        time.sleep(3.3)  # ages are whole seconds: 3 s > 2 s
        assert_error(submit_to(api, NODE), 503, "slurm_unavailable")
        status, check = admission(srv, api.token)
        assert status == "degraded" and check["nodes_refusing"] == 2, check
        stale = next(n for n in check["nodes"] if n["node_id"] == NODE)
        assert "s old (bound 2 s)" in stale["reasons"][0], stale
        # A heartbeat makes it fresh again.
        assert slurm.heartbeat().status_code == 200
        status, check = admission(srv, api.token)
        assert [n["node_id"] for n in check["nodes"]] == ["node-local"], check
        assert submit_to(api, NODE).status_code == 202
    finally:
        for c in (api, other, slurm, local):
            c.close()


# ---------------------------------------------------------------------------------------------
# a store that cannot serve
# ---------------------------------------------------------------------------------------------
def assert_unavailable(r, reachable: bool = False) -> dict:
    assert r.status_code == 503, r.text
    h = r.json()
    assert h["status"] == "unavailable", h
    store = h["checks"]["store"]
    assert store["status"] == "unavailable" and store["reachable"] is reachable, store
    assert "trace_id" in store["detail"], store
    return h


@pytest.mark.sqlite_only("corrupts the SQLite write-ahead log")
def test_corrupted_sqlite_wal_is_503_unavailable(server_factory):
    srv = server_factory()
    api = Api(srv)
    for _ in range(20):
        api.submit_ok(submit_body(api.tenant))
    assert health(srv).status_code == 200
    wal = srv.db_path.with_name(srv.db_path.name + "-wal")
    size = wal.stat().st_size
    assert size > 0, "the submits are in the WAL"
    with open(wal, "r+b") as f:
        f.write(b"\xff" * size)
    h = assert_unavailable(health(srv))
    # The store's own text (SQLite's error) is in the log, not in the answer.
    assert "malformed" not in str(h) and "SQLITE" not in str(h)
    srv.wait_for_log(lambda l: l.get("msg") == "store health check failed"
                     and (l.get("trace_id") or "#") in h["checks"]["store"]["detail"])
    # Deep health says the same.
    assert_unavailable(health(srv, deep=True))
    api.close()


def test_deep_health_reports_the_store_integrity_check(server_factory):
    srv = server_factory()
    plain = health(srv).json()
    assert "integrity" not in plain["checks"]["store"], plain  # only ?deep=1 checks it
    r = health(srv, deep=True)
    assert r.status_code == 200, r.text
    store = r.json()["checks"]["store"]
    assert store["status"] == "ok" and store["integrity"] == "ok", store


def index_pages(db_path, index: str) -> tuple[int, list[int]]:
    """(page size, the pages of `index`) of a SQLite file no process has open, via dbstat."""
    con = sqlite3.connect(db_path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page is in the main file
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        pages = [p for (p,) in con.execute(
            "SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno", (index,))]
    finally:
        con.close()
    return page_size, pages


@pytest.mark.sqlite_only("corrupts a page of a SQLite index")
def test_corrupted_sqlite_index_page_is_503_on_deep_health_only(server_factory):
    srv = server_factory()
    api = Api(srv)
    for i in range(40):
        job = api.submit_ok(submit_body(api.tenant))
        api.event_ok(job["job_id"], event_body(api.tenant, job["job_id"], job["submission_id"],
                                               "running", event_id=f"evt-{i:03d}-" + "x" * 64))
    assert health(srv, deep=True).json()["checks"]["store"]["integrity"] == "ok"
    srv.stop()
    # The unique (tenant_id, job_id, event_id) index of job_events: health's own read and
    # write never use it, so only the integrity check can notice.
    page_size, pages = index_pages(srv.db_path, "sqlite_autoindex_job_events_1")
    assert len(pages) >= 2, pages  # the 40 long event ids need more than the root page
    victim = pages[-1]
    with open(srv.db_path, "r+b") as f:
        f.seek((victim - 1) * page_size)
        f.write(b"\xa5" * page_size)
    srv.restart()

    plain = health(srv)
    assert plain.status_code == 200, plain.text  # reads and writes still work
    r = health(srv, deep=True)
    h = assert_unavailable(r, reachable=True)
    store = h["checks"]["store"]
    assert store["integrity"] == "failed" and store["writable"] is True, store
    assert "integrity check failed" in store["detail"], store
    # SQLite's own text (which page, what is wrong) is in the log, not in the answer.
    assert "quick_check" not in r.text and "Page" not in r.text, r.text
    rec = srv.wait_for_log(lambda l: l.get("msg") == "store health check failed"
                           and l.get("trace_id", "#") in store["detail"])
    assert "quick_check" in rec.get("error", ""), rec
    # A second deep check within 30 s reuses the result: still 503.
    assert health(srv, deep=True).status_code == 503
    api.close()


@pytest.mark.slow
@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs RTGW_TEST_BACKENDS=postgresql")
def test_stopped_postgresql_is_503_unavailable_and_ok_when_back(rtgw_bin, tmp_path):
    from test_postgres_replicas import PrivatePostgres  # initdb + pg_ctl, a cluster we may stop
    pg = PrivatePostgres()
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    try:
        pg.start()
        srv = pool("--migrate", "on", database_url=pg.url)
        assert health(srv).json()["status"] == "ok"
        pg.stop()
        assert_unavailable(health(srv))
        assert_unavailable(health(srv, deep=True))
        pg.start()
        wait_health(srv, lambda j: j["status"] == "ok", 30.0, what="ok after PostgreSQL restarted")
        assert health(srv).status_code == 200
    finally:
        pool.close()
        pg.close()
