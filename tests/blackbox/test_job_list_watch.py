"""Listing, searching and watching jobs (issue 17; docs/contracts/http-api.md "Listing and
watching jobs"), black-box against real `rtgw serve` processes on both backends.

- GET /api/runtime/jobs: every filter alone and combined against the same selection made on the
  client from GET /api/runtime/jobs/{id}, newest submission first; keyset pages while jobs are
  submitted (no repeat, no skip); every bad parameter named; cursors of other filters or another
  tenant refused; node tokens and strict-mode users see only their own.
- GET /api/runtime/jobs:watch: status and headers at once, `retry:`, one event per committed
  change in order with the ProjectionUpdate body the store keeps (job_changes), filters,
  Last-Event-ID / `after` resume without gap or duplicate, `after=watch_from` of a list, 410
  after retention, 429 at the watcher limits, keepalive comments, nothing of another tenant.
- The projection long poll: early on a change, at the timeout otherwise.
- The ordering property: concurrent writers through two replicas on one PostgreSQL (one server
  on SQLite), a watcher that reconnects every 20 events; at the end what it saw is exactly the
  tenant's job_changes in seq order (no gap, no duplicate), every job's versions 1..n in order,
  and each job's last version is its final projection.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import sqlite3
import threading
import time

import pytest

from conftest import (Api, Server, SseStream, assert_error, assert_raw_error, event_body,
                      make_token, psql, submit_body, uid, wait_until)

NODE = "node-a"
OTHER_NODE = "node-b"
# A product BFF: submits for any user of its tenant, reads, posts events.
BFF_SCOPES = "runtime:submit runtime:submit_as runtime:read runtime:events runtime:cancel"
STATE_PATHS = {  # final state -> events that lead there from `submitted`
    "submitted": [], "queued": ["queued"], "running": ["queued", "running"],
    "completed": ["running", "completed"], "failed": ["running", "failed"],
    "cancelled": ["cancelled"],
}


def bff(srv: Server, tenant: str | None = None) -> Api:
    tenant = tenant or uid("tenant")
    return Api(srv, tenant, make_token(tenant, sub="bff", scope=BFF_SCOPES))


def new_job(api: Api, *, workspace: str = "ws-a", node: str = NODE, user: str = "u1",
            states: list[str] | tuple = ()) -> tuple[str, str]:
    """Submits a job and posts `states` as applied events; returns (job_id, submission_id)."""
    body = submit_body(api.tenant, workspace_id=workspace, management_node_id=node,
                       requested_by={"user_id": user})
    sub = api.submit_ok(body)["submission_id"]
    for st in states:
        extra = {"result_ref": {"output_uri": "file:///out"}} if st == "completed" else {}
        api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sub, st,
                                                workspace_id=workspace, **extra))
    return body["job_id"], sub


def post_state(api: Api, job_id: str, sub: str, state: str, workspace: str = "ws-a") -> None:
    api.event_ok(job_id, event_body(api.tenant, job_id, sub, state, workspace_id=workspace))


def list_ok(api: Api, params=None) -> dict:
    r = api.list_jobs(params)
    assert r.status_code == 200, f"list {params}: {r.status_code} {r.text}"
    doc = r.json()
    assert set(doc) == {"jobs", "next_cursor", "watch_from"}, doc.keys()
    assert isinstance(doc["watch_from"], str) and doc["watch_from"], doc
    return doc


def list_all(api: Api, params: dict | None = None, limit: int = 500) -> list[dict]:
    """Every page of a listing, following next_cursor."""
    params = dict(params or {}, limit=limit)
    out: list[dict] = []
    while True:
        doc = list_ok(api, params)
        out += doc["jobs"]
        if doc["next_cursor"] is None:
            return out
        params["cursor"] = doc["next_cursor"]


def newest_first(jobs: list[dict]) -> list[str]:
    return [j["job_id"] for j in sorted(jobs, key=lambda j: (j["accepted_at"], j["job_id"]),
                                        reverse=True)]


def db_changes(srv: Server, tenant: str) -> list[tuple[int, str, int, dict]]:
    """(seq, job_id, projection_version, payload) of the tenant's job_changes rows, seq order."""
    sql = ("SELECT seq, job_id, projection_version, payload_json FROM {t}job_changes "
           "WHERE tenant_id = '{tenant}' ORDER BY seq")
    rows = []
    if srv.backend == "postgresql":
        for line in psql(sql.format(t=srv.pg_schema + ".", tenant=tenant)).splitlines():
            seq, job_id, version, payload = line.split("|", 3)
            rows.append((int(seq), job_id, int(version), json.loads(payload)))
        return rows
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10)
    try:
        for seq, job_id, version, payload in con.execute(sql.format(t="", tenant=tenant)):
            rows.append((seq, job_id, version, json.loads(payload)))
    finally:
        con.close()
    return rows


def versions(events) -> list[tuple[str, int]]:
    return [(e.json()["job_id"], e.json()["projection_version"]) for e in events]


def open_watch(api: Api, params=None, last_event_id: str | None = None) -> SseStream:
    w = api.watch(params, last_event_id)
    assert w.status == 200, f"watch {params}: {w.status} {w.body[:300]!r}"
    return w


@pytest.fixture
def tenant_api(server):
    a = bff(server)
    yield a
    a.close()


# --------------------------------------------------------------------------------------------
# GET /api/runtime/jobs
# --------------------------------------------------------------------------------------------
def test_list_filters_select_exactly_the_matching_jobs_newest_first(tenant_api):
    api = tenant_api
    for i, final in enumerate(["submitted", "queued", "running", "completed", "failed",
                               "cancelled"] * 2):
        new_job(api, workspace=("ws-a", "ws-b")[i % 2], node=(NODE, OTHER_NODE)[i % 3 == 0],
                user=("u1", "u2", "u3")[i % 3], states=STATE_PATHS[final])
    every = {j["job_id"]: j for j in list_all(api)}
    assert len(every) == 12
    for job_id, view in every.items():  # each entry is GET /api/runtime/jobs/{id}'s object
        assert view == api.job_ok(job_id)
    jobs = list(every.values())
    mid = sorted(j["updated_at"] for j in jobs)[6]
    cases = [
        ({}, lambda j: True),
        ({"workspace_id": "ws-b"}, lambda j: j["workspace_id"] == "ws-b"),
        ({"state": "running"}, lambda j: j["state"] == "running"),
        ({"state": "completed,failed,cancelled"},
         lambda j: j["state"] in ("completed", "failed", "cancelled")),
        ({"state": "submitted,queued"}, lambda j: j["state"] in ("submitted", "queued")),
        ({"management_node_id": OTHER_NODE}, lambda j: j["management_node_id"] == OTHER_NODE),
        ({"requested_by": "u2"}, lambda j: j["requested_by"]["user_id"] == "u2"),
        ({"updated_after": mid}, lambda j: j["updated_at"] > mid),
        ({"updated_before": mid}, lambda j: j["updated_at"] < mid),
        ({"workspace_id": "ws-a", "state": "submitted,completed,cancelled"},
         lambda j: j["workspace_id"] == "ws-a" and j["state"] in ("submitted", "completed",
                                                                  "cancelled")),
        ({"requested_by": "u1", "management_node_id": NODE, "updated_after": mid},
         lambda j: j["requested_by"]["user_id"] == "u1" and j["management_node_id"] == NODE
         and j["updated_at"] > mid),
        ({"workspace_id": "ws-none"}, lambda j: False),
    ]
    for params, pred in cases:
        want = newest_first([j for j in jobs if pred(j)])
        got = [j["job_id"] for j in list_ok(api, params)["jobs"]]
        assert got == want, f"{params}: got {got}, want {want}"
        # the same selection through pages of 2
        assert [j["job_id"] for j in list_all(api, params, limit=2)] == want, params


def test_paging_while_jobs_are_submitted_never_repeats_or_skips(tenant_api):
    api = tenant_api
    initial = {new_job(api)[0] for _ in range(60)}
    first = list_ok(api)
    assert len(first["jobs"]) == 50 and first["next_cursor"], "default limit is 50"
    stop = threading.Event()
    extra: list[str] = []
    writer = bff(api.server, api.tenant)

    def submit_more():
        while not stop.is_set():
            extra.append(new_job(writer)[0])

    t = threading.Thread(target=submit_more)
    t.start()
    try:
        seen: list[dict] = []
        params = {"limit": 7}
        watch_from = None
        while True:
            doc = list_ok(api, params)
            watch_from = watch_from or doc["watch_from"]
            assert doc["watch_from"] == watch_from, "later pages carry the first page's watch_from"
            assert len(doc["jobs"]) <= 7
            seen += doc["jobs"]
            if doc["next_cursor"] is None:
                break
            params["cursor"] = doc["next_cursor"]
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
        writer.close()
    ids = [j["job_id"] for j in seen]
    assert len(ids) == len(set(ids)), "a job repeated across pages"
    assert initial <= set(ids), f"skipped: {initial - set(ids)}"
    keys = [(j["accepted_at"], j["job_id"]) for j in seen]
    assert keys == sorted(keys, reverse=True), "not newest submission first"
    assert extra, "the writer submitted nothing meanwhile"


BAD_LIST_PARAMS = [
    ("limit", {"limit": "0"}), ("limit", {"limit": "501"}), ("limit", {"limit": "ten"}),
    ("limit", {"limit": "1.5"}), ("limit", [("limit", "5"), ("limit", "6")]),
    ("state", {"state": "sleeping"}), ("state", {"state": "running,"}),
    ("state", {"state": "running,bogus"}), ("updated_after", {"updated_after": "yesterday"}),
    ("updated_before", {"updated_before": "2026-13-01T00:00:00Z"}),
    ("cursor", {"cursor": "garbage"}), ("cursor", {"cursor": "l1.e30"}),
    ("workspace_id", [("workspace_id", "a"), ("workspace_id", "b")]),
    ("colour", {"colour": "blue"}),
]


@pytest.mark.parametrize("name,params", BAD_LIST_PARAMS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_LIST_PARAMS)])
def test_list_bad_parameter_is_400_naming_it(tenant_api, name, params):
    new_job(tenant_api)
    err = assert_error(tenant_api.list_jobs(params), 400, "invalid_argument", str(params))
    assert err["message"].startswith(name), (params, err["message"])


def test_list_cursor_of_other_filters_or_another_tenant_is_refused(server, tenant_api):
    api = tenant_api
    for ws in ("ws-a", "ws-a", "ws-b", "ws-b"):
        new_job(api, workspace=ws)
    doc = list_ok(api, {"workspace_id": "ws-a", "limit": 1})
    cursor = doc["next_cursor"]
    assert cursor
    assert len(list_ok(api, {"workspace_id": "ws-a", "limit": 1, "cursor": cursor})["jobs"]) == 1
    for other in ({"workspace_id": "ws-b"}, {}, {"workspace_id": "ws-a", "state": "queued"}):
        err = assert_error(api.list_jobs(dict(other, limit=1, cursor=cursor)), 400,
                           "invalid_argument", str(other))
        assert err["message"].startswith("cursor"), err
    intruder = bff(server)
    try:
        err = assert_error(intruder.list_jobs({"workspace_id": "ws-a", "limit": 1,
                                               "cursor": cursor}), 400, "invalid_argument")
        assert err["message"].startswith("cursor"), err
    finally:
        intruder.close()


def test_nothing_of_another_tenant_in_lists_watches_or_long_polls(server):
    mine, theirs = bff(server), bff(server)
    try:
        their_job, their_sub = new_job(theirs, workspace=theirs.tenant)
        with open_watch(mine) as w, open_watch(mine, {"job_id": their_job}) as by_id:
            new_job(theirs, workspace=mine.tenant)  # even a workspace named like mine
            post_state(theirs, their_job, their_sub, "running", theirs.tenant)
            my_job, _ = new_job(mine)
            assert [e.json()["job_id"] for e in w.take(1)] == [my_job]
            assert w.quiet(0.5) == [] and by_id.quiet(0.1) == []
        assert [j["job_id"] for j in list_all(mine)] == [my_job]
        assert list_ok(mine, {"workspace_id": theirs.tenant})["jobs"] == []
        assert list_ok(mine, {"workspace_id": mine.tenant})["jobs"] == []
        r = mine.get(f"/api/runtime/jobs/{their_job}/projection?wait_version_gt=0&timeout_s=1")
        assert_error(r, 404, "not_found")
        # a change cursor of another tenant is not a cursor here
        their_from = list_ok(theirs)["watch_from"]
        with mine.watch({"after": their_from}) as bad:
            assert_raw_error(bad.raw(), 400, "invalid_argument")
    finally:
        mine.close()
        theirs.close()


def test_node_tokens_list_and_watch_only_their_nodes_jobs(server, tenant_api):
    api = tenant_api
    mine = [new_job(api, node=NODE)[0] for _ in range(2)]
    new_job(api, node=OTHER_NODE)
    node = Api(server, api.tenant, make_token(api.tenant, sub="agent-a", node_id=NODE))
    try:
        assert set(j["job_id"] for j in list_all(node)) == set(mine)
        assert set(j["job_id"] for j in list_all(node, {"management_node_id": NODE})) == set(mine)
        assert_error(node.list_jobs({"management_node_id": OTHER_NODE}), 403, "node_mismatch")
        with node.watch({"management_node_id": OTHER_NODE}) as w:
            assert_raw_error(w.raw(), 403, "node_mismatch")
        with open_watch(node) as w:
            other, _ = new_job(api, node=OTHER_NODE)
            ours, _ = new_job(api, node=NODE)
            assert [e.json()["job_id"] for e in w.take(1)] == [ours]
            assert w.quiet(0.5) == []
    finally:
        node.close()


@pytest.fixture(scope="module")
def strict_server(module_server_factory):
    return module_server_factory("--authz", "strict")


def test_strict_mode_users_list_and_watch_only_their_own_jobs(strict_server):
    tenant = uid("tenant")
    alice = Api(strict_server, tenant, make_token(tenant, sub="alice"))
    bob = Api(strict_server, tenant, make_token(tenant, sub="bob"))
    reader = Api(strict_server, tenant, make_token(tenant, sub="ops", scope="runtime:read"))
    writer_only = Api(strict_server, tenant, make_token(tenant, sub="w", scope="runtime:submit"))
    try:
        hers = [new_job(alice, user="alice")[0] for _ in range(2)]
        his = [new_job(bob, user="bob")[0] for _ in range(2)]
        assert set(j["job_id"] for j in list_all(alice)) == set(hers)
        assert set(j["job_id"] for j in list_all(alice, {"requested_by": "alice"})) == set(hers)
        assert_error(alice.list_jobs({"requested_by": "bob"}), 403, "subject_mismatch")
        assert set(j["job_id"] for j in list_all(reader)) == set(hers + his)
        assert_error(writer_only.list_jobs(), 403, "scope_denied")
        with writer_only.watch() as w:
            assert_raw_error(w.raw(), 403, "scope_denied")
        with open_watch(alice) as w:
            new_job(bob, user="bob")
            mine, _ = new_job(alice, user="alice")
            assert [e.json()["job_id"] for e in w.take(1)] == [mine]
            assert w.quiet(0.5) == []
    finally:
        for c in (alice, bob, reader, writer_only):
            c.close()


# --------------------------------------------------------------------------------------------
# GET /api/runtime/jobs:watch
# --------------------------------------------------------------------------------------------
def test_watch_sends_headers_at_once_then_one_event_per_change_in_order(server, tenant_api):
    api = tenant_api
    # Through httpx too, so the OpenAPI response check sees the streamed 200.
    with api.client.stream("GET", "/api/runtime/jobs:watch", headers=api.headers()) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] == "text/event-stream"
    started = time.monotonic()
    w = open_watch(api)
    try:
        assert time.monotonic() - started < 2.0, "the head must not wait for an event"
        assert w.headers["content-type"].split(";")[0] == "text/event-stream"
        assert w.headers["cache-control"] == "no-store"
        assert w.headers["x-accel-buffering"] == "no"
        assert w.quiet(0.3) == []
        assert w.retry_ms == 3000
        body = submit_body(api.tenant, workspace_id="ws-a", management_node_id=NODE,
                           requested_by={"user_id": "u1"})
        job = body["job_id"]
        sub = api.submit_ok(body)["submission_id"]
        api.submit_ok(body)  # a replay: no change
        events = [event_body(api.tenant, job, sub, st, workspace_id="ws-a")
                  for st in ("queued", "running")]
        for ev in events:
            api.event_ok(job, ev)
        api.event_ok(job, events[0], idempotent=True)  # a replayed event: no change
        done = event_body(api.tenant, job, sub, "completed", workspace_id="ws-a",
                          result_ref={"output_uri": "file:///out"})
        api.event_ok(job, done)
        api.event_ok(job, event_body(api.tenant, job, sub, "running", workspace_id="ws-a"))
        got = w.take(4)
        assert w.quiet(0.5) == [], "a replay or an unapplied event made an event"
    finally:
        w.close()
    assert [e.event for e in got] == ["job"] * 4
    assert len({e.id for e in got}) == 4 and all(e.id for e in got)
    docs = [e.json() for e in got]
    assert [(d["projection_version"], d["state"], d["status"]) for d in docs] == [
        (1, "submitted", "queued"), (2, "queued", "queued"), (3, "running", "running"),
        (4, "completed", "finished")]
    for d in docs:
        assert (d["tenant_id"], d["workspace_id"], d["job_id"], d["submission_id"]) == (
            api.tenant, "ws-a", job, sub)
    assert docs[3]["result_ref"] == {"output_uri": "file:///out"}
    # The data is the change the store committed, in seq order.
    assert [(j, v, p) for _, j, v, p in db_changes(server, api.tenant)] == [
        (job, d["projection_version"], d) for d in docs]
    proj = api.projection_ok(job)
    assert (proj["projection_version"], proj["status"]) == (4, "finished")


def test_watch_filters_select_the_matching_changes(tenant_api):
    api = tenant_api
    a1, s1 = new_job(api, workspace="ws-a", node=NODE)
    b1, t1 = new_job(api, workspace="ws-b", node=OTHER_NODE)
    c1, u1 = new_job(api, workspace="ws-b", node=NODE)
    watches = {
        "all": open_watch(api),
        "ws-b": open_watch(api, {"workspace_id": "ws-b"}),
        "jobs": open_watch(api, {"job_id": [a1, b1]}),
        "node": open_watch(api, {"management_node_id": NODE}),
        "ws-b+node": open_watch(api, {"workspace_id": "ws-b", "management_node_id": NODE}),
    }
    try:
        post_state(api, a1, s1, "running", "ws-a")
        post_state(api, b1, t1, "running", "ws-b")
        post_state(api, c1, u1, "queued", "ws-b")
        d1, _ = new_job(api, workspace="ws-a", node=OTHER_NODE)
        want = {"all": [(a1, 2), (b1, 2), (c1, 2), (d1, 1)], "ws-b": [(b1, 2), (c1, 2)],
                "jobs": [(a1, 2), (b1, 2)], "node": [(a1, 2), (c1, 2)], "ws-b+node": [(c1, 2)]}
        for name, w in watches.items():
            assert versions(w.take(len(want[name]))) == want[name], name
            assert w.quiet(0.2 if name != "all" else 0.5) == [], name
    finally:
        for w in watches.values():
            w.close()


def test_resume_with_last_event_id_or_after_has_no_gap_and_no_duplicate(server, tenant_api):
    api = tenant_api
    w = open_watch(api)
    job, sub = new_job(api)
    post_state(api, job, sub, "queued")
    first = w.take(2)
    w.close()
    post_state(api, job, sub, "running")  # while nobody watches
    other, _ = new_job(api)
    want = [(job, 3), (other, 1)]
    with open_watch(api, last_event_id=first[1].id) as again:
        got = again.take(2)
        assert versions(got) == want
        assert again.quiet(0.3) == []
    with open_watch(api, {"after": first[1].id}) as same:
        assert versions(same.take(2)) == want
    # Last-Event-ID wins over `after` (a browser resends it with the page's original URL).
    with open_watch(api, {"after": first[0].id}, last_event_id=got[0].id) as w2:
        assert versions(w2.take(1)) == [(other, 1)]
        assert w2.quiet(0.3) == []
    # the ids of a resumed stream continue the first stream's: resuming from any id works
    with open_watch(api, last_event_id=first[0].id) as w3:
        assert [e.id for e in w3.take(3)] == [first[1].id] + [e.id for e in got]
    assert [(j, v) for _, j, v, _ in db_changes(server, api.tenant)] == [
        (job, 1), (job, 2), (job, 3), (other, 1)]


def test_after_watch_from_of_a_list_misses_nothing_committed_since(tenant_api):
    api = tenant_api
    job, sub = new_job(api)
    new_job(api)
    doc = list_ok(api, {"limit": 1})
    post_state(api, job, sub, "running")
    later, _ = new_job(api)
    page2 = list_ok(api, {"limit": 1, "cursor": doc["next_cursor"]})
    assert page2["watch_from"] == doc["watch_from"]
    with open_watch(api, {"after": doc["watch_from"]}) as w:
        assert versions(w.take(2)) == [(job, 2), (later, 1)]
        assert w.quiet(0.3) == []
    fresh = list_ok(api)  # a list now: nothing left to catch up
    with open_watch(api, {"after": fresh["watch_from"]}) as w:
        assert w.quiet(0.5) == []


BAD_WATCH_PARAMS = [
    ("after", {"after": "garbage"}), ("after", {"after": "c1.AAAA"}),
    ("job_id", {"job_id": [f"job-{i}" for i in range(101)]}),
    ("state", {"state": "running"}),
    ("workspace_id", [("workspace_id", "a"), ("workspace_id", "b")]),
]


@pytest.mark.parametrize("name,params", BAD_WATCH_PARAMS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_WATCH_PARAMS)])
def test_watch_bad_parameter_is_400_naming_it(tenant_api, name, params):
    with tenant_api.watch(params) as w:
        err = assert_raw_error(w.raw(), 400, "invalid_argument", name)
    assert err["message"].startswith(name), err


def test_watch_refuses_list_cursors_and_garbage_ids_and_takes_100_job_ids(tenant_api):
    api = tenant_api
    new_job(api)
    new_job(api)
    list_cursor = list_ok(api, {"limit": 1})["next_cursor"]
    with api.watch({"after": list_cursor}) as w:  # a list cursor is not a change cursor
        err = assert_raw_error(w.raw(), 400, "invalid_argument")
    assert err["message"].startswith("after"), err
    with api.watch(last_event_id="nonsense") as w:
        assert_raw_error(w.raw(), 400, "invalid_argument")
    with open_watch(api, {"job_id": [f"job-{i}" for i in range(100)]}) as w:
        assert w.quiet(0.1) == []


def test_a_cursor_ahead_of_the_feed_is_400(server_factory):
    """A cursor from a store whose feed went further (another database) is ahead here."""
    first, fresh = server_factory(), server_factory()
    tenant = uid("tenant")
    ahead, behind = bff(first, tenant), bff(fresh, tenant)
    try:
        for _ in range(3):
            new_job(ahead)
        cursor = list_ok(ahead)["watch_from"]  # seq 3 of this tenant
        with behind.watch({"after": cursor}) as w:  # the same tenant, an empty feed
            err = assert_raw_error(w.raw(), 400, "invalid_argument")
        assert err["message"].startswith("after"), err
    finally:
        ahead.close()
        behind.close()


def test_a_cursor_older_than_the_retention_is_410_cursor_expired(server_factory):
    srv = server_factory("--change-retention", "1s")
    api = bff(srv)
    try:
        start = list_ok(api)["watch_from"]
        job, sub = new_job(api)
        post_state(api, job, sub, "running")

        def expired() -> bool:
            with api.watch({"after": start}) as w:
                if w.status == 410:
                    err = assert_raw_error(w.raw(), 410, "cursor_expired")
                    assert err["message"].startswith("after: "), err
                    return True
                assert w.status == 200, w.body
                return False
        wait_until(expired, timeout=15, interval=0.3, what="the changes to be pruned")
        with api.watch(last_event_id=start) as w:
            err = assert_raw_error(w.raw(), 410, "cursor_expired")
            assert err["message"].startswith("Last-Event-ID: "), err  # names what was sent
        # The client lists again and watches from there.
        again = list_ok(api)
        assert [j["job_id"] for j in again["jobs"]] == [job]
        with open_watch(api, {"after": again["watch_from"]}) as w:
            post_state(api, job, sub, "completed")
            assert versions(w.take(1)) == [(job, 3)]
    finally:
        api.close()


def test_watcher_limits_answer_429_with_retry_after(server_factory):
    srv = server_factory("--max-watchers", "3", "--max-watchers-per-tenant", "2")
    x, y, z = bff(srv), bff(srv), bff(srv)
    job, _ = new_job(x)
    opened: list[SseStream] = []
    try:
        opened += [open_watch(x), open_watch(x)]
        with x.watch() as third:
            assert_raw_error(third.raw(), 429, "too_many_watchers")
            assert third.headers.get("retry-after") == "1"
        r = x.get(f"/api/runtime/jobs/{job}/projection?wait_version_gt=1&timeout_s=1")
        assert_error(r, 429, "too_many_watchers")  # a long poll is a watcher too
        assert r.headers.get("retry-after") == "1"
        opened.append(open_watch(y))  # another tenant: its own count, 3 in the process
        with z.watch() as over:
            assert_raw_error(over.raw(), 429, "too_many_watchers")
        opened.pop(0).close()  # a watcher goes away: its place is free again

        def admitted() -> bool:
            w = x.watch()
            if w.status == 200:
                opened.append(w)
                return True
            assert_raw_error(w.raw(), 429, "too_many_watchers")
            w.close()
            return False
        wait_until(admitted, timeout=5, interval=0.1, what="the closed watcher's slot")
    finally:
        for w in opened:
            w.close()
        for c in (x, y, z):
            c.close()


def test_keepalive_comment_at_the_heartbeat(server_factory):
    srv = server_factory("--watch-heartbeat", "1s")
    api = bff(srv)
    try:
        with open_watch(api) as w:
            assert w.quiet(3.2) == []
            assert w.comments.count("keepalive") >= 2, w.comments
            job, _ = new_job(api)  # and the stream still carries events
            assert versions(w.take(1)) == [(job, 1)]
    finally:
        api.close()


# --------------------------------------------------------------------------------------------
# GET /api/runtime/jobs/{id}/projection?wait_version_gt=N&timeout_s=T
# --------------------------------------------------------------------------------------------
def test_long_poll_answers_early_on_a_change_and_at_the_timeout_otherwise(tenant_api):
    api = tenant_api
    job, sub = new_job(api)
    path = f"/api/runtime/jobs/{job}/projection"
    t0 = time.monotonic()
    r = api.get(path + "?wait_version_gt=0&timeout_s=10")  # already newer: at once
    assert r.status_code == 200 and r.json()["projection_version"] == 1, r.text
    assert time.monotonic() - t0 < 1.5
    with cf.ThreadPoolExecutor(1) as ex, api.server.client() as poller:
        t0 = time.monotonic()
        fut = ex.submit(poller.get, path + "?wait_version_gt=1&timeout_s=20",
                        headers=api.headers())
        time.sleep(0.5)
        assert not fut.done(), "answered before any change"
        post_state(api, job, sub, "running")
        r = fut.result(timeout=10)
        took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert r.json()["projection_version"] == 2 and r.json()["status"] == "running"
    assert took < 3.0, f"took {took:.2f}s for a change posted after 0.5s"
    assert r.json() == api.projection_ok(job)
    t0 = time.monotonic()
    r = api.get(path + "?wait_version_gt=2&timeout_s=1")
    took = time.monotonic() - t0
    assert r.status_code == 200 and r.json()["projection_version"] == 2, r.text
    assert 0.9 <= took < 3.0, f"timeout 1 s answered after {took:.2f}s"


@pytest.mark.parametrize("query,name", [
    ("wait_version_gt=-1", "wait_version_gt"), ("wait_version_gt=x", "wait_version_gt"),
    ("wait_version_gt=1&timeout_s=0", "timeout_s"), ("wait_version_gt=1&timeout_s=61", "timeout_s"),
    ("timeout_s=5", "timeout_s"),
])
def test_long_poll_bad_parameter_is_400_naming_it(tenant_api, query, name):
    job, _ = new_job(tenant_api)
    r = tenant_api.get(f"/api/runtime/jobs/{job}/projection?{query}")
    err = assert_error(r, 400, "invalid_argument", query)
    assert err["message"].startswith(name), err


# --------------------------------------------------------------------------------------------
# the ordering property: concurrent writers (two PostgreSQL replicas), a reconnecting watcher
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_reconnecting_watcher_sees_every_committed_change_once_in_order(server_factory,
                                                                        backend):
    """PostgreSQL: replicas A and B on one schema, writers through both at once, the watcher
    on A. Sequence values are taken in one order and committed in another; a feed that numbered
    changes that way would let a watcher skip a change that commits after a higher number was
    read. Here every reconnect (every 20 events, alternately with Last-Event-ID and `after`)
    is a fresh read of the feed from the last id, so a skipped change shows up as a gap against
    the database at the end."""
    a = server_factory()
    b = server_factory(pg_schema=a.pg_schema) if backend == "postgresql" else a
    tenant = uid("tenant")
    apis = {"a": bff(a, tenant), "b": bff(b, tenant)}
    watcher = bff(a, tenant)
    steady = bff(b, tenant)  # a second watcher, on B, that never reconnects
    start = list_ok(watcher)["watch_from"]
    writers, jobs_each, per_reconnect = 6, 12, 20
    collected: list = []
    reconnects = 0
    target: list[int] = []  # set once the writers are done: the number of changes in the db
    failure: list[BaseException] = []

    def watch_loop():
        nonlocal reconnects
        last = start
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not (target and len(collected) >= target[0]):
                resume = ({"after": last}, None) if reconnects % 2 else (None, last)
                with open_watch(watcher, resume[0], last_event_id=resume[1]) as w:
                    n = 0
                    while (n < per_reconnect and time.monotonic() < deadline
                           and not (target and len(collected) >= target[0])):
                        try:
                            ev = w.next(0.5)
                        except TimeoutError:
                            continue
                        assert ev is not None, "the server ended the stream"
                        collected.append(ev)
                        last = ev.id
                        n += 1
                reconnects += 1
        except BaseException as e:  # reported by the main thread
            failure.append(e)

    steady_stream = open_watch(steady, {"after": start})
    t = threading.Thread(target=watch_loop)
    t.start()

    def write(i: int) -> None:
        via = [apis["a"], apis["b"]]
        for k in range(jobs_each):
            w1, w2 = via[(i + k) % 2], via[(i + k + 1) % 2]
            job, sub = new_job(w1, workspace=f"ws-{i % 3}")
            for n, st in enumerate(("queued", "running", "completed")):
                (w2 if n % 2 == 0 else w1).event_ok(job, event_body(
                    tenant, job, sub, st, workspace_id=f"ws-{i % 3}",
                    **({"result_ref": {"output_uri": "file:///o"}} if st == "completed" else {})))

    try:
        with cf.ThreadPoolExecutor(writers) as ex:
            for f in [ex.submit(write, i) for i in range(writers)]:
                f.result()
        rows = db_changes(a, tenant)
        target.append(len(rows))
        t.join(timeout=110)
        assert not t.is_alive(), "the watcher did not finish"
        if failure:
            raise failure[0]
        steady_events = steady_stream.take(len(rows), timeout=30)
    finally:
        steady_stream.close()
        for c in (*apis.values(), watcher, steady):
            c.close()
    total = writers * jobs_each * 4
    assert len(rows) == total, f"{len(rows)} changes in the database, {total} made"
    assert [seq for seq, *_ in rows] == list(range(1, total + 1)), "seq not gap-free from 1"
    assert reconnects >= total // per_reconnect - 1, reconnects
    want = [(j, v) for _, j, v, _ in rows]
    for name, got in (("reconnecting watcher on A", collected), ("steady watcher on B",
                                                                 steady_events)):
        seen = versions(got)
        dups = len(seen) - len(set(seen))
        missing = set(want) - set(seen)
        assert not dups and not missing, f"{name}: {dups} duplicates, missing {sorted(missing)[:10]}"
        assert seen == want, f"{name}: not the database's seq order"
        assert [e.json() for e in got] == [p for *_, p in rows], f"{name}: payloads differ"
        assert len({e.id for e in got}) == total
    per_job: dict[str, list[int]] = {}
    for job, v in versions(collected):
        per_job.setdefault(job, []).append(v)
    assert len(per_job) == writers * jobs_each
    reader = bff(b, tenant)
    try:
        for job, vs in per_job.items():
            assert vs == [1, 2, 3, 4], f"{job}: versions {vs}"
            proj = reader.projection_ok(job)
            assert (proj["projection_version"], proj["state"]) == (4, "completed"), proj
            assert collected[max(i for i, e in enumerate(collected)
                                 if e.json()["job_id"] == job)].json()["status"] == proj["status"]
    finally:
        reader.close()
