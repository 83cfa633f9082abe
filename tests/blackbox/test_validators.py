"""Validator runs end to end: real `rtgw serve` processes, real child processes through the
local launcher (src/validators/sample/sample_validator.py), real ID tokens (RS256 with the
launcher key shared through RTGW_LOCAL_LAUNCHER_KEY, so the test can also mint tokens).
docs/contracts/validator-callback.md."""
from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import REPO_ROOT, Api, assert_error


SAMPLE = REPO_ROOT / "src" / "validators" / "sample" / "sample_validator.py"
LOCAL_ISS = "urn:rtgw:local-launcher"
LOCAL_SA = "validator@rtgw.local"

RULES = [{"path": "name", "required": True, "type": "string"},
         {"path": "age", "type": "integer", "min": 0}]


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture
def setup(server_factory, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "launcher.pem"
    key_file.write_bytes(_pem(key))
    vfile = tmp_path / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        {"name": "json-rules", "version": "1.0.0",
         "command": ["/usr/bin/python3", str(SAMPLE)], "timeout_seconds": 30},
        {"name": "crasher", "version": "0.1", "command": ["/bin/sh", "-c", "exit 3"],
         "timeout_seconds": 2},
    ]}))
    media = tmp_path / "media"

    def start(role: str = "all", **extra_env: str):
        return server_factory(env={"APP_ROLE": role, "RTGW_VALIDATORS_FILE": str(vfile),
                                   "MEDIA_ROOT": str(media),
                                   "RTGW_LOCAL_LAUNCHER_KEY": str(key_file),
                                   "RTGW_VALIDATOR_POLL_INTERVAL_MS": "200", **extra_env})
    return start, key, media


def mint(key, aud: str, exp_in: int = 300, iss: str = LOCAL_ISS, email: str = LOCAL_SA) -> str:
    now = int(time.time())
    return jwt.encode({"iss": iss, "aud": aud, "email": email, "sub": "t", "iat": now,
                       "exp": now + exp_in}, key, algorithm="RS256",
                      headers={"kid": "local-launcher"})


def launch(api: Api, document, validator="json-rules") -> dict:
    r = api.post_json("/api/runtime/validations:launch",
                      {"validator": validator, "workspace_id": "ws-1",
                       "input": {"document": document,
                                 "files": [{"name": "notes.txt", "content": "hello"}]}})
    assert r.status_code == 202, r.text
    return r.json()


def wait_terminal(api: Api, run_id: str, limit: float = 25.0) -> dict:
    deadline = time.time() + limit
    run = None
    while time.time() < deadline:
        r = api.get(f"/api/runtime/validations/{run_id}")
        assert r.status_code == 200, r.text
        run = r.json()
        if run["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} not terminal: {run}")


def wait_job_state(api: Api, job_id: str, state: str, limit: float = 10.0) -> dict:
    deadline = time.time() + limit
    job = None
    while time.time() < deadline:
        job = api.job_ok(job_id)
        if job["state"] == state:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not {state}: {job}")


def callback_url(server) -> str:
    return f"http://127.0.0.1:{server.port}/internal/validations/callback"


def envelope(run: dict) -> dict:
    return json.loads(Path(run["input_uri"][len("file://"):]).read_text())


def test_success_with_findings_visible_as_a_job(setup):
    start, key, media = setup
    srv = start()
    api = Api(srv)
    run = launch(api, {"data": {"name": 7, "age": -1}, "rules": RULES})
    assert run["run_id"].startswith("vr-") and run["launcher"] == "local"
    assert run["input_uri"].startswith("file://" + str(media.resolve()))
    env = envelope(run)
    assert env["files"][0]["name"] == "notes.txt"
    assert Path(env["files"][0]["uri"][7:]).read_text() == "hello"
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["execution_name"].startswith("local/")
    assert {f["path"] for f in done["findings"]} == {"name", "age"}
    result = json.loads(Path(done["result_uri"][7:]).read_text())
    assert result["passed"] is False
    job = wait_job_state(api, done["job_id"], "completed")
    assert job["result_ref"]["output_uri"] == done["result_uri"]
    detail = api.detail_ok(done["job_id"])
    assert [e["state"] for e in detail["events"]] == ["running", "completed"]
    assert api.projection_ok(done["job_id"])["status"] == "finished"
    # Another tenant sees nothing.
    other = Api(srv)
    assert_error(other.get(f"/api/runtime/validations/{run['run_id']}"), 404, "not_found")


def test_failure_reported_by_the_validator(setup):
    start, _, _ = setup
    api = Api(start())
    run = launch(api, {"no": "rules"})
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "FAILED"
    assert "rules" in done["error"]
    wait_job_state(api, done["job_id"], "failed")


def test_crash_without_callback_is_finished_by_the_fallback_poll(setup):
    start, _, _ = setup
    api = Api(start())
    run = launch(api, {}, validator="crasher")
    done = wait_terminal(api, run["run_id"], limit=15)
    assert done["status"] == "FAILED"
    assert "exit code 3" in done["error"]
    job = wait_job_state(api, done["job_id"], "failed")
    assert job["error"]["code"] == "callback_missing"


def test_duplicate_delivery_applied_once_and_bad_tokens_rejected(setup):
    start, key, _ = setup
    srv = start()
    api = Api(srv)
    run = launch(api, {"data": {"name": "x"}, "rules": RULES})
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "SUCCEEDED"
    env = envelope(done)
    body = {"run_id": done["run_id"], "callback_id": env["callback_id"], "status": "FAILED",
            "result_uri": done["result_uri"], "findings": [{"path": "x"}]}
    c = srv.client()
    url = "/internal/validations/callback"
    ok = {"authorization": "Bearer " + mint(key, callback_url(srv))}
    r = c.post(url, json=body, headers=ok)
    assert r.status_code == 200, r.text
    assert r.json()["replay"] is True and r.json()["status"] == "SUCCEEDED"
    after = api.get(f"/api/runtime/validations/{done['run_id']}").json()
    assert after["status"] == "SUCCEEDED" and after["findings"] == []
    assert len(api.detail_ok(done["job_id"])["events"]) == 2
    # Forged (another key), wrong audience, expired, wrong issuer, none at all.
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (mint(forger, callback_url(srv)), mint(key, callback_url(srv) + "x"),
                  mint(key, callback_url(srv), exp_in=-300),
                  mint(key, callback_url(srv), iss="https://accounts.google.com")):
        assert_error(c.post(url, json=body, headers={"authorization": "Bearer " + token}),
                     401, "unauthenticated")
    assert_error(c.post(url, json=body), 401, "unauthenticated")
    # Unknown callback_id with a valid token.
    r = c.post(url, json=dict(body, callback_id="cb-unknown"), headers=ok)
    assert_error(r, 404, "not_found")


def test_rerun_gets_a_new_callback_id_and_old_unanswered_one_is_superseded(setup):
    start, key, _ = setup
    srv = start()
    api = Api(srv)
    run = launch(api, {}, validator="crasher")
    first = wait_terminal(api, run["run_id"], limit=15)
    old_cb = envelope(first)["callback_id"]
    r = api.post_json(f"/api/runtime/validations/{run['run_id']}:rerun", {})
    assert r.status_code == 202, r.text
    second = wait_terminal(api, run["run_id"], limit=15)
    assert second["attempt"] == 2 and second["job_id"] != first["job_id"]
    new_cb = envelope(second)["callback_id"]
    assert new_cb != old_cb
    c = srv.client()
    ok = {"authorization": "Bearer " + mint(key, callback_url(srv))}
    body = {"run_id": run["run_id"], "callback_id": old_cb, "status": "SUCCEEDED",
            "result_uri": "file:///x"}
    assert_error(c.post("/internal/validations/callback", json=body, headers=ok), 409,
                 "callback_superseded")
    # A rerun of a run that ends by callback is accepted with its own callback_id.
    r = api.post_json(f"/api/runtime/validations/{run['run_id']}:rerun", {})
    assert r.status_code == 202
    third = r.json()
    cb3 = envelope(third)["callback_id"]
    r = c.post("/internal/validations/callback", headers=ok,
               json=dict(body, callback_id=cb3))
    assert r.status_code in (200, 409), r.text  # 409 only if the poller won the race
    if r.status_code == 200:
        assert r.json().get("replay") is None
        assert wait_terminal(api, run["run_id"])["status"] == "SUCCEEDED"


def test_callback_on_web_role_is_404_and_launch_on_worker_is_404(setup):
    start, key, _ = setup
    web = start("web")
    c = web.client()
    r = c.post("/internal/validations/callback",
               json={"run_id": "vr-1", "callback_id": "cb-1", "status": "FAILED"},
               headers={"authorization": "Bearer " + mint(key, callback_url(web))})
    assert_error(r, 404, "not_found")
    worker = start("worker")
    wapi = Api(worker)
    r = wapi.post_json("/api/runtime/validations:launch",
                       {"validator": "json-rules", "workspace_id": "w", "input": {"document": 1}})
    assert_error(r, 404, "not_found")
    assert worker.client().get("/api/health").status_code == 200


def test_bad_launch_input_changes_nothing(setup):
    start, _, media = setup
    api = Api(start())
    assert_error(api.post_json("/api/runtime/validations:launch",
                               {"validator": "nope", "workspace_id": "w",
                                "input": {"document": 1}}), 404, "not_found")
    assert_error(api.post_json("/api/runtime/validations:launch",
                               {"validator": "json-rules", "workspace_id": "w",
                                "input": {"document": 1,
                                          "files": [{"name": "../../etc", "content": ""}]}}),
                 400, "invalid_argument")
    assert not any(media.rglob("input.json"))


def test_launches_beyond_the_validation_queue_bound_get_503_overloaded_and_start_nothing(setup):
    """--validation-queue-max bounds the work waiting for the service's worker threads: 48
    launches at once against a bound of 1 are partly refused at once with 503 overloaded and
    Retry-After, and only the accepted ones became runs."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    start, key, media = setup
    srv = start(RTGW_VALIDATION_QUEUE_MAX="1")
    api = Api(srv)
    headers = api.headers({"content-type": "application/json"})
    body = json.dumps({"validator": "crasher", "workspace_id": "ws-q", "input": {"document": {}}})

    def post(_):
        with httpx.Client(base_url=srv.base_url, timeout=30) as c:
            return c.post("/api/runtime/validations:launch", content=body, headers=headers)

    with ThreadPoolExecutor(48) as pool:
        responses = list(pool.map(post, range(48)))
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {202, 503}, [(r.status_code, r.text) for r in responses]
    refused = [r for r in responses if r.status_code == 503]
    accepted = [r for r in responses if r.status_code == 202]
    assert refused, "no launch was refused: the bound did not act"
    for r in refused:
        assert_error(r, 503, {"overloaded"})
        assert r.headers["retry-after"] == "1"
    run_ids = {r.json()["run_id"] for r in accepted}
    assert len(run_ids) == len(accepted)
    # Each accepted run exists; nothing else was started (no run dirs beyond the accepted ones).
    for run_id in run_ids:
        assert api.get(f"/api/runtime/validations/{run_id}").status_code == 200
    run_dirs = {p.name for p in media.rglob("vr-*") if p.is_dir()}
    assert run_dirs <= run_ids, run_dirs - run_ids
