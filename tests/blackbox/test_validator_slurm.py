"""The `slurm` validator launcher, end to end on real Slurm: product API -> gateway (`rtgw
serve`, launcher slurm) -> runtime job for the configured management node and queue ->
`rtgw agent` leases it, renders the batch script (the validator program is the agent's own,
looked up by name@version; `env -i` with only the small env, shell-quoted; the callback ID token
in a 0600 file the agent minted with its key) -> sbatch -> the sample validator fetches its
envelope and calls back to the gateway, which verifies the token against the agents' JWKS.
The agent's lifecycle events are the runtime job's history. docs/agent.md "Validator jobs",
docs/contracts/validator-callback.md.

Run: RTGW_BIN=build/release/src/app/rtgw /usr/bin/python3 -m pytest \
       tests/blackbox/test_validator_slurm.py -q
Real Slurm jobs run by this file: 1 + 1 = 2 (the unconfigured-program case never reaches Slurm).
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from conftest import REPO_ROOT, SECRET, run_cli
from test_agent_e2e import Cluster, needs_slurm, slurm_jobs_with_tag


SAMPLE = REPO_ROOT / "src" / "validators" / "sample" / "sample_validator.py"
RULES = [{"path": "name", "required": True, "type": "string"},
         {"path": "age", "type": "integer", "min": 0}]
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


class ValidatorCluster:
    """Gateway + agent (tests/blackbox/test_agent_e2e.py's Cluster) with validators on Slurm."""

    def __init__(self, rtgw_bin: str, workdir: Path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key = key
        key_file = workdir / "agent-validator.pem"
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": "rtgw-agent", "alg": "RS256", "use": "sig"})
        jwks_file = workdir / "agents.jwks.json"
        jwks_file.write_text(json.dumps({"keys": [jwk]}))
        vfile = workdir / "validators.json"
        self.media = workdir / "media"
        self.c = Cluster(rtgw_bin, rtgw_bin, workdir, agent_args=[
            "--validators-file", str(vfile), "--validator-key", str(key_file)])
        node = self.c.node
        # One file for both sides: the gateway reads launcher/node/queue/timeout, the agent
        # reads the programs (command) of the entries it runs.
        vfile.write_text(json.dumps({"validators": [
            {"name": "json-rules", "version": "1.0.0", "launcher": "slurm", "node": node,
             "queue": "debug", "command": ["/usr/bin/python3", str(SAMPLE)],
             "timeout_seconds": 60},
            {"name": "crasher", "version": "0.1", "launcher": "slurm", "node": node,
             "command": ["/bin/sh", "-c", "echo crashing; exit 3"], "timeout_seconds": 12},
            # Configured at the gateway, but this node has no program for 9.9.
            {"name": "unknown-here", "version": "9.9", "launcher": "slurm", "node": node,
             "timeout_seconds": 3},
        ]}))
        self.c.gateway.env.update({
            "RTGW_VALIDATORS_FILE": str(vfile), "MEDIA_ROOT": str(self.media),
            "RTGW_VALIDATOR_POLL_INTERVAL_MS": "200",
            "RTGW_SLURM_VALIDATOR_JWKS": str(jwks_file)})
        # The agent's file has an entry the gateway would refuse without a node: fine, the
        # gateway only reads its own copy above.
        self.c.start()

    def launch(self, validator: str, document) -> dict:
        r = self.c.client.post("/api/runtime/validations:launch", headers=self.c.headers(),
                               content=json.dumps({"validator": validator, "workspace_id": "ws-1",
                                                   "input": {"document": document}}))
        assert r.status_code == 202, r.text
        return r.json()

    def run(self, run_id: str) -> dict:
        r = self.c.client.get(f"/api/runtime/validations/{run_id}", headers=self.c.headers())
        assert r.status_code == 200, r.text
        return r.json()

    def wait_terminal(self, run_id: str, timeout: float = 90.0) -> dict:
        deadline = time.monotonic() + timeout
        run = {}
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in TERMINAL:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} not terminal: {run}\nagent log:\n"
                             f"{self.c.agent.log_text()[-4000:]}\ngateway log:\n"
                             f"{self.c.gateway.log_text()[-3000:]}")

    def close(self) -> None:
        self.c.close()


@pytest.fixture
def vcluster(rtgw_bin, tmp_path):
    made = []

    def make() -> ValidatorCluster:
        v = ValidatorCluster(rtgw_bin, tmp_path)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()


@needs_slurm
def test_validator_runs_under_slurm_and_calls_back(vcluster):
    v = vcluster()
    run = v.launch("json-rules", {"data": {"name": 7, "age": -1, "note": "zz-doc-marker"},
                                  "rules": RULES})
    assert run["launcher"] == "slurm" and run["status"] == "RUNNING"
    assert run["execution_name"] == f"slurm/{v.c.tenant}/{run['job_id']}"
    done = v.wait_terminal(run["run_id"])
    assert done["status"] == "SUCCEEDED", done
    assert {f["path"] for f in done["findings"]} == {"name", "age"}
    result = json.loads(Path(done["result_uri"][len("file://"):]).read_text())
    assert result["passed"] is False and result["version"] == "1.0.0"

    # The runtime job is the agent's: its events, its Slurm job, on the configured queue.
    d = v.c.wait_state(done["job_id"], {"completed", "failed", "cancelled"})
    assert d["state"] == "completed", d
    sid = d["submission_id"]
    assert [e["state"] for e in d["events"]] == ["queued", "running", "completed"]
    assert all(e["event_id"] == f"{sid}:{e['state']}" for e in d["events"])
    slurm_id = d["events"][0]["execution_id"]
    jobs = slurm_jobs_with_tag(f"rtgw-{sid}")
    assert len(jobs) == 1 and jobs[0]["JobId"] == slurm_id and jobs[0]["Partition"] == "debug"

    # The batch script: env -i with the small env, single-quoted; no envelope inlined.
    script = subprocess.run(["scontrol", "write", "batch_script", slurm_id, "-"],
                            capture_output=True, text=True, timeout=30).stdout
    assert "/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin" in script, script
    for name, value in (("INPUT_URI", run["input_uri"]), ("RUN_ID", run["run_id"]),
                        ("VALIDATOR_VERSION", "1.0.0")):
        assert f" {name}='{value}'" in script, script
    assert " CALLBACK_ID='cb-" in script and " CALLBACK_URL='http://127.0.0.1:" in script
    assert "CALLBACK_ID_TOKEN_FILE='" in script
    assert "zz-doc-marker" not in script  # the document stays in the envelope
    token_file = script.split("CALLBACK_ID_TOKEN_FILE='", 1)[1].split("'", 1)[0]
    assert token_file.startswith(str(v.c.workdir / "work" / "validator-tokens") + "/")
    assert not Path(token_file).exists()  # removed when the validator ended


@needs_slurm
def test_validator_crash_under_slurm_is_failed_by_the_poll(vcluster):
    v = vcluster()
    run = v.launch("crasher", {})
    d = v.c.wait_state(run["job_id"], {"completed", "failed", "cancelled"})
    assert d["state"] == "failed" and d["error"]["exit_code"] == 3, d
    done = v.wait_terminal(run["run_id"], timeout=60)
    assert done["status"] == "FAILED", done
    assert done["error"].startswith("ended without a callback; execution FAILED"), done
    assert "exit_code" in done["error"], done
    # Exactly the agent's history: the service added nothing of its own.
    assert [e["state"] for e in v.c.detail(run["job_id"])["events"]] == \
        ["queued", "running", "failed"]


@needs_slurm
def test_validator_the_node_does_not_have_is_refused_before_slurm(vcluster):
    v = vcluster()
    run = v.launch("unknown-here", {})
    d = v.c.wait_state(run["job_id"], {"completed", "failed", "cancelled"}, timeout=30)
    assert d["state"] == "failed" and d["error"]["code"] == "unsupported_payload", d
    assert d["events"][-1]["execution_id"] == "none"
    done = v.wait_terminal(run["run_id"], timeout=30)
    assert done["status"] == "FAILED" and "unsupported_payload" in done["error"], done


@needs_slurm
def test_forged_agent_token_is_rejected(vcluster):
    """A token of another key with the agents' issuer and kid is refused."""
    v = vcluster()
    run = v.launch("unknown-here", {})
    env = json.loads(Path(run["input_uri"][len("file://"):]).read_text())
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    url = f"{v.c.base_url}/internal/validations/callback"
    claims = {"iss": "urn:rtgw:agent", "aud": url, "email": "validator@rtgw.agent",
              "sub": "x", "iat": now, "exp": now + 300}
    body = json.dumps({"run_id": run["run_id"], "callback_id": env["callback_id"],
                       "status": "SUCCEEDED", "result_uri": "file:///x"})
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "rtgw-agent"})
    r = v.c.client.post("/internal/validations/callback", content=body,
                        headers={"authorization": "Bearer " + forged,
                                 "content-type": "application/json"})
    assert r.status_code == 401, r.text
    good = jwt.encode(claims, v.key, algorithm="RS256", headers={"kid": "rtgw-agent"})
    r = v.c.client.post("/internal/validations/callback", content=body,
                        headers={"authorization": "Bearer " + good,
                                 "content-type": "application/json"})
    assert r.status_code in (200, 409), r.text  # 409 if the poll already failed it


def test_bad_slurm_validator_config_refuses_start_naming_the_key(rtgw_bin, tmp_path):
    vfile = tmp_path / "validators.json"
    base = ["serve", "--listen", "127.0.0.1:0", "--database-url",
            "sqlite://" + str(tmp_path / "gw.db"), "--jwt-hs256-secret", SECRET]
    vfile.write_text(json.dumps({"validators": [
        {"name": "v", "version": "1", "launcher": "slurm", "node": "n1"}]}))
    env = {"RTGW_VALIDATORS_FILE": str(vfile), "MEDIA_ROOT": str(tmp_path / "m")}
    r = run_cli(rtgw_bin, *base, env=env)
    assert r.returncode != 0 and b"RTGW_SLURM_VALIDATOR_JWKS" in r.stderr, r.stderr
    (tmp_path / "bad.jwks").write_text('{"keys": []}')
    r = run_cli(rtgw_bin, *base, env=dict(env, RTGW_SLURM_VALIDATOR_JWKS=str(tmp_path / "bad.jwks")))
    assert r.returncode != 0 and b"RTGW_SLURM_VALIDATOR_JWKS" in r.stderr, r.stderr
    vfile.write_text(json.dumps({"validators": [
        {"name": "v", "version": "1", "launcher": "slurm", "node": "bad node"}]}))
    r = run_cli(rtgw_bin, *base, env=env)
    assert r.returncode != 0 and b"validators[0].node" in r.stderr, r.stderr


def test_agent_refuses_a_validators_file_without_a_key(rtgw_bin, tmp_path):
    vfile = tmp_path / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        {"name": "v", "version": "1", "command": ["/bin/true"]}]}))
    token = tmp_path / "t"
    token.write_text("x")
    args = ["agent", "--gateway-url", "http://127.0.0.1:9", "--node-id", "n1", "--token-file",
            str(token), "--executor", "local", "--journal", str(tmp_path / "j.db"),
            "--work-dir", str(tmp_path / "w"), "--validators-file", str(vfile)]
    r = run_cli(rtgw_bin, *args)
    assert r.returncode == 2 and b"--validator-key" in r.stderr, r.stderr
    (tmp_path / "k.pem").write_text("not a key")
    r = run_cli(rtgw_bin, *args, "--validator-key", str(tmp_path / "k.pem"))
    assert r.returncode == 2 and b"--validator-key" in r.stderr, r.stderr
    vfile.write_text(json.dumps({"validators": [
        {"name": "v", "version": "1", "command": ["true"]}]}))
    r = run_cli(rtgw_bin, *args, "--validator-key", str(tmp_path / "k.pem"))
    assert r.returncode == 2 and b"command[0]" in r.stderr, r.stderr
