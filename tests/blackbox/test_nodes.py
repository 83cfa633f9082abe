"""Management-node surface (docs/contracts/agent-protocol.md), black-box against a real
`rtgw serve`: pytest plays the agent over HTTP with node tokens. Heartbeats and deep health,
leases (acquire long poll, renew, release, expiry), concurrent acquirers, node and tenant
boundaries on leases and events, cancel in every state, the onboarding dry-run, and SIGTERM
answering parked long polls."""
from __future__ import annotations

import concurrent.futures
import signal
import threading
import time

import pytest

from conftest import (Api, Unchanged, assert_error, db_counts, event_body, make_token,
                      submit_body, uid, TS_MICROS_RE)
from slurm_helpers import CATALOGUE, Node, adapter_env, heartbeat_body, write_policy


NODE = "mgmt-node-1"


@pytest.fixture
def pair(server):
    """A tenant's product client and its node NODE."""
    api = Api(server)
    node = Node(server, api.tenant, NODE)
    yield api, node
    api.close()
    node.close()


def submit(api: Api, node_id: str = NODE, **over) -> tuple[dict, dict]:
    body = submit_body(api.tenant, management_node_id=node_id, **over)
    return body, api.submit_ok(body)


def lease_ids(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return {l["job_id"]: l["lease_id"] for l in resp.json()["leases"]}


# ---------------------------------------------------------------------------------------------
# node token rules, heartbeat, deep health
# ---------------------------------------------------------------------------------------------
def test_node_routes_need_a_token_of_that_node(pair):
    api, node = pair
    product = Node(api.server, api.tenant, NODE, token=make_token(api.tenant))
    try:
        for call in (lambda n: n.heartbeat(), lambda n: n.acquire(), lambda n: n.renew("x"),
                     lambda n: n.release("x")):
            assert_error(call(product), 403, "node_token_required")
        assert_error(node.heartbeat(node_id="other-node"), 403, "node_mismatch")
        assert_error(node.acquire(node_id="other-node"), 403, "node_mismatch")
    finally:
        product.close()
    with api.server.client() as c:
        r = c.post(f"/api/runtime/nodes/{NODE}/heartbeat", json=heartbeat_body())
        assert_error(r, 401, "unauthenticated")


def test_heartbeat_validates_and_answers(pair):
    api, node = pair
    r = node.heartbeat()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and TS_MICROS_RE.match(body["server_time"])
    assert body["stale_after_seconds"] == 60
    before = db_counts(api.server)
    for bad, field in [({"executor": "slurm", "slurm": CATALOGUE}, "agent_version"),
                       ({"agent_version": "1", "executor": "slurm"}, "slurm"),
                       (heartbeat_body(dict(CATALOGUE, partitions=[{"name": "p"}])),
                        "slurm.partitions[0].state")]:
        err = assert_error(node.heartbeat(bad), 400, "invalid_argument")
        assert field in err["message"], err
    assert db_counts(api.server) == before
    with api.server.client() as c:
        r = c.post(f"/api/runtime/nodes/{NODE}/heartbeat", content=b"{}",
                   headers={"authorization": "Bearer " + node.token, "content-type": "text/plain"})
        assert_error(r, 415, "unsupported_media_type")


def deep_health(srv, token: str | None = None) -> dict:
    headers = {"authorization": "Bearer " + token} if token else {}
    with srv.client() as c:
        r = c.get("/api/health?deep=1", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["checks"]["managed_aiida_runtime"]


@pytest.mark.slow
def test_deep_health_lists_the_tenants_nodes_and_marks_them_stale(server_factory):
    srv = server_factory("--node-stale-after-seconds", "5")
    api = Api(srv)
    a = Node(srv, api.tenant, "node-a")
    local = Node(srv, api.tenant, "node-local")
    other = Node(srv, uid("tenant"), "node-x")
    try:
        assert deep_health(srv, api.token)["status"] == "empty"
        assert a.heartbeat().status_code == 200
        assert local.heartbeat(heartbeat_body(executor="local")).status_code == 200
        assert other.heartbeat().status_code == 200
        mine = deep_health(srv, api.token)
        assert mine["status"] == "ok" and mine["scope"] == "tenant"
        assert [n["node_id"] for n in mine["nodes"]] == ["node-a", "node-local"]
        n = mine["nodes"][0]
        assert n["tenant_id"] == api.tenant and n["executor"] == "slurm" and n["stale"] is False
        assert n["slurm_version"] == "22.05.8" and TS_MICROS_RE.match(n["last_seen"])
        assert [p["name"] for p in n["partitions"]] == ["debug", "batch", "gpu"]
        assert mine["nodes"][1]["slurm_version"] is None
        # Anonymous callers see counts over all tenants, never node or tenant ids.
        anon = deep_health(srv)
        assert anon["scope"] == "summary" and anon["nodes"] == [] and anon["nodes_total"] == 3
        time.sleep(4)
        assert a.heartbeat().status_code == 200  # node-a stays fresh, node-local goes stale
        time.sleep(1.6)
        mine = deep_health(srv, api.token)
        assert mine["status"] == "degraded" and mine["nodes_stale"] == 1
        assert {n["node_id"]: n["stale"] for n in mine["nodes"]} == {"node-a": False,
                                                                     "node-local": True}
        assert mine["nodes"][1]["age_seconds"] >= 5
    finally:
        for c in (api, a, local, other):
            c.close()


# ---------------------------------------------------------------------------------------------
# leases
# ---------------------------------------------------------------------------------------------
def test_acquire_renew_release(pair):
    api, node = pair
    b1, s1 = submit(api)
    b2, s2 = submit(api)
    r = node.acquire(lease_seconds=30)
    leases = r.json()["leases"]
    assert [l["job_id"] for l in leases] == [b1["job_id"], b2["job_id"]]
    first = leases[0]
    assert first["submission_id"] == s1["submission_id"] and first["tenant_id"] == api.tenant
    assert first["execution_profile"] == b1["execution_profile"]
    assert first["resource_shape"] == b1["resource_shape"]
    assert first["payload_ref"] == b1["payload_ref"]
    assert first["requested_by"] == b1["requested_by"]
    assert first["slurm_adapter"]["adapter"] == "passthrough"
    assert TS_MICROS_RE.match(first["lease_expires_at"])
    assert r.json()["cancellations"] == []
    assert node.acquire().json()["leases"] == []  # held: not granted again

    renewed = node.renew(first["lease_id"], lease_seconds=120)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["lease_id"] == first["lease_id"]
    assert renewed.json()["lease_expires_at"] > first["lease_expires_at"]

    rel = node.release(first["lease_id"])
    assert rel.status_code == 200 and rel.json() == {"ok": True}
    assert node.release(first["lease_id"]).status_code == 200  # idempotent
    assert_error(node.renew(first["lease_id"]), 409, "lease_lost")
    again = lease_ids(node.acquire())
    assert list(again) == [b1["job_id"]] and again[b1["job_id"]] != first["lease_id"]

    # The lease ends when the job leaves 'submitted' (the agent posts queued).
    ev = event_body(api.tenant, b1["job_id"], s1["submission_id"], "queued",
                    event_id=s1["submission_id"] + ":queued", execution_id="4242")
    assert node.event(b1["job_id"], ev).status_code == 200
    assert_error(node.renew(again[b1["job_id"]]), 409, "lease_lost")
    for bad in ({"lease_seconds": 5}, {"lease_seconds": "60"}):
        assert_error(node.renew(leases[1]["lease_id"], **bad), 400, "invalid_argument")
    assert_error(node.acquire(max_jobs=0), 400, "invalid_argument")
    assert_error(node.acquire(wait_seconds=31), 400, "invalid_argument")


@pytest.mark.slow
def test_an_expired_lease_returns_the_work(pair):
    api, node = pair
    body, sub = submit(api)
    first = lease_ids(node.acquire(lease_seconds=10))
    assert list(first) == [body["job_id"]]
    time.sleep(5)
    assert node.acquire().json()["leases"] == []
    # Long poll across the expiry: answered when the lease runs out (recheck), not at the end.
    start = time.monotonic()
    second = lease_ids(node.acquire(wait_seconds=15))
    waited = time.monotonic() - start
    assert list(second) == [body["job_id"]] and second[body["job_id"]] != first[body["job_id"]]
    assert 3 < waited < 9, waited
    assert_error(node.renew(first[body["job_id"]]), 409, "lease_lost")


def test_long_poll_wakes_on_submit_and_times_out_empty(pair):
    api, node = pair
    start = time.monotonic()
    r = node.acquire(wait_seconds=1)
    assert r.json() == {"leases": [], "cancellations": []}
    assert 0.9 <= time.monotonic() - start < 3

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(node.acquire, wait_seconds=20)
        time.sleep(0.5)
        assert not fut.done()
        t0 = time.monotonic()
        body, _ = submit(api)
        got = lease_ids(fut.result(timeout=10))
        assert list(got) == [body["job_id"]]
        assert time.monotonic() - t0 < 2


def test_concurrent_acquirers_never_share_a_job(pair):
    api, node = pair
    n_jobs = 40
    leased: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker():
        n = Node(api.server, api.tenant, NODE, token=node.token)
        try:
            while not stop.is_set():
                got = lease_ids(n.acquire(wait_seconds=1, max_jobs=3))
                with lock:
                    leased.extend(got)
        finally:
            n.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(n_jobs):
        submit(api)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(leased) >= n_jobs:
                break
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(leased) == n_jobs, f"{len(leased)} leases for {n_jobs} jobs"
    assert len(set(leased)) == n_jobs, "a job was leased twice"


def test_nodes_lease_only_their_own_tenants_and_nodes_jobs(pair):
    api, node = pair
    other_node = Node(api.server, api.tenant, "node-b")
    stranger_api = Api(api.server)
    stranger = Node(api.server, stranger_api.tenant, NODE)  # same node id, other tenant
    try:
        mine, _ = submit(api)
        theirs, _ = submit(api, node_id="node-b")
        assert stranger.acquire().json()["leases"] == []
        assert list(lease_ids(other_node.acquire())) == [theirs["job_id"]]
        assert list(lease_ids(node.acquire())) == [mine["job_id"]]
    finally:
        for c in (other_node, stranger_api, stranger):
            c.close()


def test_events_with_a_node_token_only_for_that_nodes_jobs(pair):
    api, node = pair
    body_b, sub_b = submit(api, node_id="node-b")
    ev = event_body(api.tenant, body_b["job_id"], sub_b["submission_id"], "queued")
    unchanged = Unchanged(api, [body_b["job_id"]])
    assert_error(node.event(body_b["job_id"], ev), 403, "node_mismatch")
    unchanged.check("node_mismatch event")
    # Another tenant's job: 404, as for any caller of another tenant.
    stranger = Api(api.server)
    sbody, ssub = submit(stranger)
    stranger_ev = event_body(api.tenant, sbody["job_id"], ssub["submission_id"], "queued")
    assert_error(node.event(sbody["job_id"], stranger_ev), 404, "not_found")
    stranger.close()
    # Its own job: accepted; a product token still posts for any job of its tenant.
    body_a, sub_a = submit(api)
    ok = node.event(body_a["job_id"],
                    event_body(api.tenant, body_a["job_id"], sub_a["submission_id"], "queued"))
    assert ok.status_code == 200, ok.text
    api.event_ok(body_b["job_id"], ev)


# ---------------------------------------------------------------------------------------------
# cancel
# ---------------------------------------------------------------------------------------------
def cancel(api: Api, job_id: str):
    return api.post_json(f"/api/runtime/jobs/{job_id}:cancel", {})


def post_state(api, body, sub, state, **extra):
    api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                            state, event_id=f"{sub['submission_id']}:{state}",
                                            execution_id="4242", **extra))


def test_cancel_in_every_state(pair):
    api, node = pair
    # submitted, never leased: the gateway cancels it itself, in the history.
    fresh, fsub = submit(api)
    r = cancel(api, fresh["job_id"])
    assert r.status_code == 202, r.text
    assert r.json() == {"job_id": fresh["job_id"], "state": "cancelled", "cancel_requested": True}
    d = api.detail_ok(fresh["job_id"])
    assert d["state"] == "cancelled" and d["projection_version"] == 2
    assert [(e["event_id"], e["state"]) for e in d["events"]] == [
        (f"cancel:{fsub['submission_id']}", "cancelled")]
    assert api.projection_ok(fresh["job_id"])["status"] == "cancelled"
    counts = db_counts(api.server)
    assert cancel(api, fresh["job_id"]).status_code == 202  # idempotent: changes nothing
    assert db_counts(api.server) == counts
    assert node.acquire().json()["leases"] == []  # never leased now

    # leased but still submitted, queued, running: a recorded request, the node cancels.
    leased, lsub = submit(api)
    queued, qsub = submit(api)
    running, rsub = submit(api)
    held = lease_ids(node.acquire())
    assert len(held) == 3
    post_state(api, queued, qsub, "queued")
    post_state(api, running, rsub, "running")
    for body, state in ((leased, "submitted"), (queued, "queued"), (running, "running")):
        r = cancel(api, body["job_id"])
        assert r.status_code == 202 and r.json()["state"] == state, r.text
        assert cancel(api, body["job_id"]).status_code == 202
    got = node.acquire().json()
    assert got["leases"] == []
    assert {c["job_id"]: c["execution_id"] for c in got["cancellations"]} == {
        leased["job_id"]: None, queued["job_id"]: "4242", running["job_id"]: "4242"}
    assert_error(node.renew(held[leased["job_id"]]), 409, "lease_lost")
    # The node runs scancel and reports cancelled: no longer listed.
    post_state(api, running, rsub, "cancelled")
    left = {c["job_id"] for c in node.acquire().json()["cancellations"]}
    assert left == {leased["job_id"], queued["job_id"]}

    # terminal: completed / failed are 409; cancelled is 202.
    for final in ("completed", "failed"):
        body, sub = submit(api)
        post_state(api, body, sub, final)
        assert_error(cancel(api, body["job_id"]), 409, "job_terminal")
    assert cancel(api, running["job_id"]).json()["state"] == "cancelled"
    # unknown, another tenant's, another node's (node token).
    assert_error(cancel(api, uid("nope")), 404, "not_found")
    stranger = Api(api.server)
    assert_error(cancel(stranger, queued["job_id"]), 404, "not_found")
    stranger.close()
    other_node = Node(api.server, api.tenant, "node-b")
    assert_error(other_node.cancel(queued["job_id"]), 403, "node_mismatch")
    other_node.close()
    assert node.cancel(queued["job_id"]).status_code == 202


def test_a_cancel_request_wakes_the_nodes_long_poll(pair):
    api, node = pair
    body, sub = submit(api)
    assert len(lease_ids(node.acquire())) == 1
    post_state(api, body, sub, "queued")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(node.acquire, wait_seconds=20)
        time.sleep(0.5)
        t0 = time.monotonic()
        assert cancel(api, body["job_id"]).status_code == 202
        got = fut.result(timeout=10).json()
        assert time.monotonic() - t0 < 2
        assert [c["job_id"] for c in got["cancellations"]] == [body["job_id"]]
    # Already handed out: a new poll lists it again but waits (no busy loop).
    start = time.monotonic()
    again = node.acquire(wait_seconds=1).json()
    assert [c["job_id"] for c in again["cancellations"]] == [body["job_id"]]
    assert time.monotonic() - start >= 0.9


# ---------------------------------------------------------------------------------------------
# onboarding dry-run
# ---------------------------------------------------------------------------------------------
def test_dry_run_reports_and_changes_nothing(server_factory, tmp_path):
    policy = write_policy(tmp_path / "p")
    srv = server_factory(env=adapter_env("stub-policy", policy))
    api = Api(srv)
    try:
        before = db_counts(srv)
        partial = dict(CATALOGUE, partitions=[p for p in CATALOGUE["partitions"]
                                              if p["name"] != "gpu"])
        r = api.post_json("/api/onboarding/dry-run",
                          {"node_id": "node-new", "executor": "slurm", "agent_version": "0.3.0",
                           "slurm": partial})
        assert r.status_code == 200, r.text
        rep = r.json()
        assert rep["dry_run"] is True and rep["adapter"] == "stub-policy"
        assert rep["would_register"]["node_id"] == "node-new"
        assert rep["would_register"]["tenant_id"] == api.tenant
        assert rep["would_register"]["already_registered"] is False
        assert rep["would_register"]["partitions"] == ["debug", "batch"]
        by_queue = {m["queue"]: m for m in rep["queue_mappings"]}
        assert by_queue["default"]["holds"] is True and by_queue["default"]["problems"] == []
        assert by_queue["long"]["holds"] is False  # 600 min > batch MaxTime 300
        assert "MaxTime is 300" in by_queue["long"]["problems"][0]
        assert by_queue["gpu"]["holds"] is False and by_queue["gpu"]["allowed_for_tenant"] is False
        assert "not in the catalogue" in by_queue["gpu"]["problems"][0]
        assert rep["ok"] is False  # "long" is allowed for this tenant and does not hold
        assert db_counts(srv) == before
        assert deep_health(srv, api.token)["nodes"] == []  # nothing registered

        # Once the node has heartbeats, the dry-run says so; still changes nothing.
        node = Node(srv, api.tenant, "node-new")
        assert node.heartbeat().status_code == 200
        before = db_counts(srv)
        rep = node.post("/api/onboarding/dry-run", {"node_id": "node-new", "executor": "slurm",
                                                    "slurm": CATALOGUE}).json()
        assert rep["would_register"]["already_registered"] is True
        assert db_counts(srv) == before
        assert_error(node.post("/api/onboarding/dry-run",
                               {"node_id": "node-other", "executor": "local"}),
                     403, "node_mismatch")
        assert_error(api.post_json("/api/onboarding/dry-run", {"executor": "slurm"}), 400,
                     "invalid_argument")
        node.close()
    finally:
        api.close()


# ---------------------------------------------------------------------------------------------
# shutdown
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_answers_parked_long_polls_and_exits_zero(server_factory):
    srv = server_factory()
    api = Api(srv)
    node = Node(srv, api.tenant, NODE)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(node.acquire, wait_seconds=25)
        time.sleep(0.5)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        r = fut.result(timeout=10)
        assert r.status_code == 200 and r.json() == {"leases": [], "cancellations": []}
        assert srv.proc.wait(timeout=10) == 0  # one SIGTERM: drained, clean exit
        assert time.monotonic() - t0 < 5
    api.close()
    node.close()


def test_a_dev_minted_node_token_works(server, rtgw_bin):
    from conftest import SECRET, run_cli
    tenant = uid("tenant")
    r = run_cli(rtgw_bin, "dev", "token", "--tenant", tenant, "--sub", "agent", "--node", "n-dev",
                env={"RTGW_JWT_HS256_SECRET": SECRET})
    assert r.returncode == 0, r.stderr
    node = Node(server, tenant, "n-dev", token=r.stdout.decode().strip())
    try:
        assert node.heartbeat().status_code == 200
        assert_error(node.heartbeat(node_id="n-other"), 403, "node_mismatch")
    finally:
        node.close()
