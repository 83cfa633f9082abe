"""End to end: product API -> gateway (`rtgw serve`) -> `rtgw agent` -> real Slurm -> events back.

Everything is real: the gateway process with its SQLite file (two tests: a PostgreSQL schema), the agent process with its journal,
and the slurmctld/slurmd that scripts/services/slurm-up.sh starts (scripts/test.sh does). The
Slurm tests skip, naming the reason, when `scontrol ping` does not answer.

Needs the gateway's node endpoints (heartbeat, leases, cancel; docs/contracts/agent-protocol.md)
and the Slurm adapter boundary (docs/contracts/slurm-adapter-boundary.md).

Run:
  RTGW_BIN=build/release/src/app/rtgw /usr/bin/python3 -m pytest tests/blackbox/test_agent_e2e.py -q
  (RTGW_AGENT_BIN=... runs the agent from another binary; default: RTGW_BIN.)

Real Slurm jobs run by this file: 8 + 3 + 2 + 1 + 1 + 1 + 3 + 3 + 1 = 23 on SQLite, plus 3 with the
gateway on PostgreSQL (the local-executor tests add child processes, not Slurm jobs).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import (BACKENDS, SECRET, clean_env, free_port, make_token, new_pg_schema, pg_url,
                      psql, run_cli, uid)

POLICY = {
    "contract_version": "slurm-adapter-boundary/v1",
    "queues": {
        "default": {"partition": "debug", "account": None, "qos": None, "max_walltime_minutes": 60},
        "long": {"partition": "long", "max_walltime_minutes": 1440},
        # The mapping allows 10 h, but partition debug's MaxTime is 60 min: only the agent's
        # pre-check (stub-policy) or real-policy's catalogue check can stop such a job.
        "wide": {"partition": "debug", "max_walltime_minutes": 600},
        "secret": {"partition": "debug", "max_walltime_minutes": 60},
    },
    "fallback_queue": "default",
    "tenants": {"*": {"deny": ["secret"]}},
}

JOB_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------------------------
def slurm_up() -> bool:
    try:
        r = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "UP" in r.stdout


needs_slurm = pytest.mark.skipif(not slurm_up(),
                                 reason="Slurm is not running (scripts/services/slurm-up.sh)")


def slurm_jobs_with_tag(tag: str) -> list[dict]:
    """Every job slurmctld still holds whose comment is `tag` (one `scontrol show job -o`)."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True,
                         timeout=30).stdout
    jobs = []
    for line in out.splitlines():
        if not line.startswith("JobId="):
            continue
        fields = {}
        for tok in line.split(" "):
            if "=" in tok:
                k, _, v = tok.partition("=")
                fields[k] = v
        if fields.get("Comment") == tag:
            jobs.append(fields)
    return jobs


def jobcomp_lines_with_name(name: str) -> list[str]:
    path = Path("/var/log/slurm/jobcomp.log")
    if not path.exists():
        return []
    return [l for l in path.read_text(errors="replace").splitlines() if f" Name={name} " in l]


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------
class Proc:
    """A long-running rtgw process with stderr captured to a file (JSON log lines)."""

    def __init__(self, name: str, cmd: list[str], env: dict, workdir: Path):
        self.name, self.cmd, self.env, self.workdir = name, cmd, env, workdir
        self.proc: subprocess.Popen | None = None
        self.generation = 0

    def start(self) -> "Proc":
        self.generation += 1
        log = open(self.workdir / f"{self.name}.{self.generation}.log", "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=self.env, cwd=str(self.workdir), start_new_session=True)
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def logs(self) -> list[dict]:
        out = []
        for path in sorted(self.workdir.glob(f"{self.name}.*.log")):
            for line in path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-6000:]
                         for p in sorted(self.workdir.glob(f"{self.name}.*.log")))


class Cluster:
    """Gateway + agent + product client for one tenant and one management node."""

    def __init__(self, rtgw_bin: str, agent_bin: str, workdir: Path, *, mode: str = "stub-policy",
                 executor: str = "slurm", agent_args: list[str] | None = None,
                 database_url: str | None = None):
        self.workdir = workdir
        self.tenant = uid("tenant")
        self.node = uid("node")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        policy = workdir / "policy.json"
        policy.write_text(json.dumps(POLICY))
        gw_env = clean_env({"ZPE_SLURM_ADAPTER": mode, "RTGW_QUEUE_POLICY_FILE": str(policy)})
        self.gateway = Proc("gateway", [rtgw_bin, "serve", "--listen", f"127.0.0.1:{self.port}",
                                        "--database-url",
                                        database_url or "sqlite://" + str(workdir / "gw.db"),
                                        "--jwt-hs256-secret", SECRET], gw_env, workdir)
        token_file = workdir / "node.token"
        token_file.write_text(make_token(self.tenant, sub="agent-" + self.node, node_id=self.node,
                                         exp_in=3600) + "\n")
        self.agent_cmd = [
            agent_bin, "agent", "--gateway-url", self.base_url, "--node-id", self.node,
            "--token-file", str(token_file), "--executor", executor,
            "--journal", str(workdir / "agent.db"), "--work-dir", str(workdir / "work"),
            "--poll-interval-ms", "500", "--heartbeat-interval-ms", "1000",
            "--lease-wait-seconds", "2", "--lease-seconds", "30",
            "--backoff-initial-ms", "100", "--backoff-max-ms", "1000",
            "--shutdown-timeout-ms", "3000", *(agent_args or [])]
        self.agent = Proc("agent", self.agent_cmd, clean_env(), workdir)
        self.client = httpx.Client(base_url=self.base_url, timeout=15)
        self.token = make_token(self.tenant, exp_in=3600)

    # -- lifecycle -----------------------------------------------------------------------------
    def start_gateway(self) -> None:
        self.gateway.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not self.gateway.running:
                raise RuntimeError("gateway exited:\n" + self.gateway.log_text())
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/api/health").status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError("gateway did not answer /api/health:\n" + self.gateway.log_text())

    def start(self) -> "Cluster":
        self.start_gateway()
        probe = self.client.post(f"/api/runtime/nodes/{self.node}/heartbeat", content="{}")
        if probe.status_code == 404 and "no route" in probe.text:
            pytest.fail("this gateway has no node endpoints (docs/contracts/agent-protocol.md): "
                        "the gateway side of issue 3 is not in this build", pytrace=False)
        self.agent.start()
        return self

    def close(self) -> None:
        for p in (self.agent, self.gateway):
            with contextlib.suppress(Exception):
                if p.running:
                    p.stop(timeout=15)
            with contextlib.suppress(Exception):
                p.kill9()
        self.client.close()

    # -- product API -----------------------------------------------------------------------------
    def headers(self) -> dict:
        return {"authorization": "Bearer " + self.token, "x-tenant-id": self.tenant,
                "content-type": "application/json"}

    def submit(self, *, queue: str = "default", uri: str = "inline://e2e?sleep=1",
               walltime: int = 600, cpu: int = 1, memory: int = 64) -> httpx.Response:
        job_id = uid("job")
        body = {"tenant_id": self.tenant, "workspace_id": self.tenant, "job_id": job_id,
                "idempotency_key": "k-" + job_id, "management_node_id": self.node,
                "execution_profile": {"queue_name": queue},
                "resource_shape": {"cpu": cpu, "memory_mib": memory, "walltime_seconds": walltime},
                "payload_ref": {"input_uri": uri}, "requested_by": {"user_id": "blackbox-user"}}
        r = self.client.post("/api/runtime/jobs:submit", content=json.dumps(body),
                             headers=self.headers())
        r.job_id = job_id  # type: ignore[attr-defined]
        return r

    def submit_ok(self, **kw) -> tuple[str, str]:
        r = self.submit(**kw)
        assert r.status_code == 202, f"submit: {r.status_code} {r.text}"
        return r.job_id, r.json()["submission_id"]  # type: ignore[attr-defined]

    def detail(self, job_id: str) -> dict:
        r = self.client.get(f"/api/runtime/jobs/{job_id}/detail", headers=self.headers())
        assert r.status_code == 200, f"detail: {r.status_code} {r.text}"
        return r.json()

    def cancel(self, job_id: str) -> httpx.Response:
        return self.client.post(f"/api/runtime/jobs/{job_id}:cancel", content="{}",
                                headers=self.headers())

    def wait_state(self, job_id: str, states: set[str], timeout: float = JOB_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        d = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                d = self.detail(job_id)
                if d["state"] in states:
                    return d
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not in {states} after {timeout}s: {d}\n"
                             f"agent log:\n{self.agent.log_text()[-4000:]}")


def history(detail: dict) -> list[str]:
    return [e["state"] for e in detail["events"] if e.get("applied", True)]


def assert_complete_history(detail: dict, final: str, ran: bool = True) -> None:
    """Exactly one applied event per state, in order, all with the agent's deterministic ids."""
    applied = [e for e in detail["events"] if e.get("applied", True)]
    expected = ["queued", "running", final] if ran else ["queued", final]
    assert [e["state"] for e in applied] == expected, detail["events"]
    sid = detail["submission_id"]
    for e in applied:
        assert e["event_id"] == f"{sid}:{e['state']}", e


@pytest.fixture
def agent_bin(rtgw_bin) -> str:
    return os.environ.get("RTGW_AGENT_BIN") or rtgw_bin


@pytest.fixture
def cluster_factory(rtgw_bin, agent_bin, tmp_path):
    made: list[Cluster] = []

    def make(**kw) -> Cluster:
        d = tmp_path / f"c{len(made)}"
        d.mkdir()
        c = Cluster(rtgw_bin, agent_bin, d, **kw)
        made.append(c)
        return c.start()

    yield make
    for c in made:
        c.close()


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------
@needs_slurm
@pytest.mark.slow
def test_successful_jobs_complete_with_full_history(cluster_factory):
    c = cluster_factory()
    jobs = [c.submit_ok(uri=f"inline://ok-{i}?sleep=1") for i in range(8)]
    for job_id, sid in jobs:
        d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
        assert d["state"] == "completed", d
        assert_complete_history(d, "completed")
        execution_id = d["events"][0]["execution_id"]
        assert execution_id.isdigit(), execution_id
        slurm = slurm_jobs_with_tag(f"rtgw-{sid}")
        assert len(slurm) == 1, slurm
        assert slurm[0]["JobId"] == execution_id
        assert slurm[0]["JobState"] == "COMPLETED"
        assert slurm[0]["Partition"] == "debug"
        assert d["result_ref"]["output_uri"].endswith(f"rtgw-{sid}.out")
        out = Path(d["result_ref"]["output_uri"][len("file://"):]).read_text()
        assert f"rtgw demo payload: inline://ok-" in out


@needs_slurm
def test_nonzero_exit_is_failed_with_exit_code(cluster_factory):
    c = cluster_factory()
    jobs = {code: c.submit_ok(uri=f"inline://bad?sleep=0&exit={code}") for code in (1, 3, 42)}
    for code, (job_id, sid) in jobs.items():
        d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
        assert d["state"] == "failed", d
        assert d["error"]["code"] == "exit_code"
        assert d["error"]["exit_code"] == code
        assert_complete_history(d, "failed")
        assert slurm_jobs_with_tag(f"rtgw-{sid}")[0]["ExitCode"] == f"{code}:0"


@needs_slurm
def test_cancel_while_running(cluster_factory):
    c = cluster_factory()
    jobs = [c.submit_ok(uri="inline://long?sleep=300", queue="long") for _ in range(2)]
    for job_id, _ in jobs:
        c.wait_state(job_id, {"running"})
    for job_id, _ in jobs:
        r = c.cancel(job_id)
        assert r.status_code == 202, r.text
        assert c.cancel(job_id).status_code == 202  # idempotent
    for job_id, sid in jobs:
        d = c.wait_state(job_id, {"cancelled", "completed", "failed"})
        assert d["state"] == "cancelled", d
        assert_complete_history(d, "cancelled")
        slurm = slurm_jobs_with_tag(f"rtgw-{sid}")
        assert [j["JobState"] for j in slurm] == ["CANCELLED"]


@needs_slurm
def test_walltime_over_the_mapping_limit_is_refused_at_submit(cluster_factory):
    c = cluster_factory()
    r = c.submit(queue="default", walltime=2 * 3600)  # default queue: max 60 min
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "walltime_exceeded"


@needs_slurm
def test_walltime_over_the_partition_limit_is_refused_before_sbatch(cluster_factory):
    # stub-policy cannot see partition limits; the agent's pre-check (catalogue MaxTime) must
    # refuse before anything reaches sbatch.
    c = cluster_factory()
    job_id, sid = c.submit_ok(queue="wide", walltime=2 * 3600)
    d = c.wait_state(job_id, {"failed", "completed", "cancelled"})
    assert d["state"] == "failed", d
    assert d["error"]["code"] == "walltime_exceeds_limit", d["error"]
    assert [e["state"] for e in d["events"]] == ["failed"]
    assert d["events"][0]["execution_id"] == "none"
    assert slurm_jobs_with_tag(f"rtgw-{sid}") == []
    assert jobcomp_lines_with_name(f"rtgw-{sid}") == []


@needs_slurm
def test_denied_queue_is_refused_and_never_leased(cluster_factory):
    c = cluster_factory()
    r = c.submit(queue="secret")
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "queue_denied"
    assert "secret" in r.json()["error"]["message"]
    time.sleep(1.5)
    assert not [l for l in c.agent.logs() if l.get("msg") == "lease acquired"]


@needs_slurm
def test_fallback_queue_runs_on_the_fallback_mapping(cluster_factory):
    c = cluster_factory()
    job_id, sid = c.submit_ok(queue="no-such-queue", uri="inline://fb?sleep=0")
    d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "completed", d
    boundary = d["slurm_adapter"]
    assert boundary["used_fallback"] is True
    assert boundary["requested_queue"] == "no-such-queue"
    assert boundary["resolved_queue"] == "default"
    assert slurm_jobs_with_tag(f"rtgw-{sid}")[0]["Partition"] == "debug"


@needs_slurm
@pytest.mark.slow
def test_kill9_between_sbatch_and_journal_then_restart(cluster_factory):
    """The agent dies right after sbatch (before it journals the Slurm id or posts `queued`):
    the restarted agent finds the job by its tag, submits nothing twice, completes the events."""
    c = cluster_factory(agent_args=["--test-crash-point", "after-sbatch"])
    job_id, sid = c.submit_ok(uri="inline://crash?sleep=2")
    c.agent.proc.wait(timeout=JOB_TIMEOUT_S)
    assert c.agent.proc.returncode == -signal.SIGKILL, c.agent.log_text()
    assert c.detail(job_id)["state"] == "submitted"  # nothing was posted
    assert len(slurm_jobs_with_tag(f"rtgw-{sid}")) == 1
    c.agent.cmd = [a for a in c.agent_cmd if a not in ("--test-crash-point", "after-sbatch")]
    c.agent.start()
    d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "completed", d
    assert_complete_history(d, "completed")
    assert len(slurm_jobs_with_tag(f"rtgw-{sid}")) == 1, "a second Slurm job was submitted"
    assert any(l.get("msg", "").startswith("found the earlier submission") for l in c.agent.logs())


@needs_slurm
@pytest.mark.slow
def test_kill9_with_jobs_in_flight_then_restart(cluster_factory):
    c = cluster_factory()
    jobs = [c.submit_ok(uri="inline://k?sleep=4") for _ in range(3)]
    for job_id, _ in jobs:
        c.wait_state(job_id, {"queued", "running"})
    c.agent.kill9()
    time.sleep(1)
    c.agent.start()
    for job_id, sid in jobs:
        d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
        assert d["state"] == "completed", d
        assert_complete_history(d, "completed")
        assert len(slurm_jobs_with_tag(f"rtgw-{sid}")) == 1


@needs_slurm
@pytest.mark.slow
def test_gateway_down_for_a_while_events_arrive_after_it_returns(cluster_factory):
    c = cluster_factory()
    jobs = [c.submit_ok(uri="inline://gw?sleep=3") for _ in range(3)]
    for job_id, _ in jobs:
        c.wait_state(job_id, {"queued", "running"})
    assert c.gateway.stop() == 0
    # Jobs finish in Slurm while the gateway is away; the agent keeps their events.
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        states = [j["JobState"] for _, sid in jobs for j in slurm_jobs_with_tag(f"rtgw-{sid}")]
        if states and all(s == "COMPLETED" for s in states):
            break
        time.sleep(0.5)
    time.sleep(2)  # a few failed deliveries, backoff
    assert any(l.get("msg") == "event not delivered; will retry" for l in c.agent.logs())
    c.start_gateway()
    for job_id, _ in jobs:
        d = c.wait_state(job_id, {"completed", "failed", "cancelled"}, timeout=30)
        assert d["state"] == "completed", d
        assert_complete_history(d, "completed")


@needs_slurm
def test_heartbeat_catalogue_shows_in_deep_health(cluster_factory):
    c = cluster_factory()
    deadline = time.monotonic() + 20
    node = None
    while time.monotonic() < deadline and node is None:
        r = c.client.get("/api/health?deep=1", headers={"authorization": "Bearer " + c.token})
        nodes = r.json().get("checks", {}).get("managed_aiida_runtime", {}).get("nodes", [])
        node = next((n for n in nodes if n["node_id"] == c.node), None)
        time.sleep(0.3)
    assert node is not None, "node never appeared in /api/health?deep=1"
    assert node["stale"] is False
    assert node["executor"] == "slurm"
    assert node["slurm_version"].startswith("22.")
    names = {p["name"] if isinstance(p, dict) else p for p in node["partitions"]}
    assert {"debug", "long"} <= names


@needs_slurm
def test_real_policy_runs_a_job_and_refuses_walltime_over_max_time(cluster_factory):
    c = cluster_factory(mode="real-policy")
    # real-policy needs the catalogue from the agent's heartbeat first.
    deadline = time.monotonic() + 20
    r = c.submit(uri="inline://rp?sleep=0")
    while r.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
        r = c.submit(uri="inline://rp?sleep=0")
    assert r.status_code == 202, r.text
    d = c.wait_state(r.job_id, {"completed", "failed", "cancelled"})  # type: ignore[attr-defined]
    assert d["state"] == "completed", d
    assert d["slurm_adapter"]["adapter"] == "real-policy"
    over = c.submit(queue="wide", walltime=2 * 3600)  # mapping 600 min, partition debug 60 min
    assert over.status_code == 422, over.text


@needs_slurm
def test_sigterm_stops_the_agent_cleanly(cluster_factory):
    c = cluster_factory()
    job_id, _ = c.submit_ok(uri="inline://t?sleep=0")
    c.wait_state(job_id, {"completed"})
    t0 = time.monotonic()
    assert c.agent.stop(signal.SIGTERM, timeout=20) == 0, c.agent.log_text()
    assert time.monotonic() - t0 < 10
    msgs = [l.get("msg") for l in c.agent.logs()]
    assert "agent stopped" in msgs
    stopped = [l for l in c.agent.logs() if l.get("msg") == "agent stopped"][-1]
    assert stopped["events_undelivered"] == 0


needs_pg = pytest.mark.skipif("postgresql" not in BACKENDS,
                              reason="RTGW_TEST_BACKENDS does not include postgresql")


@pytest.fixture
def pg_schema_url(rtgw_bin):
    """A fresh, migrated PostgreSQL schema for a gateway; dropped afterwards."""
    schema = new_pg_schema("e2e")
    res = run_cli(rtgw_bin, "migrate", "--database-url", pg_url(schema))
    assert res.returncode == 0, res.stderr
    yield pg_url(schema)
    psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@needs_pg
@needs_slurm
def test_postgres_gateway_runs_and_cancels_slurm_jobs(cluster_factory, pg_schema_url):
    """The same agent flow with the gateway on PostgreSQL (leases, renewals, cancels there)."""
    c = cluster_factory(database_url=pg_schema_url)
    jobs = [c.submit_ok(uri=f"inline://pg-{i}?sleep=1") for i in range(2)]
    long_id, long_sid = c.submit_ok(uri="inline://long?sleep=300", queue="long")
    for job_id, sid in jobs:
        d = c.wait_state(job_id, {"completed", "failed", "cancelled"})
        assert d["state"] == "completed", d
        assert_complete_history(d, "completed")
        assert len(slurm_jobs_with_tag(f"rtgw-{sid}")) == 1
    c.wait_state(long_id, {"running"})
    assert c.cancel(long_id).status_code == 202
    assert c.cancel(long_id).status_code == 202  # idempotent
    d = c.wait_state(long_id, {"cancelled", "completed", "failed"})
    assert d["state"] == "cancelled", d
    assert_complete_history(d, "cancelled")
    assert [j["JobState"] for j in slurm_jobs_with_tag(f"rtgw-{long_sid}")] == ["CANCELLED"]


@needs_pg
def test_local_executor_walkthrough_on_postgres(cluster_factory, pg_schema_url):
    c = cluster_factory(mode="passthrough", executor="local", database_url=pg_schema_url)
    ok_id, _ = c.submit_ok(uri="inline://hello?sleep=0")
    bad_id, _ = c.submit_ok(uri="inline://bad?sleep=0&exit=4")
    d = c.wait_state(ok_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "completed", d
    assert_complete_history(d, "completed")
    d = c.wait_state(bad_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "failed" and d["error"]["exit_code"] == 4, d


def test_local_executor_walkthrough(cluster_factory):
    """The README walk-through: no Slurm needed."""
    c = cluster_factory(mode="passthrough", executor="local")
    ok_id, _ = c.submit_ok(uri="inline://hello?sleep=0")
    bad_id, _ = c.submit_ok(uri="inline://bad?sleep=0&exit=4")
    d = c.wait_state(ok_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "completed", d
    assert_complete_history(d, "completed")
    d = c.wait_state(bad_id, {"completed", "failed", "cancelled"})
    assert d["state"] == "failed" and d["error"]["exit_code"] == 4, d
