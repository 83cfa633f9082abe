"""Validator executions are polled through their launcher every poll interval while open
(docs/contracts/validator-callback.md "Polling"): a validator that crashes without calling back
is FAILED within two intervals, long before its callback deadline, while a healthy slow one is
left alone until it calls back. Real `rtgw serve` processes, real children of the local launcher
(process/), and the cloud-run launcher against tests/blackbox/fake_google.py (Cloud Run's
executions.get); both backends."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Api
from fake_google import FakeGoogle

SAMPLE = REPO_ROOT / "src" / "validators" / "sample" / "sample_validator.py"
INTERVAL_S = 0.5
DEADLINE_S = 60  # callback deadline: far beyond every wait below


@pytest.fixture
def start(server_factory, tmp_path):
    """Starts an all-role server whose validators mark the moment they crash in `marks`."""
    marks = tmp_path / "marks"
    marks.mkdir()

    def crasher(name: str, delay_s: float) -> dict:
        return {"name": name, "version": "1", "command": crash_command(marks, delay_s),
                "timeout_seconds": DEADLINE_S}

    vfile = tmp_path / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        crasher("crasher", 1.0),
        # Healthy but slow: works for 3.5 s (7 intervals), then calls back.
        {"name": "slow", "version": "1", "timeout_seconds": DEADLINE_S,
         "command": ["/bin/sh", "-c", f'sleep 3.5; exec /usr/bin/python3 "{SAMPLE}"']},
    ]}))

    def go(**extra_env: str):
        srv = server_factory(env={"RTGW_VALIDATORS_FILE": str(vfile),
                                  "MEDIA_ROOT": str(tmp_path / "media"),
                                  "RTGW_VALIDATOR_POLL_INTERVAL_MS": str(int(INTERVAL_S * 1000)),
                                  **extra_env})
        return Api(srv)
    return go, marks


def crash_command(marks: Path, delay_s: float) -> list[str]:
    # The env is only the launcher's small one: the mark file is in the command.
    return ["/bin/sh", "-c", f'sleep {delay_s}; /bin/date +%s.%N > "{marks}/$RUN_ID"; exit 3']


def launch(api: Api, validator: str, document=None) -> dict:
    r = api.post_json("/api/runtime/validations:launch",
                      {"validator": validator, "workspace_id": "ws-1",
                       "input": {"document": document if document is not None else {}}})
    assert r.status_code == 202, r.text
    return r.json()


def run_of(api: Api, run_id: str) -> dict:
    r = api.get(f"/api/runtime/validations/{run_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_terminal(api: Api, run_id: str, limit_s: float) -> tuple[dict, float]:
    """The terminal run and the wall-clock time it was first seen so (GET every 20 ms)."""
    end = time.time() + limit_s
    while time.time() < end:
        run = run_of(api, run_id)
        if run["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return run, time.time()
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} not terminal within {limit_s}s: {run_of(api, run_id)}")


def crashed_at(marks: Path, run_id: str) -> float:
    return float((marks / run_id).read_text())


def test_crashed_validator_is_failed_within_two_poll_intervals(start):
    go, marks = start
    api = go()
    run = launch(api, "crasher")
    assert run["status"] == "RUNNING", run
    done, seen_at = wait_terminal(api, run["run_id"], limit_s=10)
    elapsed = seen_at - crashed_at(marks, run["run_id"])
    assert done["status"] == "FAILED", done
    assert elapsed < 2 * INTERVAL_S, f"FAILED {elapsed:.3f}s after the crash"
    # Told apart from the deadline path, with the launcher's reason.
    assert done["error"] == "ended without a callback; execution FAILED (exit code 3)", done
    # The job event follows as on the deadline path.
    job = api.job_ok(done["job_id"])
    end = time.time() + 5
    while job["state"] != "failed" and time.time() < end:
        time.sleep(0.05)
        job = api.job_ok(done["job_id"])
    assert job["state"] == "failed", job
    assert job["error"] == {"code": "callback_missing", "message": done["error"]}, job


def test_healthy_slow_validator_is_not_failed_early(start):
    go, _ = start
    api = go()
    run = launch(api, "slow", {"data": {"name": "x"},
                               "rules": [{"path": "name", "required": True, "type": "string"}]})
    # Seven poll intervals of a live child: every poll says RUNNING and nothing changes.
    started = time.time()
    while time.time() - started < 3.0:
        now = run_of(api, run["run_id"])
        assert now["status"] == "RUNNING" and now["error"] is None, now
        time.sleep(0.1)
    done, _ = wait_terminal(api, run["run_id"], limit_s=20)
    assert done["status"] == "SUCCEEDED", done
    assert done["error"] is None and done["findings"] == [], done


def test_one_pass_polls_at_most_the_configured_number_of_executions(start):
    go, marks = start
    api = go(RTGW_VALIDATOR_POLL_MAX_EXECUTIONS="1")
    runs = [launch(api, "crasher") for _ in range(3)]
    seen = {}
    end = time.time() + 15
    while len(seen) < 3 and time.time() < end:
        for r in runs:
            if r["run_id"] not in seen and run_of(api, r["run_id"])["status"] == "FAILED":
                seen[r["run_id"]] = time.time()
        time.sleep(0.02)
    assert len(seen) == 3, seen
    last_crash = max(crashed_at(marks, r["run_id"]) for r in runs)
    # One execution per pass: three passes, an interval apart, not one...
    assert max(seen.values()) - min(seen.values()) > 1.5 * INTERVAL_S, seen
    # ...and every crash still ends within a pass per execution (plus one interval).
    assert max(seen.values()) - last_crash < 4 * INTERVAL_S, seen


def test_a_bad_per_pass_limit_refuses_to_start(start):
    go, _ = start
    with pytest.raises(RuntimeError) as refused:
        go(RTGW_VALIDATOR_POLL_MAX_EXECUTIONS="0")
    assert "RTGW_VALIDATOR_POLL_MAX_EXECUTIONS" in str(refused.value)


def test_cloud_run_execution_failed_is_failed_within_two_poll_intervals(server_factory, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    google = FakeGoogle({"crasher": crash_command(marks, 1.0)})
    try:
        vfile = tmp_path / "validators.json"
        vfile.write_text(json.dumps({"validators": [
            {"name": "crasher", "version": "1", "launcher": "cloud-run",
             "job": google.job_name("crasher"), "timeout_seconds": DEADLINE_S}]}))
        api = Api(server_factory(env={
            "RTGW_VALIDATORS_FILE": str(vfile), "MEDIA_ROOT": str(tmp_path / "media"),
            "RTGW_VALIDATOR_POLL_INTERVAL_MS": str(int(INTERVAL_S * 1000)),
            "RTGW_CLOUD_RUN_ENDPOINT": google.url, "RTGW_GCS_ENDPOINT": google.url,
            "RTGW_GCP_METADATA_URL": google.url, "RTGW_VALIDATOR_JWKS": google.jwks_url,
            "RTGW_VALIDATOR_SERVICE_ACCOUNT": google.service_account}))
        run = launch(api, "crasher")
        done, seen_at = wait_terminal(api, run["run_id"], limit_s=10)
        elapsed = seen_at - crashed_at(marks, run["run_id"])
        assert done["status"] == "FAILED", done
        assert elapsed < 2 * INTERVAL_S, f"FAILED {elapsed:.3f}s after the crash"
        assert done["error"].startswith("ended without a callback; execution FAILED ("), done
        # While it ran it was polled through executions.get, and never cancelled.
        assert ("GET", "/v2/" + run["execution_name"]) in google.calls
        assert ("POST", "/v2/" + run["execution_name"] + ":cancel") not in google.calls
        assert google.errors == []
    finally:
        google.close()
