"""Two `rtgw serve` replicas on one PostgreSQL schema, each running its projection relay, deliver
to one product sink: every status change arrives once, in projection_version order per job, with
both relays busy at the same time and with one replica killed -9 mid-stream (its leases expire
and the other replica's relay takes the work over).

Needs RTGW_TEST_BACKENDS to include postgresql (scripts/test.sh does); skipped otherwise.
"""
from __future__ import annotations

import concurrent.futures as cf
import time

import pytest

from conftest import BACKENDS, Api, ServerPool, event_body, submit_body
from projection_sink import ProjectionSink
from test_projection_relay import SINK_SECRET, assert_in_order_once, relay_args

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="RTGW_TEST_BACKENDS does not include postgresql")

STATES = ("queued", "running", "completed")


@pytest.fixture
def pg_pool(rtgw_bin, tmp_path):
    pool = ServerPool(rtgw_bin, tmp_path, "postgresql")
    yield pool
    pool.close()


@pytest.fixture
def sink():
    s = ProjectionSink(SINK_SECRET).start()
    yield s
    s.close()


def _walk(apis: list[Api], i: int) -> tuple[str, str]:
    """Submits job i on one replica and posts its events alternating replicas."""
    api = apis[i % len(apis)]
    body = submit_body(api.tenant)
    sub = api.submit_ok(body)
    for k, state in enumerate(STATES):
        other = apis[(i + k + 1) % len(apis)]
        extra = {"result_ref": {"output_uri": f"file:///out/{body['job_id']}"}} \
            if state == "completed" else {}
        other.event_ok(body["job_id"], event_body(api.tenant, body["job_id"], sub["submission_id"],
                                                  state, event_id=f"{sub['submission_id']}:{state}",
                                                  **extra))
    return api.tenant, body["job_id"]


def _assert_all_versions(sink: ProjectionSink, jobs: list[tuple[str, str]]) -> None:
    assert_in_order_once(sink)
    for tenant, job_id in jobs:
        assert [u["projection_version"] for u in sink.applied_for(tenant, job_id)] == [1, 2, 3, 4]


def test_two_relays_share_the_outbox_in_order_once(pg_pool, sink):
    a = pg_pool(*relay_args(sink.url))
    b = pg_pool(*relay_args(sink.url), pg_schema=a.pg_schema)
    apis = [Api(a)]
    apis.append(Api(b, tenant=apis[0].tenant))  # one tenant, both replicas
    with cf.ThreadPoolExecutor(8) as pool:
        jobs = list(pool.map(lambda i: _walk(apis, i), range(40)))
    assert sink.wait_applied(160, timeout=60), len(sink.applied)
    time.sleep(0.5)
    assert len(sink.applied) == 160
    assert sink.duplicates == 0
    _assert_all_versions(sink, jobs)
    # Both relays delivered (the work was shared, not serialized on one replica).
    delivered = [s.client().get("/api/health").json()["checks"]["projection_relay"]
                 ["delivered_total"] for s in (a, b)]
    assert sum(delivered) == 160 and min(delivered) > 0, delivered


def test_a_replica_killed_mid_stream_hands_its_updates_to_the_other(pg_pool, sink):
    a = pg_pool(*relay_args(sink.url))
    b = pg_pool(*relay_args(sink.url), pg_schema=a.pg_schema)
    apis = [Api(a)]
    apis.append(Api(b, tenant=apis[0].tenant))
    with cf.ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda i: _walk(apis, i), range(20)))
    a.kill9()  # whatever a's relay had leased comes back when its lease expires
    survivors = [apis[1]]
    with cf.ThreadPoolExecutor(4) as pool:
        rest = list(pool.map(lambda i: _walk(survivors, i), range(20)))
    jobs = first + rest
    assert sink.wait_applied(160, timeout=60), len(sink.applied)
    time.sleep(0.5)
    assert len(sink.applied) == 160
    # A delivery in flight when a died may arrive again (at least once); the sink dedupes it by
    # webhook-id, and nothing is applied twice or out of order.
    _assert_all_versions(sink, jobs)
