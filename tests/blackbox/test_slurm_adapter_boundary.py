"""Slurm adapter boundary slurm-adapter-boundary/v1 (seed 002), black-box against real `rtgw serve`
processes: one parity suite run for each mode (passthrough | stub-policy | real-policy) with the
same policy file, the 403/422/503 refusals, replay bytes, rollback by configuration (restart with
another mode, nothing else changed), rollback owner/expiry in health, refusal to start on bad
configuration. In real-policy pytest plays the agent and reports the Slurm catalogue by heartbeat.
"""
from __future__ import annotations

import time

import pytest

from conftest import (Api, SECRET, assert_error, db_counts, metric_value, parse_metrics, run_cli,
                      submit_body, uid)
from slurm_helpers import CATALOGUE, POLICY, Node, adapter_env, heartbeat_body, write_policy


MODES = ["passthrough", "stub-policy", "real-policy"]
NODE = "mgmt-node-1"  # submit_body's management_node_id


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    return write_policy(tmp_path_factory.mktemp("policy"))


@pytest.fixture(scope="module", params=MODES)
def mode_server(request, module_server_factory, policy_file):
    mode = request.param
    srv = module_server_factory(env=adapter_env(mode, policy_file))
    return mode, srv


@pytest.fixture
def tenant_api(mode_server):
    """A fresh tenant on the mode's server; in real-policy its node has reported a catalogue."""
    mode, srv = mode_server
    api = Api(srv)
    if mode == "real-policy":
        node = Node(srv, api.tenant, NODE)
        assert node.heartbeat().status_code == 200
        node.close()
    yield mode, api
    api.close()


def expected_mapping(queue: str):
    m = POLICY["queues"][queue]
    return {"queue": queue, "partition": m["partition"], "account": m.get("account"),
            "qos": m.get("qos"), "max_walltime_minutes": m["max_walltime_minutes"]}


def submit_queue(api: Api, queue: str, walltime: int = 600, **over):
    body = submit_body(api.tenant, execution_profile={"queue_name": queue},
                       resource_shape={"cpu": 1, "memory_mib": 1024, "walltime_seconds": walltime},
                       **over)
    return body, api.submit(body)


# ---------------------------------------------------------------------------------------------
# parity: the same suite, every mode
# ---------------------------------------------------------------------------------------------
def test_known_queue_record_is_stored_shown_and_logged(tenant_api):
    mode, api = tenant_api
    body, r = submit_queue(api, "default")
    assert r.status_code == 202, r.text
    record = api.job_ok(body["job_id"])["slurm_adapter"]
    assert record == {
        "adapter": mode, "contract_version": "slurm-adapter-boundary/v1",
        "requested_queue": "default", "resolved_queue": "default", "used_fallback": False,
        "mapping": None if mode == "passthrough" else expected_mapping("default")}
    assert api.detail_ok(body["job_id"])["slurm_adapter"] == record
    # The requested profile itself is unchanged: the record sits next to it.
    assert api.job_ok(body["job_id"])["execution_profile"] == {"queue_name": "default"}
    log = api.server.wait_for_log(lambda l: l.get("msg") == "slurm adapter boundary"
                                  and l.get("job_id") == body["job_id"])
    assert log["tenant_id"] == api.tenant and log["workspace_id"] == api.tenant
    assert log["trace_id"] == r.json()["trace_id"]
    assert log["slurm_adapter"] == mode
    assert log["slurm_contract_version"] == "slurm-adapter-boundary/v1"
    assert log["requested_queue_name"] == "default" and log["resolved_queue_name"] == "default"
    assert log["used_fallback"] == "false" and log["outcome"] == "accepted"


def test_unknown_queue_falls_back_except_in_passthrough(tenant_api):
    mode, api = tenant_api
    body, r = submit_queue(api, "no-such-queue")
    assert r.status_code == 202, r.text
    record = api.job_ok(body["job_id"])["slurm_adapter"]
    assert record["requested_queue"] == "no-such-queue"
    if mode == "passthrough":
        assert (record["resolved_queue"], record["used_fallback"], record["mapping"]) == (
            "no-such-queue", False, None)
    else:
        assert (record["resolved_queue"], record["used_fallback"]) == ("default", True)
        assert record["mapping"] == expected_mapping("default")
    log = api.server.wait_for_log(lambda l: l.get("msg") == "slurm adapter boundary"
                                  and l.get("job_id") == body["job_id"])
    assert log["used_fallback"] == ("false" if mode == "passthrough" else "true")


def test_denied_queue_is_403_naming_queue_and_rule(tenant_api):
    mode, api = tenant_api
    before = db_counts(api.server)
    body, r = submit_queue(api, "gpu")
    if mode == "passthrough":
        assert r.status_code == 202, r.text
        return
    err = assert_error(r, 403, "queue_denied")
    assert "'gpu'" in err["message"] and "tenants.*.deny" in err["message"], err
    assert api.job(body["job_id"]).status_code == 404
    assert db_counts(api.server) == before
    log = api.server.wait_for_log(lambda l: l.get("msg") == "slurm adapter boundary"
                                  and l.get("job_id") == body["job_id"])
    assert log["outcome"] == "queue_denied" and log["requested_queue_name"] == "gpu"
    with api.server.client() as c:
        samples = parse_metrics(c.get("/metrics").text)
    assert metric_value(samples, "rtgw_slurm_adapter_decisions_total", adapter=mode,
                        outcome="queue_denied") >= 1


def test_walltime_over_the_mapping_is_422(tenant_api):
    mode, api = tenant_api
    body, r = submit_queue(api, "default", walltime=61 * 60)
    if mode == "passthrough":
        assert r.status_code == 202, r.text
        return
    err = assert_error(r, 422, "walltime_exceeded")
    assert "max_walltime_minutes 60" in err["message"]
    assert api.job(body["job_id"]).status_code == 404
    _, ok = submit_queue(api, "default", walltime=60 * 60)  # exactly at the limit
    assert ok.status_code == 202, ok.text


def test_walltime_over_the_partition_is_422_only_with_the_live_catalogue(tenant_api):
    # Queue "long" allows 600 min; the reported partition "batch" has MaxTime 300.
    mode, api = tenant_api
    body, r = submit_queue(api, "long", walltime=301 * 60)
    if mode == "real-policy":
        err = assert_error(r, 422, "walltime_exceeded")
        assert "partition 'batch' MaxTime 300" in err["message"]
        assert api.job(body["job_id"]).status_code == 404
    else:
        assert r.status_code == 202, r.text


def test_policy_limits_are_422(tenant_api):
    mode, api = tenant_api
    body = submit_body(api.tenant, resource_shape={"cpu": 65, "memory_mib": 1024,
                                                   "walltime_seconds": 60})
    r = api.submit(body)
    if mode == "passthrough":
        assert r.status_code == 202
    else:
        assert "resource_shape.cpu" in assert_error(r, 422, "resource_limit_exceeded")["message"]


def test_replay_is_byte_identical_and_tenants_stay_isolated(tenant_api):
    mode, api = tenant_api
    body, first = submit_queue(api, "default")
    again = api.submit(body)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    other = Api(api.server)
    try:
        assert_error(other.job(body["job_id"]), 404, "not_found")
    finally:
        other.close()


# ---------------------------------------------------------------------------------------------
# real-policy: the catalogue must exist and be fresh
# ---------------------------------------------------------------------------------------------
def test_real_policy_without_or_with_a_stale_catalogue_is_503(server_factory, policy_file):
    srv = server_factory(env=adapter_env("real-policy", policy_file,
                                         RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS="2"))
    api = Api(srv)
    node = Node(srv, api.tenant, NODE)
    try:
        body, r = submit_queue(api, "default")
        assert "never reported" in assert_error(r, 503, "slurm_unavailable")["message"]
        assert node.heartbeat().status_code == 200
        _, ok = submit_queue(api, "default")
        assert ok.status_code == 202, ok.text
        time.sleep(3.2)
        body, stale = submit_queue(api, "default")
        assert "old" in assert_error(stale, 503, "slurm_unavailable")["message"]
        assert api.job(body["job_id"]).status_code == 404
        # A partition that went down is unavailable too, never a silent fallback.
        down = dict(CATALOGUE, partitions=[dict(CATALOGUE["partitions"][0], state="down")])
        assert node.heartbeat(heartbeat_body(down)).status_code == 200
        assert "down" in assert_error(submit_queue(api, "default")[1], 503,
                                      "slurm_unavailable")["message"]
        assert node.heartbeat().status_code == 200
        assert submit_queue(api, "default")[1].status_code == 202
        # A node of another tenant with the same id does not lend its catalogue.
        other = Api(srv)
        assert_error(submit_queue(other, "default")[1], 503, "slurm_unavailable")
        other.close()
    finally:
        api.close()
        node.close()


# ---------------------------------------------------------------------------------------------
# rollback by configuration: restart with another mode, nothing else changed
# ---------------------------------------------------------------------------------------------
def health(srv) -> dict:
    with srv.client() as c:
        r = c.get("/api/health")
        assert r.status_code == 200, r.text
        return r.json()


def test_rollback_is_a_config_change_with_owner_and_expiry(server_factory, policy_file):
    srv = server_factory(env=adapter_env("real-policy", policy_file))
    tenant = uid("tenant")
    api = Api(srv, tenant=tenant)
    node = Node(srv, tenant, NODE)
    assert node.heartbeat().status_code == 200
    body_a, a = submit_queue(api, "default")
    assert a.status_code == 202
    check = health(srv)["checks"]["slurm_adapter"]
    assert check["adapter"] == "real-policy" and check["rollback"] is None
    assert check["status"] == "ok" and len(check["policy_sha256"]) == 64
    api.close()
    node.close()

    # Emergency: roll back to stub-policy, with an owner and an expiry in the future.
    srv.stop()
    srv.extra_env = adapter_env("stub-policy", policy_file, ZPE_SLURM_ADAPTER_OWNER="alice@ops",
                                ZPE_SLURM_ADAPTER_EXPIRES_AT="2099-01-01T00:00:00Z")
    srv.start()
    api = Api(srv, tenant=tenant)
    h = health(srv)
    assert h["status"] == "ok"
    assert h["checks"]["slurm_adapter"]["rollback"] == {
        "active": True, "owner": "alice@ops", "expires_at": "2099-01-01T00:00:00.000000Z",
        "expired": False}
    # The stored record of job A is what it was; the replay is byte for byte; a new job uses
    # the stub (no catalogue needed any more).
    assert api.job_ok(body_a["job_id"])["slurm_adapter"]["adapter"] == "real-policy"
    assert api.submit(body_a).content == a.content
    body_b, b = submit_queue(api, "default")
    assert b.status_code == 202
    assert api.job_ok(body_b["job_id"])["slurm_adapter"]["adapter"] == "stub-policy"
    api.close()

    # A forgotten switch: the expiry has passed -> health degraded (still 200: it serves).
    srv.stop()
    srv.extra_env = adapter_env("passthrough", policy_file, ZPE_SLURM_ADAPTER_OWNER="alice@ops",
                                ZPE_SLURM_ADAPTER_EXPIRES_AT="2020-01-01T00:00:00Z")
    srv.start()
    api = Api(srv, tenant=tenant)
    h = health(srv)
    assert h["status"] == "degraded"
    assert h["checks"]["slurm_adapter"]["status"] == "degraded"
    assert h["checks"]["slurm_adapter"]["rollback"]["expired"] is True
    assert h["checks"]["store"]["status"] == "ok"
    srv.wait_for_log(lambda l: "rollback has expired" in l.get("msg", ""))
    body_c, c = submit_queue(api, "gpu")  # passthrough: nothing is denied
    assert c.status_code == 202
    api.close()

    # Back to normal: the rollback metadata removed, real-policy again.
    srv.stop()
    srv.extra_env = adapter_env("real-policy", policy_file)
    srv.start()
    api = Api(srv, tenant=tenant)
    assert health(srv)["checks"]["slurm_adapter"]["rollback"] is None
    # Job C was accepted in passthrough; under the policy, queue gpu is denied for new submits,
    # but the replay of C still answers its original bytes.
    assert api.submit(body_c).content == c.content
    assert_error(submit_queue(api, "gpu")[1], 403, "queue_denied")
    api.close()


# ---------------------------------------------------------------------------------------------
# bad configuration refuses to start, naming the setting
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env,needle", [
    ({"ZPE_SLURM_ADAPTER": "real"}, "ZPE_SLURM_ADAPTER"),
    ({"ZPE_SLURM_ADAPTER": "stub-policy"}, "RTGW_QUEUE_POLICY_FILE"),
    ({"ZPE_SLURM_ADAPTER": "real-policy", "RTGW_QUEUE_POLICY_FILE": "/nonexistent/policy.json"},
     "RTGW_QUEUE_POLICY_FILE"),
    ({"ZPE_SLURM_ADAPTER": "stub-policy", "RTGW_QUEUE_POLICY_FILE": "BAD"}, "queues.default.partition"),
    ({"ZPE_SLURM_ADAPTER": "passthrough", "ZPE_SLURM_ADAPTER_OWNER": "bob"},
     "ZPE_SLURM_ADAPTER_EXPIRES_AT"),
    ({"ZPE_SLURM_ADAPTER": "passthrough", "ZPE_SLURM_ADAPTER_OWNER": "bob",
      "ZPE_SLURM_ADAPTER_EXPIRES_AT": "next week"}, "ZPE_SLURM_ADAPTER_EXPIRES_AT"),
    ({"ZPE_SLURM_ADAPTER": "passthrough", "RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS": "0"},
     "RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS"),
])
def test_bad_adapter_configuration_refuses_to_start(rtgw_bin, tmp_path, env, needle):
    if env.get("RTGW_QUEUE_POLICY_FILE") == "BAD":
        env["RTGW_QUEUE_POLICY_FILE"] = str(write_policy(
            tmp_path, {"queues": {"default": {"max_walltime_minutes": 5}}}, "bad.json"))
    r = run_cli(rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--jwt-hs256-secret", SECRET,
                "--database-url", "sqlite://" + str(tmp_path / "x.db"),
                env={"ZPE_SLURM_ADAPTER_OWNER": "", "ZPE_SLURM_ADAPTER_EXPIRES_AT": "", **env})
    assert r.returncode == 2, r
    assert needle in r.stderr.decode(), r.stderr.decode()
    assert not (tmp_path / "x.db").exists()  # refused before touching the store


def test_help_lists_the_adapter_settings(rtgw_bin):
    out = run_cli(rtgw_bin, "serve", "--help").stdout.decode()
    for name in ("ZPE_SLURM_ADAPTER", "RTGW_QUEUE_POLICY_FILE", "ZPE_SLURM_ADAPTER_OWNER",
                 "ZPE_SLURM_ADAPTER_EXPIRES_AT", "RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS",
                 "RTGW_NODE_STALE_AFTER_SECONDS"):
        assert name in out, name
