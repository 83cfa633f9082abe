"""docs/openapi.json against behaviour: the response checker's rules (openapi_contract.py, run on
every response of the suite by conftest.py) and the validator callback's declared security."""
from __future__ import annotations

import json

import pytest

from conftest import (OPENAPI_CHECK, OPENAPI_DOC, TRACE_ID_RE, Api, assert_error, make_token,
                      submit_body, uid)
from openapi_contract import Observed, ResponseChecker

TRACE = "0123456789abcdef0123456789abcdef"
ERROR = json.dumps({"error": {"code": "not_found", "message": "m", "trace_id": TRACE}}).encode()
JOB = "/api/runtime/jobs/j-1"
CALLBACK = "/internal/validations/callback"
BEARER = {"authorization": "Bearer x.y.z"}


def observe(method: str, path: str, status: int, body: bytes = ERROR, *, headers=None,
            ctype: str = "application/json", role: str = "all") -> list[str]:
    checker = ResponseChecker(OPENAPI_DOC)  # its own: these fakes stay out of the session report
    found = checker.check(Observed(method, path, role, dict(headers or {}), status,
                                   {"content-type": ctype, "x-trace-id": TRACE}, body))
    return [m.rule for m in found]


def job_body(**over) -> bytes:
    job = {"job_id": "j-1", "tenant_id": "t", "workspace_id": "t", "submission_id": "s",
           "management_node_id": "n", "state": "submitted",
           "execution_profile": {"queue_name": "q"},
           "resource_shape": {"cpu": 1, "memory_mib": 1, "walltime_seconds": 1},
           "payload_ref": {"input_uri": "x:y"}, "requested_by": {"user_id": "u"},
           "result_ref": None, "error": None, "accepted_at": "2026-02-18T00:00:00.000000Z",
           "updated_at": "2026-02-18T00:00:00.000000Z", "trace_id": "t",
           "projection_version": 1, "slurm_adapter": None}
    job.update(over)
    return json.dumps(job).encode()


# -- the checker's rules, on made-up responses --------------------------------------------------
@pytest.mark.parametrize("case, rules", [
    (dict(method="GET", path=JOB, status=200, body=job_body(), headers=BEARER), []),
    (dict(method="GET", path=JOB, status=404, headers=BEARER), []),
    (dict(method="GET", path=JOB, status=409, headers=BEARER), ["status"]),
    (dict(method="GET", path=JOB, status=200, body=job_body(), headers=BEARER, ctype="text/html"),
     ["content-type"]),
    (dict(method="GET", path=JOB, status=200, body=job_body(state="lost"), headers=BEARER),
     ["schema"]),
    (dict(method="GET", path=JOB, status=200, body=job_body(updated_at="18.02.2026"),
          headers=BEARER), ["schema"]),
    (dict(method="GET", path=JOB, status=200, body=b"{", headers=BEARER), ["schema"]),
    (dict(method="GET", path=JOB, status=200, body=job_body()), ["security"]),
    (dict(method="GET", path=JOB, status=401), []),
    (dict(method="HEAD", path=JOB, status=200, body=b"", headers=BEARER), []),
    # the callback's credential is the ID token: proxy-auth headers alone do not satisfy it
    (dict(method="POST", path=CALLBACK, status=200,
          body=json.dumps({"ok": True, "run_id": "r", "callback_id": "c", "status": "FAILED",
                           "received_at": "2026-02-18T00:00:00.000000Z"}).encode(),
          headers={"modal-key": "k", "modal-secret": "s"}), ["security"]),
    (dict(method="POST", path=CALLBACK, status=401), []),
    (dict(method="POST", path=CALLBACK, status=404, headers=BEARER), []),
    # undeclared: an error status with the default error response
    (dict(method="GET", path="/api/nope", status=404), []),
    (dict(method="GET", path="/api/zpe/jobs", status=410), []),
    (dict(method="DELETE", path=JOB, status=405), []),
    (dict(method="GET", path="/api/nope", status=200, body=b"{}"), ["status"]),
    (dict(method="GET", path="/api/nope", status=404, body=b'{"detail": "x"}'), ["schema"]),
    # a route another APP_ROLE serves is undeclared on this process
    (dict(method="POST", path="/api/runtime/jobs:submit", status=404, role="worker"), []),
    (dict(method="POST", path=CALLBACK, status=404, role="web"), []),
    (dict(method="GET", path="/api/health", status=404, role="worker"), ["status"]),
])
def test_checker_rules(case, rules):
    assert observe(**case) == rules


# -- the document ---------------------------------------------------------------------------------
def test_callback_declares_the_bearer_id_token_and_nothing_else():
    doc = json.loads(OPENAPI_DOC.read_text())
    op = doc["paths"][CALLBACK]["post"]
    assert op["security"] == [{"validatorIdToken": []}], op["security"]
    scheme = doc["components"]["securitySchemes"]["validatorIdToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for claim in ("aud", "iss", "email", "exp", "iat", "RS256"):
        assert claim in scheme["description"], claim
    assert op["x-rtgw-served-by"] == ["all", "worker"]


# -- behaviour ------------------------------------------------------------------------------------
@pytest.fixture
def worker_with_proxy_auth(server_factory, tmp_path):
    vfile = tmp_path / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        {"name": "noop", "version": "1", "command": ["/bin/true"], "timeout_seconds": 30}]}))
    return server_factory("--proxy-auth-key", "pk-cb", "--proxy-auth-secret", "ps-cb",
                          env={"APP_ROLE": "worker", "RTGW_VALIDATORS_FILE": str(vfile),
                               "MEDIA_ROOT": str(tmp_path / "media")})


def test_callback_without_id_token_is_401_with_or_without_proxy_auth(worker_with_proxy_auth):
    body = {"run_id": "vr-1", "callback_id": "cb-1", "status": "FAILED"}
    before = OPENAPI_CHECK.checked
    with worker_with_proxy_auth.client() as c:
        for headers in ({}, {"modal-key": "pk-cb", "modal-secret": "ps-cb"},
                        {"authorization": "Basic dTpw"}):
            assert_error(c.post(CALLBACK, json=body, headers=headers), 401, "unauthenticated",
                         str(headers))
        # a token that is not an ID token of a launcher: still 401, proxy auth never asked for
        bad = {"authorization": "Bearer " + make_token("t")}
        assert_error(c.post(CALLBACK, json=body, headers=bad), 401, "unauthenticated")
    assert OPENAPI_CHECK.checked == before + 4, "every rtgw response is checked"


def test_routes_of_the_other_role_answer_the_default_error(worker_with_proxy_auth):
    proxy = {"modal-key": "pk-cb", "modal-secret": "ps-cb"}
    api = Api(worker_with_proxy_auth, extra_headers=proxy)
    try:
        r = api.submit(submit_body(api.tenant))
        assert_error(r, 404, "not_found")
        assert TRACE_ID_RE.match(r.headers["x-trace-id"])
        r = api.client.get("/api/runtime/jobs/" + uid("job"), headers=proxy)  # no bearer token
        assert_error(r, 404, "not_found")
    finally:
        api.close()


def test_callback_without_id_token_is_401_before_anything_else(server):
    """Regression: without validators configured, or with a body that is not JSON, a callback
    without a bearer token got 404 / 415, though its declared security asks for the token."""
    with server.client() as c:  # the shared server has no validators
        r = c.post(CALLBACK, json={"run_id": "vr-1", "callback_id": "cb-1", "status": "FAILED"})
        assert_error(r, 401, "unauthenticated")
        r = c.post(CALLBACK, content=b"x", headers={"content-type": "text/plain"})
        assert_error(r, 401, "unauthenticated")
        r = c.post(CALLBACK, json={}, headers={"authorization": "Bearer x.y.z"})
        assert_error(r, 404, "not_found")  # then: no validators here, the route is not served
