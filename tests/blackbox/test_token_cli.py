"""`rtgw token issue|jwks|revoke` (issue 16): tokens for real deployments, accepted by a real
`rtgw serve`; keys generated with the `openssl` command into a temp dir (never committed)."""
from __future__ import annotations

import json
import subprocess

import jwt
import pytest

from conftest import SECRET, Api, assert_error, run_cli, uid, wait_until


def issue(rtgw_bin, *args, env=None) -> str:
    p = run_cli(rtgw_bin, "token", "issue", *args, env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b""
    return p.stdout.decode().strip()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def accepted(server, tenant: str, token: str) -> None:
    """A real request with the token gets past authentication: an unknown job is 404, not 401."""
    api = Api(server, tenant=tenant, token=token)
    try:
        assert_error(api.job(uid("job")), 404, "not_found")
    finally:
        api.close()


def refused(server, tenant: str, token: str, code: str) -> None:
    api = Api(server, tenant=tenant, token=token)
    try:
        assert_error(api.job(uid("job")), 401, code)
    finally:
        api.close()


def openssl_key(path, kind: str) -> str:
    args = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ec384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]}[kind]
    subprocess.run(["openssl", "genpkey", *args, "-out", str(path)], check=True,
                   capture_output=True, timeout=60)
    return str(path)


def test_issue_with_a_secrets_file_is_accepted_by_serve(rtgw_bin, server_factory, tmp_path):
    f = tmp_path / "dev.env"
    assert run_cli(rtgw_bin, "dev", "secrets", "--out", str(f)).returncode == 0
    secret = dict(line.split("=", 1) for line in f.read_text().splitlines()
                  if line and not line.startswith("#"))["RTGW_JWT_HS256_SECRET"]
    srv = server_factory(secret=secret)
    t = uid("t")
    token = issue(rtgw_bin, "--secrets-file", str(f), "--tenant", t, "--sub", "alice",
                  "--scope", "runtime:submit runtime:read", "--ttl", "30m", "--jti", "auto")
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    assert set(claims) == {"tenant_id", "sub", "iat", "exp", "scope", "jti"}
    assert (claims["tenant_id"], claims["sub"]) == (t, "alice")
    assert claims["scope"] == "runtime:submit runtime:read"
    assert claims["exp"] - claims["iat"] == 1800
    assert len(claims["jti"]) == 22  # 128 bits, base64url
    accepted(srv, t, token)
    # --secret, a node token, a given jti, iss/aud.
    token = issue(rtgw_bin, "--secret", secret, "--tenant", t, "--sub", "node-agent", "--node",
                  "mgmt-1", "--jti", "my-id", "--issuer", "https://idp.example", "--audience",
                  "rtgw")
    claims = claims_of(token)
    assert (claims["node_id"], claims["jti"]) == ("mgmt-1", "my-id")
    assert (claims["iss"], claims["aud"]) == ("https://idp.example", "rtgw")
    assert claims["exp"] - claims["iat"] == 3600  # the default --ttl
    # A token signed with another secret is refused by the same server.
    other = issue(rtgw_bin, "--secret", "y" * 40, "--tenant", t, "--sub", "alice")
    refused(srv, t, other, "unauthenticated")


@pytest.mark.parametrize("kind,alg", [("rsa", "RS256"), ("ec", "ES256")])
def test_issue_with_a_pem_key_is_accepted_by_serve_with_its_jwks(rtgw_bin, server_factory,
                                                                 tmp_path, kind, alg):
    key = openssl_key(tmp_path / "key.pem", kind)
    p = run_cli(rtgw_bin, "token", "jwks", "--key-file", key, "--kid", "k-" + kind)
    assert p.returncode == 0, p.stderr
    jwks = json.loads(p.stdout)
    assert [(k["kid"], k["alg"], k["use"]) for k in jwks["keys"]] == [("k-" + kind, alg, "sig")]
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks))
    srv = server_factory("--jwks-file", str(jwks_file), secret=None)
    t = uid("t")
    token = issue(rtgw_bin, "--key-file", key, "--kid", "k-" + kind, "--tenant", t, "--sub",
                  "bob", "--scope", "runtime:read", "--ttl", "10m")
    assert header_of(token) == {"alg": alg, "kid": "k-" + kind, "typ": "JWT"}
    claims = claims_of(token)
    assert (claims["tenant_id"], claims["sub"], claims["scope"]) == (t, "bob", "runtime:read")
    assert claims["exp"] - claims["iat"] == 600
    accepted(srv, t, token)
    # A key the server does not know: refused.
    stranger = openssl_key(tmp_path / "other.pem", kind)
    refused(srv, t, issue(rtgw_bin, "--key-file", stranger, "--kid", "k-" + kind, "--tenant", t,
                          "--sub", "bob"), "unauthenticated")


def test_bad_usage_exits_2_with_a_message(rtgw_bin, tmp_path):
    p384 = openssl_key(tmp_path / "p384.pem", "ec384")
    cases = {
        "no tenant": ["--secret", SECRET, "--sub", "s"],
        "no sub": ["--secret", SECRET, "--tenant", "t"],
        "no key": ["--tenant", "t", "--sub", "s"],
        "unknown scope": ["--secret", SECRET, "--tenant", "t", "--sub", "s", "--scope",
                          "runtime:read runtime:everything"],
        "ttl too long": ["--secret", SECRET, "--tenant", "t", "--sub", "s", "--ttl", "366d"],
        "two keys": ["--secret", SECRET, "--key-file", p384, "--tenant", "t", "--sub", "s"],
        "P-384 key": ["--key-file", p384, "--tenant", "t", "--sub", "s"],
        "missing key file": ["--key-file", str(tmp_path / "nope.pem"), "--tenant", "t", "--sub",
                             "s"],
        "unknown flag": ["--secret", SECRET, "--tenant", "t", "--sub", "s", "--scopes", "x"],
    }
    for name, args in cases.items():
        p = run_cli(rtgw_bin, "token", "issue", *args)
        assert p.returncode == 2, (name, p.returncode, p.stderr)
        assert p.stdout == b"", name
        assert p.stderr.startswith(b"rtgw token issue: "), (name, p.stderr)
    p = run_cli(rtgw_bin, "token", "issue", "--secret", SECRET, "--tenant", "t", "--sub", "s",
                "--scope", "runtime:read runtime:everything")
    assert b'unknown scope "runtime:everything"' in p.stderr
    for args in (["revoke", "--url", "http://127.0.0.1:1", "--token", "x"], ["frobnicate"], []):
        p = run_cli(rtgw_bin, "token", *args)
        assert p.returncode == 2 and p.stderr, (args, p.stderr)
    p = run_cli(rtgw_bin, "token", "--help")
    assert p.returncode == 0 and b"rtgw token issue" in p.stdout and b"revoke" in p.stdout
    p = run_cli(rtgw_bin, "token", "issue", "--help")
    assert p.returncode == 0 and b"--key-file" in p.stdout and b"runtime:submit_as" in p.stdout


def test_revoke_through_the_cli_refuses_the_token(rtgw_bin, server_factory):
    srv = server_factory()
    t = uid("t")
    admin = issue(rtgw_bin, "--secret", SECRET, "--tenant", t, "--sub", "ops",
                  "--scope", "runtime:admin")
    victim = issue(rtgw_bin, "--secret", SECRET, "--tenant", t, "--sub", "alice",
                   "--scope", "runtime:read", "--jti", "auto")
    jti = claims_of(victim)["jti"]
    accepted(srv, t, victim)
    p = run_cli(rtgw_bin, "token", "revoke", "--url", srv.base_url, "--jti", jti,
                env={"RTGW_TOKEN": admin})
    if p.returncode == 1 and b"HTTP 404" in p.stderr:
        pytest.skip("this build has no POST /api/runtime/tokens:revoke")
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert answer["jti"] == jti and answer["revoked"] is True
    api = Api(srv, tenant=t, token=victim)
    try:
        wait_until(lambda: api.job(uid("job")).status_code == 401, 5.0, what="revocation")
        assert_error(api.job(uid("job")), 401, "token_revoked")
    finally:
        api.close()
    # A token without runtime:admin may not revoke: exit 1 with the server's code.
    p = run_cli(rtgw_bin, "token", "revoke", "--url", srv.base_url, "--jti", "other",
                "--token", victim)
    assert p.returncode == 1 and b"HTTP 401 token_revoked" in p.stderr, p.stderr
