"""ProjectionUpdates reach the product sink: every change, in order per job, once.

A real `rtgw serve` with its in-process relay delivers to a real HTTP sink
(projection_sink.py) that verifies signatures and fails on a schedule.
"""
from __future__ import annotations

import json
import time

import pytest

from conftest import Api, admin_token, event_body, free_port, run_cli, submit_body, uid
from projection_sink import ProjectionSink

SINK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = ["--relay-backoff-base-ms", "20", "--relay-backoff-max-ms", "200",
        "--relay-request-timeout-ms", "1000", "--relay-lease-ms", "2000",
        "--relay-poll-interval-ms", "50"]


def relay_args(url: str, *extra: str) -> list[str]:
    return ["--projection-url", url, "--projection-secret", SINK_SECRET, *FAST, *extra]


@pytest.fixture
def sinks():
    made: list[ProjectionSink] = []

    def make(**kw) -> ProjectionSink:
        s = ProjectionSink(SINK_SECRET, **kw).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def lifecycle(api: Api, states=("queued", "running", "completed")) -> dict:
    """Submits a job and walks it through `states`; returns the submit answer."""
    body = submit_body(api.tenant)
    sub = api.submit_ok(body)
    for state in states:
        extra = {"result_ref": {"output_uri": f"file:///out/{body['job_id']}"}} \
            if state == "completed" else {}
        api.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                                state, event_id=f"{sub['submission_id']}:{state}",
                                                **extra))
    return sub


def assert_in_order_once(sink: ProjectionSink) -> None:
    assert sink.bad_signatures == 0
    assert sink.regressions == []
    by_job: dict[tuple[str, str], list[int]] = {}
    for u in sink.applied:
        by_job.setdefault((u["tenant_id"], u["job_id"]), []).append(u["projection_version"])
    for job, versions in by_job.items():
        assert versions == list(range(1, len(versions) + 1)), (job, versions)


def test_every_status_change_arrives_signed_in_order_exactly_once(server_factory, sinks):
    sink = sinks()
    srv = server_factory(*relay_args(sink.url))
    api = Api(srv)
    subs = [lifecycle(api) for _ in range(10)]
    # Replays and a late event change nothing, so they send nothing.
    first = subs[0]
    api.event_ok(first["job_id"], event_body(api.tenant, first["job_id"], first["submission_id"],
                                             "running", event_id=f"{first['submission_id']}:running"),
                 idempotent=True)
    api.event_ok(first["job_id"], event_body(api.tenant, first["job_id"], first["submission_id"],
                                             "queued", event_id=uid("late")))
    assert sink.wait_applied(40), len(sink.applied)
    time.sleep(0.3)
    assert len(sink.applied) == 40
    assert_in_order_once(sink)
    assert sink.duplicates == 0
    for sub in subs:
        updates = sink.applied_for(api.tenant, sub["job_id"])
        assert [u["status"] for u in updates] == ["queued", "queued", "running", "finished"]
        assert [u["state"] for u in updates] == ["submitted", "queued", "running", "completed"]
        assert {u["submission_id"] for u in updates} == {sub["submission_id"]}
        assert updates[0]["occurred_at"] == sub["accepted_at"]
        assert updates[0]["trace_id"] == sub["trace_id"]
        assert updates[-1]["result_ref"] == {"output_uri": f"file:///out/{sub['job_id']}"}
        assert updates[-1]["trace_id"] == f"trace-{sub['submission_id']}:completed"
        assert set(updates[0]) == {"tenant_id", "workspace_id", "job_id", "submission_id",
                                   "status", "state", "projection_version", "occurred_at",
                                   "trace_id"}
        # The sink ends where the API's projection is.
        proj = api.projection_ok(sub["job_id"])
        assert proj["projection_version"] == updates[-1]["projection_version"] == 4
    health = srv.client().get("/api/health").json()
    relay = health["checks"]["projection_relay"]
    assert health["status"] == "ok" and relay["status"] == "ok"
    assert relay["delivered_total"] == 40 and relay["dead_letters"] == 0
    metrics = srv.client().get("/metrics").text
    assert 'rtgw_relay_deliveries_total{result="delivered"} 40' in metrics
    assert "rtgw_projection_lag_seconds_count 40" in metrics


def test_sink_errors_drops_and_timeouts_are_retried_without_reordering(server_factory, sinks):
    def flaky(n: int, update: dict):
        if n % 7 == 3:
            return "timeout"   # held past the relay's 1 s request timeout
        if n % 5 == 1:
            return "drop"      # connection closed without an answer
        if n % 3 == 0:
            return 500
        return 200

    sink = sinks(behaviour=flaky, hold_s=1.5)
    srv = server_factory(*relay_args(sink.url, "--relay-max-attempts", "100"))
    api = Api(srv)
    for _ in range(8):
        lifecycle(api)
    assert sink.wait_applied(32, timeout=60), len(sink.applied)
    assert_in_order_once(sink)
    failed = [l for l in srv.logs() if l.get("msg") == "projection delivery failed"]
    assert failed, "the schedule made deliveries fail"
    assert {"tenant_id", "job_id", "projection_version", "attempt", "error"} <= set(failed[0])


def test_sink_down_for_a_while_then_everything_arrives(server_factory, sinks):
    port = free_port()
    srv = server_factory(*relay_args(f"http://127.0.0.1:{port}/projection",
                                     "--relay-max-attempts", "1000"))
    api = Api(srv)
    for _ in range(5):
        lifecycle(api)
    time.sleep(1.0)  # the relay keeps failing: connection refused
    relay = srv.client().get("/api/health").json()["checks"]["projection_relay"]
    assert relay["failed_attempts_total"] > 0
    assert relay["last_error"]
    sink = sinks(port=port)
    assert sink.wait_applied(20, timeout=30), len(sink.applied)
    assert_in_order_once(sink)


@pytest.mark.slow
def test_relay_killed_mid_delivery_loses_nothing_and_applies_nothing_twice(server_factory,
                                                                           sinks):
    held = {"n": 0}

    def hold_first_ones(n: int, update: dict):
        if n < 3:
            held["n"] += 1
            return "timeout"  # the request is in flight when rtgw dies
        return 200

    sink = sinks(behaviour=hold_first_ones, hold_s=4.0)
    srv = server_factory(*relay_args(sink.url, "--relay-max-attempts", "1000"))
    api = Api(srv)
    subs = [lifecycle(api) for _ in range(6)]
    deadline = time.monotonic() + 10
    while held["n"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held["n"] > 0
    srv.kill9()
    srv.start()  # same database: the outbox and its leases are where rtgw left them
    assert sink.wait_applied(24, timeout=40), len(sink.applied)
    time.sleep(0.5)
    assert len(sink.applied) == 24
    assert_in_order_once(sink)
    for sub in subs:
        assert [u["projection_version"] for u in sink.applied_for(api.tenant, sub["job_id"])] == \
            [1, 2, 3, 4]


def test_dead_letters_are_listed_per_tenant_and_replayed(server_factory, sinks):
    broken = {"on": True}
    sink = sinks(behaviour=lambda n, u: 500 if broken["on"] else 200)
    srv = server_factory(*relay_args(sink.url, "--relay-max-attempts", "2"))
    api = Api(srv)
    ops = Api(srv, api.tenant, admin_token(api.tenant))  # dead letters need runtime:admin
    other = Api(srv)
    other.token = admin_token(other.tenant)
    sub = lifecycle(api, states=("queued",))
    deadline = time.monotonic() + 15
    dead = []
    while time.monotonic() < deadline:
        dead = ops.get("/api/runtime/projection/dead-letters").json()["dead_letters"]
        if dead:
            break
        time.sleep(0.05)
    assert len(dead) == 1
    letter = dead[0]
    assert letter["job_id"] == sub["job_id"] and letter["projection_version"] == 1
    assert letter["attempts"] == 2 and letter["last_error"].startswith("HTTP 500")
    assert letter["payload"]["status"] == "queued"
    # Another tenant sees none of it and cannot replay it.
    assert other.get("/api/runtime/projection/dead-letters").json() == {"dead_letters": []}
    r = other.post_json("/api/runtime/projection/dead-letters:replay", {"id": letter["id"]})
    assert r.status_code == 404
    # The dead head blocks the job's version 2; health says so.
    health = srv.client().get("/api/health").json()
    assert health["status"] == "degraded"
    assert health["checks"]["projection_relay"]["status"] == "degraded"
    assert health["checks"]["projection_relay"]["dead_letters"] >= 1
    assert sink.applied == []
    bad = ops.post_json("/api/runtime/projection/dead-letters:replay", {"id": "x"})
    assert bad.status_code == 400 and "id" in bad.json()["error"]["message"]

    broken["on"] = False
    r = ops.post_json("/api/runtime/projection/dead-letters:replay", {"id": letter["id"]})
    assert r.status_code == 200 and r.json() == {"ok": True, "id": letter["id"]}
    assert sink.wait_applied(2, timeout=15)
    assert [u["projection_version"] for u in sink.applied] == [1, 2]
    assert ops.get("/api/runtime/projection/dead-letters").json() == {"dead_letters": []}


def test_relay_cli_lists_and_replays_dead_letters_of_a_stopped_server(server_factory, sinks,
                                                                      rtgw_bin):
    sink = sinks(behaviour=lambda n, u: 500)
    srv = server_factory(*relay_args(sink.url, "--relay-max-attempts", "1"))
    api = Api(srv)
    ops = Api(srv, api.tenant, admin_token(api.tenant))
    sub = lifecycle(api, states=())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and \
            not ops.get("/api/runtime/projection/dead-letters").json()["dead_letters"]:
        time.sleep(0.05)
    srv.stop()
    listed = run_cli(rtgw_bin, "relay", "dead-letters", "--database-url", srv.database_url)
    assert listed.returncode == 0, listed.stderr
    letters = json.loads(listed.stdout)["dead_letters"]
    assert [l["job_id"] for l in letters] == [sub["job_id"]]
    missing = run_cli(rtgw_bin, "relay", "replay", "--id", "999999", "--database-url",
                      srv.database_url)
    assert missing.returncode == 1 and b"no dead letter" in missing.stderr
    replayed = run_cli(rtgw_bin, "relay", "replay", "--id", str(letters[0]["id"]),
                       "--database-url", srv.database_url)
    assert replayed.returncode == 0, replayed.stderr
    again = run_cli(rtgw_bin, "relay", "dead-letters", "--database-url", srv.database_url)
    assert json.loads(again.stdout) == {"dead_letters": []}


@pytest.mark.parametrize("args, names", [
    (["--projection-url", "http://127.0.0.1:9/x"], "RTGW_PROJECTION_SECRET"),
    (["--projection-url", "ftp://127.0.0.1/x", "--projection-secret", SINK_SECRET],
     "projection URL"),
    (["--projection-url", "http://127.0.0.1:9/x", "--projection-secret", "short"],
     "projection secret"),
    (["--projection-url", "http://127.0.0.1:9/x", "--projection-secret", SINK_SECRET,
      "--outbox", "off"], "--outbox"),
    (["--relay-lease-ms", "100", "--relay-request-timeout-ms", "1000"], "--relay-lease-ms"),
])
def test_bad_relay_configuration_refuses_to_start(server_factory, args, names):
    srv = server_factory(*args, start=False)
    with pytest.raises(RuntimeError) as failed:
        srv.start()
    assert names in str(failed.value)
