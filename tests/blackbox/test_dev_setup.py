"""Local operator set-up (seed 000): `rtgw dev secrets`, `rtgw dev token --secrets-file`, and
scripts/submit-smoke.sh against a running server configured from the same secrets file."""
from __future__ import annotations

import os
import stat
import subprocess

import jwt

from conftest import REPO_ROOT, clean_env, run_cli, uid


def read_env(path):
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


def test_dev_secrets_file_is_private_and_not_overwritten(rtgw_bin, tmp_path):
    f = tmp_path / "dev.env"
    p = run_cli(rtgw_bin, "dev", "secrets", "--out", str(f))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    env = read_env(f)
    assert len(env["RTGW_JWT_HS256_SECRET"]) == 64
    assert env["RTGW_PROXY_AUTH_KEY"] and len(env["RTGW_PROXY_AUTH_SECRET"]) == 64
    before = f.read_bytes()
    p = run_cli(rtgw_bin, "dev", "secrets", "--out", str(f))
    assert p.returncode == 1 and b"--force" in p.stderr
    assert f.read_bytes() == before
    p = run_cli(rtgw_bin, "dev", "secrets", "--out", str(f), "--force", "--no-proxy-auth")
    assert p.returncode == 0
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    after = read_env(f)
    assert after["RTGW_JWT_HS256_SECRET"] != env["RTGW_JWT_HS256_SECRET"]
    assert "RTGW_PROXY_AUTH_KEY" not in after
    p = run_cli(rtgw_bin, "dev", "secrets")
    assert p.returncode == 2 and b"--out" in p.stderr


def test_dev_token_from_secrets_file(rtgw_bin, tmp_path):
    f = tmp_path / "dev.env"
    assert run_cli(rtgw_bin, "dev", "secrets", "--out", str(f)).returncode == 0
    secret = read_env(f)["RTGW_JWT_HS256_SECRET"]
    p = run_cli(rtgw_bin, "dev", "token", "--secrets-file", str(f), "--tenant", "t1", "--sub",
                "alice", "--node", "mgmt-node-1", "--ttl", "30m")
    assert p.returncode == 0, p.stderr
    claims = jwt.decode(p.stdout.decode().strip(), secret, algorithms=["HS256"])
    assert claims["tenant_id"] == "t1" and claims["sub"] == "alice"
    assert claims["node_id"] == "mgmt-node-1"
    assert claims["exp"] - claims["iat"] == 1800
    # the old way (--secret / RTGW_JWT_HS256_SECRET) keeps working
    p = run_cli(rtgw_bin, "dev", "token", "--tenant", "t2",
                env={"RTGW_JWT_HS256_SECRET": "x" * 40})
    assert p.returncode == 0
    assert jwt.decode(p.stdout.decode().strip(), "x" * 40, algorithms=["HS256"])["tenant_id"] == "t2"
    p = run_cli(rtgw_bin, "dev", "token", "--secrets-file", str(tmp_path / "nope.env"),
                "--tenant", "t")
    assert p.returncode == 2 and b"cannot read" in p.stderr
    p = run_cli(rtgw_bin, "dev", "token", "--secrets-file", str(f), "--tenant", "t", "--ttl", "2y")
    assert p.returncode == 2 and b"--ttl" in p.stderr


def test_submit_smoke_script_against_running_server(rtgw_bin, server_factory, tmp_path):
    f = tmp_path / "dev.env"
    assert run_cli(rtgw_bin, "dev", "secrets", "--out", str(f)).returncode == 0
    env = read_env(f)
    srv = server_factory("--proxy-auth-key", env["RTGW_PROXY_AUTH_KEY"], "--proxy-auth-secret",
                         env["RTGW_PROXY_AUTH_SECRET"], secret=env["RTGW_JWT_HS256_SECRET"])
    script = str(REPO_ROOT / "scripts" / "submit-smoke.sh")
    tenant = uid("smoke")
    p = subprocess.run([script, "--secrets", str(f), "--base-url", srv.base_url, "--tenant",
                        tenant, "--rtgw", rtgw_bin, "--conformance"], capture_output=True,
                       env=clean_env(),
                       timeout=60)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    assert "SMOKE PASS" in out and "FAIL" not in out.replace("SMOKE PASS", "")
    assert "ok    conformance CONFORMANCE PASS" in out
    # a secrets file the server was not started with: the smoke fails, naming the 401
    other = tmp_path / "other.env"
    assert run_cli(rtgw_bin, "dev", "secrets", "--out", str(other)).returncode == 0
    p = subprocess.run([script, "--secrets", str(other), "--base-url", srv.base_url, "--rtgw",
                        rtgw_bin], capture_output=True, env=clean_env(), timeout=60)
    assert p.returncode == 1
    assert "-> 401" in p.stdout.decode() and "SMOKE FAIL" in p.stdout.decode()
