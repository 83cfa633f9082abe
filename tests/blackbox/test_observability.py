"""Trace ids, request logs, /metrics, /api/health, /api/openapi.json."""
from __future__ import annotations

import json
import re

import pytest

from conftest import (TRACE_ID_RE, Api, assert_error, event_body, metric_value, parse_metrics,
                      run_cli, submit_body, uid)


def tp(trace_id: str, parent: str = "00f067aa0ba902b7", flags: str = "01") -> str:
    return f"00-{trace_id}-{parent}-{flags}"


def new_trace_id() -> str:
    return uid("")[1:].ljust(32, "0")[:32]


# ============================================================================================
# trace ids
# ============================================================================================
def test_traceparent_echoed_on_success_and_in_body(api: Api):
    tid = new_trace_id()
    body = submit_body(api.tenant)
    r = api.submit(body, headers={"traceparent": tp(tid)})
    assert r.status_code == 202
    assert r.headers["x-trace-id"] == tid
    assert r.json()["trace_id"] == tid
    assert api.job_ok(body["job_id"])["trace_id"] == tid
    tid2 = new_trace_id()
    r = api.job(body["job_id"], headers={"traceparent": tp(tid2)})
    assert r.headers["x-trace-id"] == tid2


def test_traceparent_in_error_body_header_and_log(server, api: Api):
    tid = new_trace_id()
    missing = uid("missing")
    r = api.job(missing, headers={"traceparent": tp(tid)})
    err = assert_error(r, 404, "not_found")
    assert err["trace_id"] == tid and r.headers["x-trace-id"] == tid
    rec = server.wait_for_log(lambda x: x.get("msg") == "request" and x.get("trace_id") == tid)
    assert str(rec["status"]) == "404"
    assert rec["method"] == "GET"
    assert rec["route"] == "/api/runtime/jobs/{job_id}"
    assert rec["tenant_id"] == api.tenant
    assert rec["job_id"] == missing


def test_request_log_line_fields(server, api: Api):
    tid = new_trace_id()
    body = submit_body(api.tenant, workspace_id="ws-" + uid("w"))
    r = api.submit(body, headers={"traceparent": tp(tid)})
    assert r.status_code == 202
    rec = server.wait_for_log(lambda x: x.get("msg") == "request" and x.get("trace_id") == tid)
    for k in ("trace_id", "tenant_id", "workspace_id", "job_id", "route", "method", "status",
              "duration_ms"):
        assert k in rec, f"request log line lacks {k}: {rec}"
    assert rec["tenant_id"] == api.tenant
    assert rec["workspace_id"] == body["workspace_id"]
    assert rec["job_id"] == body["job_id"]
    assert rec["route"] == "/api/runtime/jobs:submit"
    assert rec["method"] == "POST" and str(rec["status"]) == "202"
    assert isinstance(rec["duration_ms"], (int, float)) and rec["duration_ms"] >= 0

    # an event request logs the template route, not the raw path
    tid2 = new_trace_id()
    sid = r.json()["submission_id"]
    r2 = api.event(body["job_id"], event_body(api.tenant, body["job_id"], sid, "running"),
                   headers={"traceparent": tp(tid2)})
    assert r2.status_code == 200
    rec2 = server.wait_for_log(lambda x: x.get("msg") == "request" and x.get("trace_id") == tid2)
    assert rec2["route"] == "/api/runtime/jobs/{job_id}/events"
    assert rec2["job_id"] == body["job_id"] and str(rec2["status"]) == "200"


def test_every_log_line_is_json(server, api: Api):
    api.new_job()
    api.client.get("/api/health")
    lines = [ln for ln in server.stderr_lines if ln.strip()]
    assert lines, "no stderr output at all"
    bad = []
    for ln in lines:
        try:
            if not isinstance(json.loads(ln), dict):
                bad.append(ln)
        except ValueError:
            bad.append(ln)
    assert not bad, f"non-JSON stderr lines with --log-format json (default): {bad[:3]}"


@pytest.mark.parametrize("header", [
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id is invalid
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase is invalid
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   # 31 hex
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff forbidden
    "garbage",
    "",
])
def test_invalid_traceparent_gets_fresh_trace_id(api: Api, header):
    r = api.client.get("/api/health", headers={"traceparent": header})
    xt = r.headers.get("x-trace-id", "")
    assert TRACE_ID_RE.match(xt), xt
    assert xt != "4bf92f3577b34da6a3ce929d0e0e4736" and xt != "0" * 32


def test_random_trace_ids_differ(server):
    with server.client() as c:
        ids = {c.get("/api/health").headers["x-trace-id"] for _ in range(20)}
    assert len(ids) == 20 and all(TRACE_ID_RE.match(i) for i in ids)


@pytest.mark.parametrize("path", ["/api/health", "/metrics", "/api/openapi.json", "/api/nope",
                                  "/api/zpe/x", "/api/runtime/jobs/x"])
def test_every_response_has_trace_id(server, path):
    with server.client() as c:
        r = c.get(path)
    assert TRACE_ID_RE.match(r.headers.get("x-trace-id", "")), (path, r.headers)


# ============================================================================================
# metrics
# ============================================================================================
def get_metrics(server):
    with server.client() as c:
        r = c.get("/metrics")
    assert r.status_code == 200, r.text
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("text/plain") and "0.0.4" in ctype, ctype
    return r.text


def test_metrics_route_templates_no_raw_ids(server, api: Api):
    body, sub = api.new_job()
    jid = body["job_id"]
    missing = uid("ghost")
    before = parse_metrics(get_metrics(server))
    for _ in range(3):
        api.job_ok(jid)
    api.detail_ok(jid)
    api.event_ok(jid, event_body(api.tenant, jid, sub["submission_id"], "running"))
    api.job(missing)
    api.client.get(f"/api/unknown/{missing}")
    text = get_metrics(server)
    after = parse_metrics(text)
    assert jid not in text and missing not in text, "raw path/job id leaked into metric labels"
    route = "/api/runtime/jobs/{job_id}"
    delta = (metric_value(after, "rtgw_http_requests_total", route=route, method="GET", status="200")
             - metric_value(before, "rtgw_http_requests_total", route=route, method="GET",
                            status="200"))
    assert delta == 3, f"GET {route} 200 counter grew by {delta}, expected 3"
    assert metric_value(after, "rtgw_http_requests_total", route=route, method="GET",
                        status="404") >= 1
    assert metric_value(after, "rtgw_http_requests_total",
                        route="/api/runtime/jobs/{job_id}/events", method="POST",
                        status="200") >= 1
    assert metric_value(after, "rtgw_http_requests_total",
                        route="/api/runtime/jobs/{job_id}/detail", method="GET",
                        status="200") >= 1
    routes = {l.get("route") for n, l, _ in after if n == "rtgw_http_requests_total"}
    for r in routes:
        assert r, f"empty route label in {routes}"
        assert not re.search(r"[0-9a-f]{16}", r), f"raw id in route label {r!r}"


def test_metrics_families_present(server, api: Api):
    api.new_job()  # at least one store commit
    text = get_metrics(server)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert types.get("rtgw_http_requests_total") == "counter", types
    assert types.get("rtgw_http_request_duration_seconds") == "histogram", types
    assert types.get("rtgw_store_commit_batch_size") == "histogram", types
    assert types.get("rtgw_store_commit_seconds") == "histogram", types
    assert types.get("rtgw_store_write_queue") == "gauge", types
    samples = parse_metrics(text)
    names = {n for n, _, _ in samples}
    for suffix in ("_bucket", "_sum", "_count"):
        assert "rtgw_store_commit_batch_size" + suffix in names, names
    assert metric_value(samples, "rtgw_store_commit_batch_size_count") >= 1
    buckets = [(l["le"], v) for n, l, v in samples if n == "rtgw_store_commit_batch_size_bucket"]
    assert any(le == "+Inf" for le, _ in buckets), buckets
    inf = [v for le, v in buckets if le == "+Inf"][0]
    assert inf == metric_value(samples, "rtgw_store_commit_batch_size_count")
    dur = [l for n, l, _ in samples if n == "rtgw_http_request_duration_seconds_bucket"]
    assert dur and all("route" in l for l in dur)


def test_metrics_commit_count_grows_with_writes(server, api: Api):
    before = metric_value(parse_metrics(get_metrics(server)), "rtgw_store_commit_batch_size_sum")
    for _ in range(3):
        api.new_job()
    after = metric_value(parse_metrics(get_metrics(server)), "rtgw_store_commit_batch_size_sum")
    assert after - before >= 3, (before, after)


# ============================================================================================
# health
# ============================================================================================
def test_health_shape(server):
    with server.client() as c:
        r = c.get("/api/health")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    h = r.json()
    assert set(h) == {"status", "version", "checks"}, h
    assert h["status"] == "ok"
    assert isinstance(h["version"], str) and re.match(r"^\d+\.\d+\.\d+", h["version"]), h
    assert set(h["checks"]) == {"store", "slurm_adapter"}, h
    assert h["checks"]["store"] == {"status": "ok", "backend": server.backend, "reachable": True,
                                    "writable": True}, h
    # The Slurm adapter boundary (docs/contracts/slurm-adapter-boundary.md); default passthrough.
    assert h["checks"]["slurm_adapter"] == {
        "status": "ok", "adapter": "passthrough", "contract_version": "slurm-adapter-boundary/v1",
        "policy_file": None, "policy_sha256": None, "rollback": None}, h


def test_health_deep(server):
    with server.client() as c:
        r = c.get("/api/health", params={"deep": "1"})
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["status"] == "ok"
    # Deep adds the store's integrity check (SQLite quick_check; PostgreSQL: not applicable, ok).
    assert h["checks"]["store"] == {"status": "ok", "backend": server.backend,
                                   "reachable": True, "writable": True, "integrity": "ok"}
    m = h["checks"]["managed_aiida_runtime"]
    # Both backends store nodes. No bearer token: counts over every tenant's nodes, no node list (agent-protocol.md).
    assert m["status"] in {"ok", "degraded", "empty"} and m["nodes"] == [], m
    assert m["scope"] == "summary" and isinstance(m["nodes_total"], int), m


def test_health_no_auth_needed(server):
    with server.client() as c:
        r = c.get("/api/health", headers={"authorization": "Bearer garbage"})
    assert r.status_code == 200


# ============================================================================================
# openapi
# ============================================================================================
RUNTIME_PATHS = ["/api/runtime/jobs:submit", "/api/runtime/jobs/{job_id}",
                 "/api/runtime/jobs/{job_id}/detail", "/api/runtime/jobs/{job_id}/projection",
                 "/api/runtime/jobs/{job_id}/events"]


def test_openapi_served(server, rtgw_bin):
    with server.client() as c:
        r = c.get("/api/openapi.json")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi")
    paths = doc.get("paths", {})
    for p in RUNTIME_PATHS:
        assert p in paths, f"{p} missing from served OpenAPI paths: {sorted(paths)}"
    assert "post" in paths["/api/runtime/jobs:submit"]
    assert "post" in paths["/api/runtime/jobs/{job_id}/events"]
    for p in RUNTIME_PATHS[1:4]:
        assert "get" in paths[p]
    assert "/api/health" in paths
    # the served document is the one `rtgw openapi` prints
    cli = run_cli(rtgw_bin, "openapi")
    assert cli.returncode == 0, cli.stderr.decode()
    assert json.loads(cli.stdout) == doc


def test_openapi_no_bearer_needed(server):
    with server.client() as c:
        r = c.get("/api/openapi.json", headers={"authorization": "Bearer nonsense"})
    assert r.status_code == 200



def test_metric_labels_take_values_from_closed_sets(server_factory):
    """A client cannot add label values: 2,000 pipelined requests with made-up method tokens
    (refused with 401 by proxy auth, or 404/405 without it) and made-up paths are counted under
    method="other" and route="unmatched"; /metrics does not grow with them."""
    import socket
    from conftest import parse_metrics as parse
    srv = server_factory("--proxy-auth-key", "pk-metrics", "--proxy-auth-secret", "ps-metrics")
    proxy = {"modal-key": "pk-metrics", "modal-secret": "ps-metrics"}
    with srv.client() as c:
        before = c.get("/metrics", headers=proxy).text
    n = 2000
    reqs = b"".join(f"Q{i:06d} /x/{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(n))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(reqs + b"GET /metrics HTTP/1.1\r\nHost: a\r\nconnection: close\r\n"
                  b"modal-key: pk-metrics\r\nmodal-secret: ps-metrics\r\n\r\n")
        got = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
    assert got.count(b"HTTP/1.1 401") == n, got[:300]
    with srv.client() as c:
        after = c.get("/metrics", headers=proxy).text
    samples = parse(after)
    methods = {l["method"] for name, l, _ in samples if name == "rtgw_http_requests_total"}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                       "PATCH", "other"}, methods
    routes = {l["route"] for name, l, _ in samples if "route" in l}
    assert not any(r.startswith("/x/") for r in routes), routes
    assert metric_value(samples, "rtgw_http_requests_total", method="other", status="401",
                        route="unmatched") == n
    assert len(after) < len(before) + 4096, (len(before), len(after))
