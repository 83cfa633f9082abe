"""Every error status of the contract, with the one error shape, and proof nothing changed."""
from __future__ import annotations

import copy
import json
import socket
import time

import pytest

from conftest import (SECRET, Api, Unchanged, assert_error, assert_raw_error, event_body,
                      hmac_token, http_request_bytes, make_claims, make_token, raw_connect,
                      read_raw_response, submit_body, uid, unsigned_token)

DEL = object()  # "remove this field"
BAD_REQUEST_CODES = {"invalid_argument", "bad_request", "invalid_json"}


def mutate(body: dict, path: str, value) -> dict:
    out = copy.deepcopy(body)
    node = out
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[p]
    if value is DEL:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return out


def case_id(path, value) -> str:
    if value is DEL:
        v = "missing"
    else:
        v = repr(value)
        if len(v) > 24:
            v = f"{type(value).__name__}{len(value) if hasattr(value, '__len__') else ''}"
    return f"{path}={v}"


# ============================================================================================
# 400 invalid_json / non-object bodies
# ============================================================================================
INVALID_JSON = [
    (b"{", {"invalid_json"}),
    (b"not json", {"invalid_json"}),
    (b'{"a":1,}', {"invalid_json"}),
    (b"{'a': 1}", {"invalid_json"}),
    (b'{"a":1} {"b":2}', {"invalid_json"}),
    (b'{"a": NaN}', {"invalid_json"}),
    (b'{"a": 01}', {"invalid_json"}),
    (b'{"a": tru}', {"invalid_json"}),
    (b'[1, 2', {"invalid_json"}),
    (b'{"a": "unterminated}', {"invalid_json"}),
    (b"", {"invalid_json", "bad_request"}),
    (b'{"a": "\xff\xfe"}', {"invalid_json", "bad_request"}),  # not UTF-8
]
NON_OBJECT = [b"[]", b'"a string"', b"1", b"null", b"true", b"[{}]"]


@pytest.mark.parametrize("raw,codes", INVALID_JSON, ids=[repr(x[0])[:30] for x in INVALID_JSON])
def test_submit_invalid_json(api: Api, raw, codes):
    snap = Unchanged(api)
    r = api.submit(raw)
    assert_error(r, 400, codes)
    snap.check("submit invalid json")


@pytest.mark.parametrize("raw,codes", INVALID_JSON, ids=[repr(x[0])[:30] for x in INVALID_JSON])
def test_event_invalid_json(api: Api, raw, codes):
    body, sub = api.new_job()
    snap = Unchanged(api, [body["job_id"]])
    r = api.event(body["job_id"], raw)
    assert_error(r, 400, codes)
    snap.check("event invalid json")


@pytest.mark.parametrize("raw", NON_OBJECT, ids=[x.decode() for x in NON_OBJECT])
def test_submit_non_object_body(api: Api, raw):
    snap = Unchanged(api)
    assert_error(api.submit(raw), 400, BAD_REQUEST_CODES)
    snap.check()


@pytest.mark.parametrize("raw", NON_OBJECT, ids=[x.decode() for x in NON_OBJECT])
def test_event_non_object_body(api: Api, raw):
    body, _ = api.new_job()
    snap = Unchanged(api, [body["job_id"]])
    assert_error(api.event(body["job_id"], raw), 400, BAD_REQUEST_CODES)
    snap.check()


# ============================================================================================
# 400 invalid_argument: submit
# ============================================================================================
SUBMIT_BAD = [
    ("workspace_id", DEL), ("workspace_id", 7), ("workspace_id", None), ("workspace_id", ""),
    ("workspace_id", ["w"]), ("workspace_id", "w" * 257), ("workspace_id", "a\nb"),
    ("workspace_id", "a\x00b"), ("workspace_id", "a\x1fb"), ("workspace_id", "a\x7fb"),
    ("job_id", DEL), ("job_id", 42), ("job_id", None), ("job_id", ""), ("job_id", "j" * 129),
    ("job_id", "has space"), ("job_id", "a/b"), ("job_id", "a:b"), ("job_id", "caf\u00e9"),
    ("job_id", "a?b"), ("job_id", "a#b"), ("job_id", "a%2Fb"), ("job_id", "a\nb"),
    ("job_id", "a+b"), ("job_id", "a*b"), ("job_id", "a$b"),
    ("idempotency_key", DEL), ("idempotency_key", 1), ("idempotency_key", ""),
    ("idempotency_key", "k" * 257), ("idempotency_key", "k\tk"),
    ("management_node_id", DEL), ("management_node_id", False), ("management_node_id", ""),
    ("management_node_id", "m" * 257), ("management_node_id", "m\rm"),
    ("execution_profile", DEL), ("execution_profile", "default"), ("execution_profile", None),
    ("execution_profile", []),
    ("execution_profile.queue_name", DEL), ("execution_profile.queue_name", 1),
    ("execution_profile.queue_name", ""), ("execution_profile.queue_name", "q" * 257),
    ("execution_profile.queue_name", "q\x01"),
    ("resource_shape", DEL), ("resource_shape", [1, 2048, 3600]), ("resource_shape", "big"),
    ("resource_shape.cpu", DEL), ("resource_shape.cpu", 0), ("resource_shape.cpu", -1),
    ("resource_shape.cpu", 1025), ("resource_shape.cpu", "1"), ("resource_shape.cpu", 1.5),
    ("resource_shape.cpu", True), ("resource_shape.cpu", None), ("resource_shape.cpu", 2 ** 64),
    ("resource_shape.cpu", 1e300), ("resource_shape.cpu", [1]),
    ("resource_shape.memory_mib", DEL), ("resource_shape.memory_mib", 0),
    ("resource_shape.memory_mib", 16777217), ("resource_shape.memory_mib", "2048"),
    ("resource_shape.memory_mib", 2048.5), ("resource_shape.memory_mib", -5),
    ("resource_shape.walltime_seconds", DEL), ("resource_shape.walltime_seconds", 0),
    ("resource_shape.walltime_seconds", 31536001), ("resource_shape.walltime_seconds", "3600"),
    ("resource_shape.walltime_seconds", False),
    ("payload_ref", DEL), ("payload_ref", "inline://x"), ("payload_ref", None),
    ("payload_ref.input_uri", DEL), ("payload_ref.input_uri", ""),
    ("payload_ref.input_uri", "no-scheme-here"), ("payload_ref.input_uri", "/abs/path"),
    ("payload_ref.input_uri", ":nothing"), ("payload_ref.input_uri", 5),
    ("payload_ref.input_uri", "s3:" + "p" * 4094),
    ("requested_by", DEL), ("requested_by", "u1"),
    ("requested_by.user_id", DEL), ("requested_by.user_id", 1), ("requested_by.user_id", ""),
    ("requested_by.user_id", "u" * 257), ("requested_by.user_id", "u\x00"),
]


@pytest.mark.parametrize("path,value", SUBMIT_BAD, ids=[case_id(*c) for c in SUBMIT_BAD])
def test_submit_invalid_field(api: Api, path, value):
    base = submit_body(api.tenant)
    bad = mutate(base, path, value)
    snap = Unchanged(api, absent=[base["job_id"]])
    r = api.submit(bad)
    err = assert_error(r, 400, "invalid_argument", f"{path}={value!r:.40}")
    assert path in err["message"], f"message must name the field path {path!r}: {err['message']!r}"
    snap.check(path)
    # the idempotency key and job id were not consumed: the valid body goes through now
    r = api.submit(base)
    assert r.status_code == 202, f"valid submit after rejected one: {r.status_code} {r.text}"


@pytest.mark.parametrize("value", [DEL, 123, None, ["t"]], ids=["missing", "int", "null", "list"])
def test_submit_invalid_tenant_id(api: Api, value):
    """A missing/non-string tenant_id is rejected (400 naming tenant_id, or 403 tenant_mismatch
    since it cannot equal the token's tenant); nothing is created."""
    base = submit_body(api.tenant)
    snap = Unchanged(api, absent=[base["job_id"]])
    r = api.submit(mutate(base, "tenant_id", value))
    if r.status_code == 400:
        err = assert_error(r, 400, "invalid_argument")
        assert "tenant_id" in err["message"], err
    else:
        assert_error(r, 403, "tenant_mismatch")
    snap.check()
    assert api.submit(base).status_code == 202


# ============================================================================================
# 400 invalid_argument: events
# ============================================================================================
EVENT_BAD = [
    ("event_id", DEL), ("event_id", 1), ("event_id", ""), ("event_id", "e" * 257),
    ("event_id", "e\n"), ("event_id", None),
    ("workspace_id", DEL), ("workspace_id", 3), ("workspace_id", ""), ("workspace_id", "w" * 257),
    ("workspace_id", "w\x02"),
    ("submission_id", DEL), ("submission_id", 9), ("submission_id", ""),
    ("submission_id", "s" * 257), ("submission_id", None),
    ("execution_id", DEL), ("execution_id", []), ("execution_id", ""),
    ("execution_id", "x" * 257), ("execution_id", "x\x00"),
    ("trace_id", DEL), ("trace_id", {}), ("trace_id", ""), ("trace_id", "t" * 257),
    ("trace_id", "t\x1b"),
    ("state", DEL), ("state", "submitted"), ("state", "RUNNING"), ("state", "done"),
    ("state", 2), ("state", None), ("state", ""),
    ("occurred_at", DEL), ("occurred_at", "yesterday"), ("occurred_at", "2026-02-18"),
    ("occurred_at", "2026-02-18T00:00:00"), ("occurred_at", "2026-13-01T00:00:00Z"),
    ("occurred_at", "2026-02-18T25:00:00Z"), ("occurred_at", "2026-02-18T00:61:00Z"),
    ("occurred_at", 1771372800), ("occurred_at", ""), ("occurred_at", "18/02/2026 00:00"),
    ("occurred_at", "2026-02-18T00:00:00+25:00"), ("occurred_at", None),
    ("result_ref", "s3://x"), ("result_ref", ["s3://x"]), ("result_ref.output_uri", 1),
    ("result_ref.output_uri", "noscheme"), ("result_ref.output_uri", ""),
    ("result_ref.output_uri", "s3:" + "o" * 4094),
    ("error", "boom"), ("error", 5), ("error.code", 1), ("error.code", "c" * 129),
    ("error.message", 2), ("error.message", "m" * 4097), ("error.exit_code", "3"),
    ("error.exit_code", 1.5), ("error.exit_code", True),
]


def _event_base(api: Api, path: str = ""):
    """A new job and a valid event for it: `completed` with result_ref when the case is about
    result_ref, `failed` with error when about error, else a plain `running`."""
    body, sub = api.new_job()
    extra = {}
    state = "running"
    if path.startswith("result_ref"):
        state, extra = "completed", {"result_ref": {"output_uri": "s3://out/ok"}}
    elif path.startswith("error"):
        state, extra = "failed", {"error": {"code": "E", "message": "m", "exit_code": 1}}
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], state, **extra)
    return body, sub, ev


@pytest.mark.parametrize("path,value", EVENT_BAD, ids=[case_id(*c) for c in EVENT_BAD])
def test_event_invalid_field(api: Api, path, value):
    body, sub, base = _event_base(api, path)
    job_id = body["job_id"]
    snap = Unchanged(api, [job_id])
    r = api.event(job_id, mutate(base, path, value))
    err = assert_error(r, 400, "invalid_argument", f"{path}={value!r:.40}")
    assert path in err["message"], f"message must name the field path {path!r}: {err['message']!r}"
    snap.check(path)
    # the event id was not consumed: the valid event applies now
    r = api.event(job_id, base)
    assert r.status_code == 200 and r.json() == {"ok": True, "idempotent": False}, r.text


@pytest.mark.parametrize("value", [DEL, 5, None], ids=["missing", "int", "null"])
def test_event_invalid_tenant_id(api: Api, value):
    body, sub, base = _event_base(api)
    snap = Unchanged(api, [body["job_id"]])
    r = api.event(body["job_id"], mutate(base, "tenant_id", value))
    if r.status_code == 400:
        err = assert_error(r, 400, "invalid_argument")
        assert "tenant_id" in err["message"], err
    else:
        assert_error(r, 403, "tenant_mismatch")
    snap.check()


def test_event_job_id_mismatch(api: Api):
    a_body, a_sub = api.new_job()
    b_body, b_sub = api.new_job()
    snap = Unchanged(api, [a_body["job_id"], b_body["job_id"]])
    # body names job B, path names job A (both exist, same tenant)
    ev = event_body(api.tenant, b_body["job_id"], b_sub["submission_id"], "running")
    r = api.event(a_body["job_id"], ev)
    err = assert_error(r, 400, "job_id_mismatch")
    assert "job_id" in err["message"]
    # body names an unknown job
    ev2 = event_body(api.tenant, "nope-" + uid("j"), a_sub["submission_id"], "running")
    assert_error(api.event(a_body["job_id"], ev2), 400, "job_id_mismatch")
    snap.check()


def test_event_missing_job_id_field(api: Api):
    body, sub, base = _event_base(api)
    snap = Unchanged(api, [body["job_id"]])
    r = api.event(body["job_id"], mutate(base, "job_id", DEL))
    err = assert_error(r, 400, {"invalid_argument", "job_id_mismatch"})
    assert "job_id" in err["message"], err
    snap.check()


# ============================================================================================
# 401
# ============================================================================================
def _bad_auth_headers(tenant: str) -> list[tuple[str, dict]]:
    now = int(time.time())
    good = make_claims(tenant)
    header, payload, sig = make_token(tenant).split(".")
    tampered_payload = make_token(tenant + "-other").split(".")[1]
    return [
        ("missing", {}),
        # "Bearer " with nothing after it is "Bearer" on the wire (trailing whitespace is
        # not part of a field value), so bearer-only covers it.
        ("bearer-only", {"authorization": "Bearer"}),
        ("garbage", {"authorization": "Bearer garbage"}),
        ("dots-garbage", {"authorization": "Bearer a.b.c"}),
        ("basic", {"authorization": "Basic dXNlcjpwYXNz"}),
        ("no-scheme", {"authorization": make_token(tenant)}),
        ("wrong-secret", {"authorization": "Bearer " + make_token(tenant, secret="not-the-secret-" + "x" * 20)}),
        ("expired", {"authorization": "Bearer " + make_token(tenant, exp_in=-3600, iat=now - 7200)}),
        ("nbf-future", {"authorization": "Bearer " + make_token(tenant, nbf=now + 3600)}),
        ("alg-none", {"authorization": "Bearer " + unsigned_token(good)}),
        ("alg-NONE", {"authorization": "Bearer " + unsigned_token(good, {"alg": "NONE", "typ": "JWT"})}),
        ("alg-none-with-sig", {"authorization": "Bearer " + unsigned_token(good) + sig}),
        ("hs512-same-secret", {"authorization": "Bearer " + make_token(tenant, alg="HS512")}),
        ("hs384-same-secret", {"authorization": "Bearer " + make_token(tenant, alg="HS384")}),
        ("tampered-payload", {"authorization": f"Bearer {header}.{tampered_payload}.{sig}"}),
        ("signature-stripped", {"authorization": f"Bearer {header}.{payload}."}),
        ("missing-tenant-claim", {"authorization": "Bearer " + hmac_token(
            {k: v for k, v in good.items() if k != "tenant_id"}, SECRET.encode())}),
        ("missing-sub-claim", {"authorization": "Bearer " + hmac_token(
            {k: v for k, v in good.items() if k != "sub"}, SECRET.encode())}),
        ("empty-tenant-claim", {"authorization": "Bearer " + hmac_token(
            dict(good, tenant_id=""), SECRET.encode())}),
        ("numeric-tenant-claim", {"authorization": "Bearer " + hmac_token(
            dict(good, tenant_id=12345), SECRET.encode())}),
        ("huge-token", {"authorization": "Bearer " + make_token(tenant, pad="p" * 7000)}),
    ]


BAD_AUTH_NAMES = [n for n, _ in _bad_auth_headers("t")]


@pytest.mark.parametrize("name", BAD_AUTH_NAMES)
def test_unauthenticated_read(server, api: Api, name):
    body, _ = api.new_job()
    hdrs = dict(_bad_auth_headers(api.tenant))[name]
    with server.client() as c:
        r = c.get(f"/api/runtime/jobs/{body['job_id']}", headers={"x-tenant-id": api.tenant, **hdrs})
    assert_error(r, 401, "unauthenticated", name)
    www = r.headers.get("www-authenticate", "")
    assert www.lower().startswith("bearer"), f"WWW-Authenticate: {www!r}"


@pytest.mark.parametrize("name", BAD_AUTH_NAMES)
def test_unauthenticated_submit_creates_nothing(server, api: Api, name):
    body = submit_body(api.tenant)
    hdrs = dict(_bad_auth_headers(api.tenant))[name]
    snap = Unchanged(api, absent=[body["job_id"]])
    with server.client() as c:
        r = c.post("/api/runtime/jobs:submit", content=json.dumps(body),
                   headers={"x-tenant-id": api.tenant, "content-type": "application/json", **hdrs})
    assert_error(r, 401, "unauthenticated", name)
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
    snap.check(name)
    assert api.submit(body).status_code == 202  # key was not consumed


@pytest.mark.parametrize("method,suffix", [
    ("POST", ":submit"), ("POST", "/{job}/events"), ("GET", "/{job}"), ("GET", "/{job}/detail"),
    ("GET", "/{job}/projection")])
def test_every_runtime_route_requires_token(server, api: Api, method, suffix):
    body, sub = api.new_job()
    snap = Unchanged(api, [body["job_id"]])
    path = "/api/runtime/jobs" + suffix.replace("{job}", body["job_id"])
    payload = None
    if method == "POST":
        payload = json.dumps(submit_body(api.tenant) if suffix == ":submit" else
                             event_body(api.tenant, body["job_id"], sub["submission_id"], "running"))
    with server.client() as c:
        r = c.request(method, path, content=payload,
                      headers={"content-type": "application/json", "x-tenant-id": api.tenant})
    assert_error(r, 401, "unauthenticated")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
    snap.check()


def test_event_with_bad_token_changes_nothing(server, api: Api):
    body, sub = api.new_job()
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "running")
    snap = Unchanged(api, [body["job_id"]])
    bad = Api(server, tenant=api.tenant, token=make_token(api.tenant, secret="wrong-secret-" + "y" * 24))
    try:
        assert_error(bad.event(body["job_id"], ev), 401, "unauthenticated")
    finally:
        bad.close()
    snap.check()
    api.event_ok(body["job_id"], ev)  # event id not consumed


# ============================================================================================
# 403 tenant_mismatch
# ============================================================================================
@pytest.mark.parametrize("what", ["", "/detail", "/projection"])
def test_tenant_header_mismatch_on_reads(api: Api, what):
    body, _ = api.new_job()
    r = api.get(f"/api/runtime/jobs/{body['job_id']}{what}", headers={"x-tenant-id": uid("other")})
    assert_error(r, 403, "tenant_mismatch")


def test_tenant_header_mismatch_on_submit(api: Api):
    body = submit_body(api.tenant)
    snap = Unchanged(api, absent=[body["job_id"]])
    assert_error(api.submit(body, headers={"x-tenant-id": uid("other")}), 403, "tenant_mismatch")
    snap.check()
    assert api.submit(body).status_code == 202


def test_body_tenant_mismatch_on_submit(api: Api):
    other = uid("other")
    body = submit_body(other)
    snap = Unchanged(api, absent=[body["job_id"]])
    assert_error(api.submit(body), 403, "tenant_mismatch")
    # also with x-tenant-id omitted: the body still has to match the token
    assert_error(api.submit(body, headers={"x-tenant-id": None}), 403, "tenant_mismatch")
    snap.check()
    other_api = Api(api.server, tenant=other)
    try:
        assert other_api.job(body["job_id"]).status_code == 404
    finally:
        other_api.close()


def test_tenant_mismatch_on_events(api: Api):
    body, sub = api.new_job()
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "running")
    snap = Unchanged(api, [body["job_id"]])
    assert_error(api.event(body["job_id"], ev, headers={"x-tenant-id": uid("other")}), 403,
                 "tenant_mismatch")
    assert_error(api.event(body["job_id"], dict(ev, tenant_id=uid("other"))), 403,
                 "tenant_mismatch")
    snap.check()
    api.event_ok(body["job_id"], ev)


# ============================================================================================
# 404
# ============================================================================================
@pytest.mark.parametrize("method,path", [
    ("GET", "/api/nope"), ("GET", "/nope"), ("GET", "/"), ("POST", "/api/nope"),
    ("GET", "/api/runtime/nope"), ("GET", "/api/runtime/jobs/"),
    ("GET", "/api/runtime/jobs/{job}/unknown"), ("GET", "/api/runtime/jobs/{job}/detail/x"),
    ("GET", "/api/healthz"), ("GET", "/api/runtime/jobs:list"), ("GET", "/metricsx"),
])
def test_unknown_route(api: Api, method, path):
    body, _ = api.new_job()
    path = path.replace("{job}", body["job_id"])
    snap = Unchanged(api, [body["job_id"]])
    r = api.client.request(method, path, headers=api.headers({"content-type": "application/json"}),
                           content=b"{}" if method == "POST" else None)
    assert_error(r, 404, "not_found", f"{method} {path}")
    snap.check()


@pytest.mark.parametrize("what", ["", "/detail", "/projection"])
def test_unknown_job_read(api: Api, what):
    r = api.get(f"/api/runtime/jobs/{uid('missing')}{what}")
    assert_error(r, 404, "not_found")


def test_unknown_job_event(api: Api):
    missing = uid("missing")
    body, sub = api.new_job()
    snap = Unchanged(api, [body["job_id"]], absent=[missing])
    r = api.event(missing, event_body(api.tenant, missing, sub["submission_id"], "running"))
    assert_error(r, 404, "not_found")
    snap.check()


# ============================================================================================
# 405
# ============================================================================================
@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/runtime/jobs/{job}", "GET"),
    ("PUT", "/api/runtime/jobs/{job}", "GET"),
    ("PATCH", "/api/runtime/jobs/{job}", "GET"),
    ("POST", "/api/runtime/jobs/{job}", "GET"),
    ("GET", "/api/runtime/jobs:submit", "POST"),
    ("PUT", "/api/runtime/jobs:submit", "POST"),
    ("GET", "/api/runtime/jobs/{job}/events", "POST"),
    ("DELETE", "/api/runtime/jobs/{job}/events", "POST"),
    ("POST", "/api/runtime/jobs/{job}/detail", "GET"),
    ("POST", "/api/runtime/jobs/{job}/projection", "GET"),
    ("POST", "/api/health", "GET"),
    ("DELETE", "/metrics", "GET"),
    ("POST", "/api/openapi.json", "GET"),
    ("POST", "/api/runtime/jobs", "GET"),
    ("POST", "/api/runtime/jobs:watch", "GET"),
])
def test_method_not_allowed(api: Api, method, path, allowed):
    body, _ = api.new_job()
    path = path.replace("{job}", body["job_id"])
    snap = Unchanged(api, [body["job_id"]])
    content = json.dumps(submit_body(api.tenant, job_id=body["job_id"])).encode() \
        if method in ("POST", "PUT", "PATCH") else None
    r = api.client.request(method, path, content=content,
                           headers=api.headers({"content-type": "application/json"}))
    assert_error(r, 405, "method_not_allowed", f"{method} {path}")
    allow = {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}
    assert allowed in allow, f"Allow header {r.headers.get('allow')!r} must list {allowed}"
    assert method not in allow, f"Allow header {r.headers.get('allow')!r} lists {method}"
    snap.check()


# ============================================================================================
# 409
# ============================================================================================
def test_idempotency_conflict(api: Api):
    body, sub = api.new_job()
    snap = Unchanged(api, [body["job_id"]])
    for field, value in (("resource_shape", {"cpu": 4, "memory_mib": 2048, "walltime_seconds": 3600}),
                         ("workspace_id", "other-ws"),
                         ("payload_ref", {"input_uri": "s3://elsewhere"}),
                         ("job_id", uid("job"))):
        r = api.submit(dict(body, **{field: value}))
        assert_error(r, 409, "idempotency_conflict", field)
        if field == "job_id":
            assert api.job(value).status_code == 404
    snap.check()
    assert api.job_ok(body["job_id"])["submission_id"] == sub["submission_id"]


def test_job_id_conflict(api: Api):
    body, sub = api.new_job()
    snap = Unchanged(api, [body["job_id"]])
    # new key, same job id: identical payload otherwise, and a different payload
    r = api.submit(dict(body, idempotency_key=uid("key")))
    assert_error(r, 409, "job_id_conflict")
    r = api.submit(dict(body, idempotency_key=uid("key"), management_node_id="other-node"))
    assert_error(r, 409, "job_id_conflict")
    snap.check()
    assert api.job_ok(body["job_id"])["submission_id"] == sub["submission_id"]


def test_event_conflict(api: Api):
    body, sub = api.new_job()
    jid, sid = body["job_id"], sub["submission_id"]
    ev = event_body(api.tenant, jid, sid, "running")
    api.event_ok(jid, ev)
    snap = Unchanged(api, [jid])
    for field, value in (("state", "completed"), ("execution_id", "aiida-other"),
                         ("occurred_at", "2026-02-19T00:00:00Z"), ("trace_id", "trace-other"),
                         ("result_ref", {"output_uri": "s3://other"}),
                         ("error", {"code": "X", "message": "y"}), ("workspace_id", "ws-other")):
        r = api.event(jid, dict(ev, **{field: value}))
        assert_error(r, 409, "event_conflict", field)
    snap.check()
    assert api.job_ok(jid)["state"] == "running"


def test_submission_mismatch(api: Api):
    body, sub = api.new_job()
    other_body, other_sub = api.new_job()
    jid = body["job_id"]
    snap = Unchanged(api, [jid, other_body["job_id"]])
    for sid in (other_sub["submission_id"], "00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        ev = event_body(api.tenant, jid, sid, "running", event_id="evt-mismatch")
        assert_error(api.event(jid, ev), 409, "submission_mismatch", sid)
    snap.check()
    # the rejected event id is still free for the right submission
    api.event_ok(jid, event_body(api.tenant, jid, sub["submission_id"], "running",
                                 event_id="evt-mismatch"))


# ============================================================================================
# 410 retired /api/zpe/*
# ============================================================================================
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/zpe/jobs", "/api/zpe/anything/deeper/x", "/api/zpe/"])
@pytest.mark.parametrize("with_token", [False, True], ids=["anon", "token"])
def test_zpe_gone(server, method, path, with_token):
    headers = {"content-type": "application/json"}
    if with_token:
        headers["authorization"] = "Bearer " + make_token(uid("t"))
    with server.client() as c:
        r = c.request(method, path, headers=headers,
                      content=b'{"job_id":"x"}' if method in ("POST", "PUT", "PATCH") else None)
    if method == "HEAD":
        assert r.status_code == 410, r.status_code
        assert r.headers.get("x-trace-id")
        return
    err = assert_error(r, 410, "gone", f"{method} {path}")
    assert "/api/runtime" in err["message"], err["message"]


# ============================================================================================
# 413
# ============================================================================================
LIMIT = 2048


@pytest.fixture(scope="module")
def small_body_server(module_server_factory):
    return module_server_factory("--max-body-bytes", str(LIMIT))


def padded_submit(tenant: str, size: int) -> tuple[dict, bytes]:
    body = submit_body(tenant)
    body["pad"] = ""
    base = len(json.dumps(body).encode())
    assert base <= size, (base, size)
    body["pad"] = "p" * (size - base)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return body, raw


def test_body_at_limit_accepted(small_body_server):
    api = Api(small_body_server)
    try:
        body, raw = padded_submit(api.tenant, LIMIT)
        r = api.submit(raw)
        assert r.status_code == 202, r.text
    finally:
        api.close()


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT, 200_000])
def test_submit_over_limit(small_body_server, size):
    api = Api(small_body_server)
    try:
        body, raw = padded_submit(api.tenant, size)
        snap = Unchanged(api, absent=[body["job_id"]])
        s = raw_connect(small_body_server.port)
        try:
            req = http_request_bytes("POST", "/api/runtime/jobs:submit", {
                "Authorization": "Bearer " + api.token, "Content-Type": "application/json"}, raw)
            try:
                s.sendall(req)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading the whole body
            resp = read_raw_response(s)
        finally:
            s.close()
        assert_raw_error(resp, 413, "payload_too_large", f"size {size}")
        snap.check()
    finally:
        api.close()


def test_event_over_limit(small_body_server):
    api = Api(small_body_server)
    try:
        body, sub = api.new_job()
        ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "completed",
                        result_ref={"output_uri": "s3:" + "o" * 3000})
        snap = Unchanged(api, [body["job_id"]])
        r = api.event(body["job_id"], ev)
        assert_error(r, 413, "payload_too_large")
        snap.check()
    finally:
        api.close()


def test_chunked_body_over_limit(small_body_server):
    """The limit holds for bodies without Content-Length (chunked transfer coding) too."""
    api = Api(small_body_server)
    try:
        body, raw = padded_submit(api.tenant, 3 * LIMIT)
        snap = Unchanged(api, absent=[body["job_id"]])
        s = raw_connect(small_body_server.port)
        try:
            head = http_request_bytes("POST", "/api/runtime/jobs:submit", {
                "Authorization": "Bearer " + api.token, "Content-Type": "application/json",
                "Transfer-Encoding": "chunked"})
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(raw[i:i + 512]), raw[i:i + 512])
                              for i in range(0, len(raw), 512)) + b"0\r\n\r\n"
            try:
                s.sendall(head + chunks)
            except (BrokenPipeError, ConnectionResetError):
                pass
            resp = read_raw_response(s)
        finally:
            s.close()
        assert_raw_error(resp, 413, "payload_too_large")
        snap.check()
    finally:
        api.close()


def test_default_limit_is_one_mib(api: Api):
    body, raw = padded_submit(api.tenant, (1 << 20) + 1)
    snap = Unchanged(api, absent=[body["job_id"]])
    r = api.submit(raw)
    assert_error(r, 413, "payload_too_large")
    snap.check()
    body, raw = padded_submit(api.tenant, (1 << 20) - 16)
    assert api.submit(raw).status_code == 202


# ============================================================================================
# 415
# ============================================================================================
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "application/xml", "multipart/form-data; boundary=x",
                                   "text/json", "application/jsonx"])
def test_submit_unsupported_media_type(api: Api, ctype):
    body = submit_body(api.tenant)
    snap = Unchanged(api, absent=[body["job_id"]])
    h = api.headers()
    if ctype:
        h["content-type"] = ctype
    r = api.client.post("/api/runtime/jobs:submit", content=json.dumps(body).encode(), headers=h)
    assert_error(r, 415, "unsupported_media_type", str(ctype))
    snap.check()
    assert api.submit(body).status_code == 202


def test_event_unsupported_media_type(api: Api):
    body, sub = api.new_job()
    ev = event_body(api.tenant, body["job_id"], sub["submission_id"], "running")
    snap = Unchanged(api, [body["job_id"]])
    r = api.client.post(f"/api/runtime/jobs/{body['job_id']}/events",
                        content=json.dumps(ev).encode(),
                        headers=api.headers({"content-type": "text/plain"}))
    assert_error(r, 415, "unsupported_media_type")
    snap.check()
    api.event_ok(body["job_id"], ev)


# ============================================================================================
# 431
# ============================================================================================
def _raw_exchange(port: int, data: bytes, timeout: float = 10.0):
    s = raw_connect(port)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_raw_response(s, timeout=timeout)
    finally:
        s.close()


def test_header_too_large_single(server):
    req = http_request_bytes("GET", "/api/health", {"X-Big": "a" * (20 * 1024)})
    resp = _raw_exchange(server.port, req)
    assert_raw_error(resp, 431, "headers_too_large")


def test_header_too_large_many(server):
    hdrs = {f"X-H{i}": "v" * 100 for i in range(200)}  # ~22 KiB in total
    resp = _raw_exchange(server.port, http_request_bytes("GET", "/api/health", hdrs))
    assert_raw_error(resp, 431, "headers_too_large")


def test_header_too_large_on_submit_changes_nothing(server, api: Api):
    body = submit_body(api.tenant)
    snap = Unchanged(api, absent=[body["job_id"]])
    raw = json.dumps(body).encode()
    req = http_request_bytes("POST", "/api/runtime/jobs:submit", {
        "Authorization": "Bearer " + api.token, "Content-Type": "application/json",
        "X-Big": "b" * (24 * 1024)}, raw)
    assert_raw_error(_raw_exchange(server.port, req), 431, "headers_too_large")
    snap.check()


def test_headers_under_limit_accepted(server):
    req = http_request_bytes("GET", "/api/health", {"X-Big": "a" * (12 * 1024)})
    resp = _raw_exchange(server.port, req)
    assert resp.status == 200, resp


# ============================================================================================
# 408 slow clients (server with --read-timeout-ms 300)
# ============================================================================================
@pytest.fixture(scope="module")
def slow_server(module_server_factory):
    return module_server_factory("--read-timeout-ms", "300")


def _expect_408(sock: socket.socket, started: float):
    resp = read_raw_response(sock, timeout=5, check_close=3)
    elapsed = time.monotonic() - started
    assert_raw_error(resp, 408, "request_timeout")
    assert resp.closed, "connection must be closed after 408"
    assert elapsed < 4.0, f"408 came after {elapsed:.2f}s with a 300 ms read timeout"
    return resp


def test_timeout_partial_headers(slow_server):
    s = raw_connect(slow_server.port)
    try:
        t0 = time.monotonic()
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ")
        _expect_408(s, t0)
    finally:
        s.close()


def test_timeout_partial_body_creates_nothing(slow_server):
    api = Api(slow_server)
    try:
        body = submit_body(api.tenant)
        raw = json.dumps(body).encode()
        snap = Unchanged(api, absent=[body["job_id"]])
        s = raw_connect(slow_server.port)
        try:
            t0 = time.monotonic()
            s.sendall(http_request_bytes("POST", "/api/runtime/jobs:submit", {
                "Authorization": "Bearer " + api.token, "Content-Type": "application/json",
                "Content-Length": str(len(raw))}) + raw[:len(raw) // 2])
            _expect_408(s, t0)
        finally:
            s.close()
        snap.check()
        assert api.submit(body).status_code == 202  # nothing was consumed
    finally:
        api.close()


def test_timeout_is_per_request_not_per_read(slow_server):
    """Dribbling one byte every 100 ms must not keep a request alive past the timeout."""
    req = http_request_bytes("GET", "/api/health", {"X-Slow": "z" * 200})
    s = raw_connect(slow_server.port)
    try:
        t0 = time.monotonic()
        for i in range(len(req) - 1):  # never send the final byte
            try:
                s.sendall(req[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break  # server gave up on us: read what it said
            time.sleep(0.1)
            s.settimeout(0.001)
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break  # a response is waiting
            except (socket.timeout, BlockingIOError):
                pass
            except ConnectionResetError:
                pytest.fail("connection reset without a 408")
            if time.monotonic() - t0 > 5:
                break
        _expect_408(s, t0)
    finally:
        s.close()


def test_slow_server_serves_normal_requests(slow_server):
    api = Api(slow_server)
    try:
        body, sub = api.new_job()
        assert api.job_ok(body["job_id"])["submission_id"] == sub["submission_id"]
        # keep-alive: an idle pause shorter than the timeout between requests is fine
        time.sleep(0.1)
        assert api.projection_ok(body["job_id"])["status"] == "queued"
    finally:
        api.close()


def test_error_trace_id_matches_header_everywhere(server, api: Api):
    """Errors from every layer (router, auth, validation, store) carry the same trace id in body
    and header."""
    cases = [
        api.client.get("/api/nope"),
        api.client.get("/api/runtime/jobs/x"),
        api.get(f"/api/runtime/jobs/{uid('missing')}"),
        api.submit(b"{"),
        api.submit(submit_body(api.tenant, job_id="bad id")),
    ]
    for r in cases:
        assert r.status_code >= 400
        assert r.json()["error"]["trace_id"] == r.headers["x-trace-id"]
    assert len({r.headers["x-trace-id"] for r in cases}) == len(cases), "trace ids must differ"
