"""Auth variants: RS256/ES256 via a JWKS file, issuer/audience, proxy auth."""
from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conftest import (Api, Unchanged, assert_error, hmac_token, make_claims, make_token,
                      submit_body, uid, unsigned_token)


# ============================================================================================
# JWKS (RS256 / ES256)
# ============================================================================================
class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ec_other = ec.generate_private_key(ec.SECP256R1())

    def jwks(self) -> dict:
        jr = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        jr.update(kid="rsa-1", alg="RS256", use="sig")
        je = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        je.update(kid="ec-1", alg="ES256", use="sig")
        return {"keys": [jr, je]}

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def jwks_server(module_server_factory, keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps(keys.jwks()))
    return module_server_factory("--jwks-file", str(path), secret=None)


@pytest.fixture(scope="module")
def mixed_server(module_server_factory, keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks-mixed") / "jwks.json"
    path.write_text(json.dumps(keys.jwks()))
    return module_server_factory("--jwks-file", str(path))  # + HS256 secret


def rs256(keys, tenant, kid="rsa-1", key=None, alg="RS256", **claims):
    return make_token(tenant, key=key or keys.rsa, alg=alg, headers={"kid": kid}, **claims)


def es256(keys, tenant, kid="ec-1", key=None, **claims):
    return make_token(tenant, key=key or keys.ec, alg="ES256", headers={"kid": kid}, **claims)


def roundtrip_ok(server, tenant, token):
    api = Api(server, tenant=tenant, token=token)
    try:
        body, sub = api.new_job()
        assert api.job_ok(body["job_id"])["submission_id"] == sub["submission_id"]
    finally:
        api.close()


def test_rs256_right_kid(jwks_server, keys):
    t = uid("t")
    roundtrip_ok(jwks_server, t, rs256(keys, t))


def test_es256_right_kid(jwks_server, keys):
    t = uid("t")
    roundtrip_ok(jwks_server, t, es256(keys, t))


def _bad_jwks_tokens(keys, t):
    now = int(time.time())
    return {
        "rs256-unknown-kid": rs256(keys, t, kid="rsa-404"),
        "es256-unknown-kid": es256(keys, t, kid="nope"),
        "rs256-other-key-same-kid": rs256(keys, t, key=keys.rsa_other),
        "es256-other-key-same-kid": es256(keys, t, key=keys.ec_other),
        "rs256-with-ec-kid": rs256(keys, t, kid="ec-1"),
        "es256-with-rsa-kid": es256(keys, t, kid="rsa-1"),
        "rs512-with-rs256-key": rs256(keys, t, alg="RS512"),
        "ps256-with-rs256-key": rs256(keys, t, alg="PS256"),
        "hs256-shared-secret": make_token(t),
        "hs256-with-kid": make_token(t, headers={"kid": "rsa-1"}),
        "hs256-keyed-with-rsa-public-pem": hmac_token(make_claims(t), keys.rsa_public_pem(),
                                                      header_extra={"kid": "rsa-1"}),
        "alg-none-with-kid": unsigned_token(make_claims(t), {"alg": "none", "kid": "rsa-1"}),
        "rs256-expired": rs256(keys, t, exp_in=-3600, iat=now - 7200),
        "es256-missing-tenant": make_token(None, key=keys.ec, alg="ES256",
                                           headers={"kid": "ec-1"}),
    }


BAD_JWKS = [
    "rs256-unknown-kid", "es256-unknown-kid", "rs256-other-key-same-kid",
    "es256-other-key-same-kid", "rs256-with-ec-kid", "es256-with-rsa-kid", "rs512-with-rs256-key",
    "ps256-with-rs256-key", "hs256-shared-secret", "hs256-with-kid",
    "hs256-keyed-with-rsa-public-pem", "alg-none-with-kid", "rs256-expired",
    "es256-missing-tenant"]


@pytest.mark.parametrize("name", BAD_JWKS)
def test_jwks_rejects(jwks_server, keys, name):
    t = uid("t")
    token = _bad_jwks_tokens(keys, t)[name]
    good = Api(jwks_server, tenant=t, token=rs256(keys, t))
    bad = Api(jwks_server, tenant=t, token=token)
    try:
        body = submit_body(t)
        snap = Unchanged(good, absent=[body["job_id"]])
        r = bad.submit(body)
        assert_error(r, 401, "unauthenticated", name)
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
        assert_error(bad.job(uid("j")), 401, "unauthenticated", name)
        snap.check(name)
    finally:
        good.close()
        bad.close()


def test_mixed_config_accepts_hs256_and_jwks(mixed_server, keys):
    for mint in (lambda t: make_token(t), lambda t: rs256(keys, t), lambda t: es256(keys, t)):
        t = uid("t")
        roundtrip_ok(mixed_server, t, mint(t))
    t = uid("t")
    bad = Api(mixed_server, tenant=t, token=rs256(keys, t, kid="zzz"))
    try:
        assert_error(bad.job("x"), 401, "unauthenticated")
    finally:
        bad.close()


# ============================================================================================
# issuer / audience
# ============================================================================================
ISS, AUD = "https://issuer.example.test/", "rtgw-api"


@pytest.fixture(scope="module")
def iss_aud_server(module_server_factory):
    return module_server_factory("--jwt-issuer", ISS, "--jwt-audience", AUD)


@pytest.mark.parametrize("claims", [
    {"iss": ISS, "aud": AUD},
    {"iss": ISS, "aud": ["someone-else", AUD]},
], ids=["aud-string", "aud-array"])
def test_issuer_audience_accepted(iss_aud_server, claims):
    t = uid("t")
    roundtrip_ok(iss_aud_server, t, make_token(t, **claims))


@pytest.mark.parametrize("claims", [
    {"aud": AUD},
    {"iss": "https://evil.example.test/", "aud": AUD},
    {"iss": ISS.rstrip("/"), "aud": AUD},
    {"iss": ISS},
    {"iss": ISS, "aud": "other-api"},
    {"iss": ISS, "aud": ["a", "b"]},
    {"iss": ISS, "aud": AUD.upper()},
], ids=["no-iss", "wrong-iss", "iss-prefix", "no-aud", "wrong-aud", "aud-array-without",
        "aud-case"])
def test_issuer_audience_enforced(iss_aud_server, claims):
    t = uid("t")
    good = Api(iss_aud_server, tenant=t, token=make_token(t, iss=ISS, aud=AUD))
    bad = Api(iss_aud_server, tenant=t, token=make_token(t, **claims))
    try:
        body = submit_body(t)
        snap = Unchanged(good, absent=[body["job_id"]])
        assert_error(bad.submit(body), 401, "unauthenticated", str(claims))
        snap.check()
    finally:
        good.close()
        bad.close()


# ============================================================================================
# proxy auth (Modal-Key / Modal-Secret)
# ============================================================================================
PKEY, PSECRET = "wk-" + uid("k"), "ws-" + uid("s")
PROXY_OK = {"Modal-Key": PKEY, "Modal-Secret": PSECRET}


@pytest.fixture(scope="module")
def proxy_server(module_server_factory):
    return module_server_factory("--proxy-auth-key", PKEY, "--proxy-auth-secret", PSECRET)


@pytest.mark.parametrize("path", ["/api/health", "/api/health?deep=1"])
def test_proxy_health_exempt(proxy_server, path):
    with proxy_server.client() as c:
        r = c.get(path)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ok"
        r = c.get(path, headers={"Modal-Key": "wrong", "Modal-Secret": "wrong"})
        assert r.status_code == 200, r.text


BAD_PROXY = {
    "none": {},
    "wrong-key": {"Modal-Key": "wk-wrong", "Modal-Secret": PSECRET},
    "wrong-secret": {"Modal-Key": PKEY, "Modal-Secret": PSECRET + "x"},
    "secret-prefix": {"Modal-Key": PKEY, "Modal-Secret": PSECRET[:-1]},
    "only-key": {"Modal-Key": PKEY},
    "only-secret": {"Modal-Secret": PSECRET},
    "swapped": {"Modal-Key": PSECRET, "Modal-Secret": PKEY},
    "empty": {"Modal-Key": "", "Modal-Secret": ""},
}


@pytest.mark.parametrize("name", list(BAD_PROXY))
def test_proxy_rejects_runtime(proxy_server, name):
    t = uid("t")
    good = Api(proxy_server, tenant=t, extra_headers=PROXY_OK)
    bad = Api(proxy_server, tenant=t)
    bad.extra_headers = BAD_PROXY[name]
    try:
        body = submit_body(t)
        snap = Unchanged(good, absent=[body["job_id"]])
        assert_error(bad.submit(body), 401, "proxy_unauthorized", name)
        assert_error(bad.job(body["job_id"]), 401, "proxy_unauthorized", name)
        snap.check(name)
        assert good.submit(body).status_code == 202
    finally:
        good.close()
        bad.close()


def test_proxy_right_headers_pass(proxy_server):
    t = uid("t")
    api = Api(proxy_server, tenant=t, extra_headers=PROXY_OK)
    try:
        body, sub = api.new_job()
        assert api.job_ok(body["job_id"])["submission_id"] == sub["submission_id"]
        assert api.projection_ok(body["job_id"])["status"] == "queued"
    finally:
        api.close()
    # header names are case-insensitive
    api = Api(proxy_server, tenant=t, extra_headers={"MODAL-KEY": PKEY, "modal-secret": PSECRET})
    try:
        api.new_job()
    finally:
        api.close()


def test_proxy_checked_before_bearer(proxy_server):
    with proxy_server.client() as c:
        # neither proxy headers nor a token: the proxy check answers
        assert_error(c.get("/api/runtime/jobs/x"), 401, "proxy_unauthorized")
        # proxy ok, no token: the bearer check answers
        r = c.get("/api/runtime/jobs/x", headers=PROXY_OK)
        assert_error(r, 401, "unauthenticated")
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
        # proxy wrong, token fine: still proxy_unauthorized
        r = c.get("/api/runtime/jobs/x", headers={"authorization": "Bearer " + make_token("t")})
        assert_error(r, 401, "proxy_unauthorized")


@pytest.mark.parametrize("method,path,ok_status", [
    ("GET", "/metrics", 200), ("GET", "/api/openapi.json", 200), ("GET", "/api/zpe/jobs", 410),
    ("GET", "/api/nope", 404), ("POST", "/api/health", 405)])
def test_proxy_applies_to_everything_but_health(proxy_server, method, path, ok_status):
    with proxy_server.client() as c:
        assert_error(c.request(method, path), 401, "proxy_unauthorized", path)
        r = c.request(method, path, headers=PROXY_OK)
        assert r.status_code == ok_status, (path, r.status_code, r.text[:200])


def test_no_proxy_config_means_no_proxy_check(server):
    """Without proxy auth configured, Modal headers are irrelevant."""
    api = Api(server)
    try:
        api.new_job()
    finally:
        api.close()
    with server.client() as c:
        assert c.get("/metrics").status_code == 200
