"""`rtgw conformance` (seed 000 gates 1-6) against real `rtgw serve` processes.

Passes against a correctly configured local server; fails (exit 1) with the runbook's diagnosis
against honest misconfigurations: wrong base URL, wrong proxy secret, a token signed with another
secret, and a "second tenant" credential that can in fact read the first tenant's data.
"""
from __future__ import annotations

import json
import socket

from conftest import SECRET, make_token, run_cli, uid


def conformance(rtgw_bin, base_url, token, other_token, tmp_path, *extra, env=None):
    report = tmp_path / f"report-{uid('r')}.json"
    p = run_cli(rtgw_bin, "conformance", "--base-url", base_url, "--token", token,
                "--other-tenant-token", other_token, "--json", str(report), "--timeout-ms",
                "5000", *extra, env=env, timeout=60)
    out = p.stdout.decode()
    data = json.loads(report.read_text()) if report.exists() else None
    return p.returncode, out, data


def failed_checks(data):
    return [(g["gate"], c) for g in data["gates"] for c in g["checks"] if not c["passed"]]


def test_conformance_passes_against_local_server(server, rtgw_bin, tmp_path):
    t1, t2 = uid("tenant"), uid("tenant")
    rc, out, data = conformance(rtgw_bin, server.base_url, make_token(t1), make_token(t2),
                                tmp_path)
    assert rc == 0, out
    assert "CONFORMANCE PASS" in out
    assert data["passed"] is True and data["format"] == "rtgw-conformance-report/v1"
    assert data["tenant_id"] == t1 and data["other_tenant_id"] == t2
    assert [g["gate"] for g in data["gates"]] == [1, 2, 3, 4, 5, 6]
    assert all(g["passed"] for g in data["gates"])
    checks = [c for g in data["gates"] for c in g["checks"]]
    assert len(checks) >= 20
    # the job it wrote is really there, completed, with the ordered history it checked
    with server.client(headers={"Authorization": f"Bearer {make_token(t1)}"}) as c:
        d = c.get(f"/api/runtime/jobs/{data['job_id']}/detail").json()
    assert d["state"] == "completed"
    assert [e["state"] for e in d["events"]] == ["running", "completed"]
    # the sink check is reported as skipped without --sink-log, never silently passed
    sink = [c for c in data["gates"][5]["checks"] if "sink" in c["name"]][0]
    assert sink["skipped"] is True


def test_conformance_with_proxy_auth(server_factory, rtgw_bin, tmp_path):
    srv = server_factory("--proxy-auth-key", "pk-1", "--proxy-auth-secret", "ps-right")
    t1, t2 = uid("tenant"), uid("tenant")
    rc, out, data = conformance(rtgw_bin, srv.base_url, make_token(t1), make_token(t2), tmp_path,
                                "--proxy-key", "pk-1", "--proxy-secret", "ps-right")
    assert rc == 0, out

    rc, out, data = conformance(rtgw_bin, srv.base_url, make_token(t1), make_token(t2), tmp_path,
                                "--proxy-key", "pk-1", "--proxy-secret", "ps-wrong")
    assert rc == 1, out
    assert "CONFORMANCE FAIL" in out
    fails = failed_checks(data)
    proxy = [c for gate, c in fails if gate == 1 and "proxy" in c["name"]]
    assert proxy, fails
    assert proxy[0]["http_status"] == 401 and proxy[0]["error_code"] == "proxy_unauthorized"
    assert "proxy auth" in proxy[0]["diagnostic"]
    # health stays reachable without proxy auth: gate 1's health check passes
    assert data["gates"][0]["checks"][0]["passed"] is True
    assert "diagnosis: 401 proxy auth" in out


def test_conformance_token_with_wrong_secret(server, rtgw_bin, tmp_path):
    bad = make_token(uid("tenant"), secret="another-secret-0123456789abcdef0123")
    rc, out, data = conformance(rtgw_bin, server.base_url, bad, make_token(uid("tenant")),
                                tmp_path)
    assert rc == 1, out
    submit = data["gates"][1]["checks"][0]
    assert submit["passed"] is False
    assert submit["http_status"] == 401 and submit["error_code"] == "unauthenticated"
    assert "JWT claims mismatch" in submit["diagnostic"]
    # later gates say what they depend on instead of failing obscurely
    assert "gate 2" in data["gates"][2]["checks"][0]["detail"]


def test_conformance_detects_cross_tenant_reads(server, rtgw_bin, tmp_path):
    """A 'second tenant' credential that can read the first tenant's job is reported as an
    isolation failure (here: a token of the same tenant, another user)."""
    t1 = uid("tenant")
    rc, out, data = conformance(rtgw_bin, server.base_url, make_token(t1),
                                make_token(t1, sub="someone-else"), tmp_path)
    assert rc == 1, out
    gate5 = data["gates"][4]
    assert gate5["passed"] is False
    assert all(g["passed"] for g in data["gates"] if g["gate"] != 5), out
    leak = [c for c in gate5["checks"] if c["name"].startswith("other tenant GET job")]
    assert leak and all(not c["passed"] for c in leak)
    assert all("tenant isolation broken" in c["diagnostic"] for c in leak)
    assert "cross-tenant data returned (200)" in leak[0]["detail"]


def test_conformance_wrong_base_url(rtgw_bin, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, out, data = conformance(rtgw_bin, f"http://127.0.0.1:{port}", make_token("t1"),
                                make_token("t2"), tmp_path)
    assert rc == 1, out
    assert not data["passed"]
    assert "--base-url" in data["gates"][0]["checks"][0]["diagnostic"]


def test_conformance_sink_log_missing_updates(server, rtgw_bin, tmp_path):
    """The product sink is checked against what the gateway served; a sink that got nothing
    for the job fails gate 6 with the relay diagnosis."""
    sink = tmp_path / "sink.jsonl"
    sink.write_text(json.dumps({"tenant_id": "other", "job_id": "x", "projection_version": 1,
                                "state": "submitted", "status": "queued"}) + "\n")
    rc, out, data = conformance(rtgw_bin, server.base_url, make_token(uid("tenant")),
                                make_token(uid("tenant")), tmp_path, "--sink-log", str(sink),
                                "--sink-wait-ms", "300")
    assert rc == 1, out
    gate6 = data["gates"][5]
    sink_check = [c for c in gate6["checks"] if "sink" in c["name"]][0]
    assert not sink_check["passed"] and not sink_check["skipped"]
    assert "never received version" in sink_check["detail"]
    assert "relay logs" in sink_check["diagnostic"]
    assert data["sink_log"] == str(sink)


def test_conformance_usage_errors(rtgw_bin):
    p = run_cli(rtgw_bin, "conformance", "--base-url", "http://127.0.0.1:1")
    assert p.returncode == 2 and b"--token is required" in p.stderr
    p = run_cli(rtgw_bin, "conformance", "--help")
    assert p.returncode == 0
    for opt in (b"--base-url", b"--token", b"--other-tenant-token", b"--proxy-key",
                b"--proxy-secret", b"--sink-log", b"--json"):
        assert opt in p.stdout
