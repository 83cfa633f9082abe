"""Validator launchers and storage beyond `local`: the `cloud-run` launcher (Cloud Run Admin API
v2) and `gs://` storage (GCS JSON API), end to end with a real `rtgw serve`.

Google cannot be reached from the test machine. tests/blackbox/fake_google.py is a local HTTP
server that checks the documented request shapes (and records anything else in `errors`), hands
out access tokens as the metadata server, signs ID tokens with a key published as a JWKS (what
rtgw is told is Google's certificate URL), and "runs" a Cloud Run job by starting the job's
command as a child process with the env the jobs.run request carried: the sample validator
really fetches its envelope, really calls back with an ID token from the (fake) metadata server.
docs/contracts/validator-callback.md.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.parse

import httpx
import jwt
import pytest

from conftest import REPO_ROOT, Api, assert_error
from fake_google import FakeGoogle
from test_validators import wait_job_state, wait_terminal


SAMPLE = REPO_ROOT / "src" / "validators" / "sample" / "sample_validator.py"
SMALL_ENV = {"INPUT_URI", "CALLBACK_URL", "CALLBACK_ID", "RUN_ID", "VALIDATOR_VERSION"}
RULES = [{"path": "name", "required": True, "type": "string"},
         {"path": "age", "type": "integer", "min": 0}]


@pytest.fixture
def google():
    fake = FakeGoogle({
        "json-rules": ["/usr/bin/python3", str(SAMPLE)],
        "crasher": ["/bin/sh", "-c", "exit 3"],
        "sleeper": ["/bin/sleep", "60"],
    })
    yield fake
    fake.close()


@pytest.fixture
def cloud(server_factory, tmp_path, google):
    """start(storage=...) -> an rtgw whose validators run on the fake Cloud Run."""
    vfile = tmp_path / "validators.json"
    vfile.write_text(json.dumps({"validators": [
        {"name": "json-rules", "version": "3f2a9c1", "launcher": "cloud-run",
         "job": google.job_name("json-rules"), "timeout_seconds": 30},
        {"name": "crasher", "version": "0.1", "launcher": "cloud-run",
         "job": google.job_name("crasher"), "timeout_seconds": 2},
        {"name": "sleeper", "version": "0.1", "launcher": "cloud-run",
         "job": google.job_name("sleeper"), "timeout_seconds": 2},
        {"name": "missing", "version": "0.1", "launcher": "cloud-run",
         "job": google.job_name("not-deployed"), "timeout_seconds": 2},
    ]}))

    def start(storage: str = "file://"):
        return server_factory(env={
            "RTGW_VALIDATORS_FILE": str(vfile), "MEDIA_ROOT": str(tmp_path / "media"),
            "RTGW_VALIDATOR_STORAGE": storage,
            "RTGW_VALIDATOR_POLL_INTERVAL_MS": "200",
            "RTGW_VALIDATOR_JWKS_MIN_REFETCH_SECONDS": "4",
            # Every Google endpoint is the fake; the access token comes from its metadata server.
            "RTGW_CLOUD_RUN_ENDPOINT": google.url, "RTGW_GCS_ENDPOINT": google.url,
            "RTGW_GCP_METADATA_URL": google.url, "RTGW_VALIDATOR_JWKS": google.jwks_url,
            "RTGW_VALIDATOR_SERVICE_ACCOUNT": google.service_account})
    return start


def launch(api: Api, document, validator="json-rules", files=None) -> dict:
    r = api.post_json("/api/runtime/validations:launch",
                      {"validator": validator, "workspace_id": "ws-1",
                       "input": {"document": document,
                                 "files": files or [{"name": "notes.txt", "content": "hello"}]}})
    assert r.status_code == 202, r.text
    return r.json()


def run_env(google: FakeGoogle, execution_name: str) -> dict:
    return google.executions[execution_name].env


# --------------------------------------------------------------------------------------------
# the fake itself is strict: a wrong shape is refused (so errors == [] below means something)
# --------------------------------------------------------------------------------------------
def test_fake_google_refuses_wrong_request_shapes(google):
    c = httpx.Client(base_url=google.url, timeout=10)
    meta = "/computeMetadata/v1/instance/service-accounts/default/token"
    assert c.get(meta).status_code == 403  # no Metadata-Flavor
    token = c.get(meta, headers={"Metadata-Flavor": "Google"}).json()["access_token"]
    auth = {"authorization": "Bearer " + token}
    run = f"/v2/{google.job_name('json-rules')}:run"
    env = [{"name": "RUN_ID", "value": "x"}]
    good = {"overrides": {"containerOverrides": [{"env": env}]}}
    assert c.post(run, json=good).status_code == 401                       # no bearer token
    assert c.post(run, json=good, headers={"authorization": "Bearer ya29.forged"}).status_code == 401
    assert c.post(f"/v1/{google.job_name('json-rules')}:run", json=good,
                  headers=auth).status_code == 404                           # wrong API version
    assert c.post(run, json={"env": env}, headers=auth).status_code == 400  # env outside overrides
    assert c.post(run, json={"overrides": {"env": env}}, headers=auth).status_code == 400
    assert c.post(run, json={"overrides": {"containerOverrides": [{"env": [{"name": "A"}]}]}},
                  headers=auth).status_code == 400                           # EnvVar without value
    assert c.post(run, content=json.dumps(good), headers=auth).status_code == 400  # not JSON type
    assert c.post(f"/v2/{google.job_name('nope')}:run", json=good, headers=auth).status_code == 404
    assert c.get("/storage/v1/b/bkt/o/a/b.json?alt=media", headers=auth).status_code == 404  # raw /
    assert c.get("/storage/v1/b/bkt/o/a%2Fb.json", headers=auth).status_code == 400  # no alt=media
    assert c.post("/upload/storage/v1/b/bkt/o?uploadType=multipart&name=a", content=b"x",
                  headers={**auth, "content-type": "text/plain"}).status_code == 400
    assert len(google.errors) == 12, google.errors
    assert google.executions == {}
    c.close()


# --------------------------------------------------------------------------------------------
# cloud-run launcher
# --------------------------------------------------------------------------------------------
def test_cloud_run_success_real_job_real_callback(cloud, google):
    srv = cloud()
    api = Api(srv)
    run = launch(api, {"data": {"name": 7, "age": -1}, "rules": RULES})
    assert run["launcher"] == "cloud-run"
    exec_name = run["execution_name"]
    assert exec_name.startswith(google.job_name("json-rules") + "/executions/json-rules-"), run
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "SUCCEEDED", (done, google.child_logs)
    assert {f["path"] for f in done["findings"]} == {"name", "age"}
    assert google.errors == []
    # Exactly one jobs.run with exactly the small env, as per-run container overrides.
    assert len(google.run_bodies) == 1
    body = google.run_bodies[0]
    assert set(body) == {"overrides"} and len(body["overrides"]["containerOverrides"]) == 1
    env = run_env(google, exec_name)
    assert set(env) == SMALL_ENV
    assert env["RUN_ID"] == run["run_id"] and env["INPUT_URI"] == run["input_uri"]
    assert env["VALIDATOR_VERSION"] == "3f2a9c1"
    assert env["CALLBACK_URL"] == f"http://127.0.0.1:{srv.port}/internal/validations/callback"
    assert env["CALLBACK_ID"].startswith("cb-")
    assert max(len(v) for v in env.values()) < 1024  # pointers, never the envelope
    # rtgw took its access token from the metadata server; the job took its ID token from it too.
    paths = [p for _, p in google.calls]
    assert "/computeMetadata/v1/instance/service-accounts/default/token" in paths
    assert any(p.startswith("/computeMetadata/v1/instance/service-accounts/default/identity?")
               for p in paths)
    job = wait_job_state(api, done["job_id"], "completed")
    assert job["result_ref"]["output_uri"] == done["result_uri"]
    detail = api.detail_ok(done["job_id"])
    assert [e["state"] for e in detail["events"]] == ["running", "completed"]
    assert detail["events"][0]["execution_id"] == exec_name

    # The callback credential is checked against the configured service account and audience.
    c = srv.client()
    cb_body = {"run_id": run["run_id"], "callback_id": env["CALLBACK_ID"], "status": "FAILED",
               "result_uri": done["result_uri"]}
    url = env["CALLBACK_URL"]
    for token in (google.id_token(url, email="someone-else@p.iam.gserviceaccount.com"),
                  google.id_token(url + "/other"), google.id_token(url, exp_in=-600)):
        assert_error(c.post("/internal/validations/callback", json=cb_body,
                            headers={"authorization": "Bearer " + token}), 401, "unauthenticated")
    r = c.post("/internal/validations/callback", json=cb_body,
               headers={"authorization": "Bearer " + google.id_token(url)})
    assert r.status_code == 200 and r.json()["replay"] is True, r.text


def test_cloud_run_failed_without_callback_is_failed_by_the_poll(cloud, google):
    api = Api(cloud())
    run = launch(api, {}, validator="crasher")
    done = wait_terminal(api, run["run_id"], limit=20)
    assert done["status"] == "FAILED"
    assert "exit code 3" in done["error"], done
    job = wait_job_state(api, done["job_id"], "failed")
    assert job["error"]["code"] == "callback_missing"
    # The poll read the execution through executions.get, no other call shape.
    assert ("GET", "/v2/" + run["execution_name"]) in google.calls
    assert google.errors == []


def test_cloud_run_still_running_at_the_deadline_is_cancelled(cloud, google):
    api = Api(cloud())
    run = launch(api, {}, validator="sleeper")
    done = wait_terminal(api, run["run_id"], limit=20)
    assert done["status"] == "FAILED" and "timed out" in done["error"], done
    assert ("POST", "/v2/" + run["execution_name"] + ":cancel") in google.calls
    assert google.executions[run["execution_name"]].proc.poll() is not None
    assert google.errors == []


def test_cloud_run_execution_cancelled_outside_rtgw_is_cancelled(cloud, google):
    api = Api(cloud())
    run = launch(api, {}, validator="sleeper")
    # Someone cancels the execution in Google's console (executions.cancel).
    c = httpx.Client(base_url=google.url, timeout=10)
    token = c.get("/computeMetadata/v1/instance/service-accounts/default/token",
                  headers={"Metadata-Flavor": "Google"}).json()["access_token"]
    r = c.post(f"/v2/{run['execution_name']}:cancel", json={},
               headers={"authorization": "Bearer " + token})
    assert r.status_code == 200, r.text
    c.close()
    done = wait_terminal(api, run["run_id"], limit=20)
    assert done["status"] == "CANCELLED", done
    assert "cancelled" in done["error"], done
    assert wait_job_state(api, done["job_id"], "cancelled")["state"] == "cancelled"
    assert google.errors == []


def test_cloud_run_refusing_the_launch_fails_the_run(cloud, google):
    api = Api(cloud())
    run = launch(api, {}, validator="missing")
    assert run["status"] == "FAILED" and run["error"] == "launch failed", run
    assert google.errors and "not-deployed" in google.errors[0]
    wait_job_state(api, run["job_id"], "failed")


# --------------------------------------------------------------------------------------------
# gs:// storage
# --------------------------------------------------------------------------------------------
def test_gcs_storage_full_run_and_rerun(cloud, google, tmp_path):
    api = Api(cloud(storage="gs://val-bucket/rtgw"))
    run = launch(api, {"data": {"name": "ok", "age": 3}, "rules": RULES},
                 files=[{"name": "notes.txt", "content": "hello"},
                        {"name": "model.bin", "content_base64": "AAE="}])
    assert run["input_uri"].startswith("gs://val-bucket/rtgw/validations/")
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "SUCCEEDED", (done, google.child_logs)
    assert done["findings"] == []
    assert google.errors == []

    def obj(uri: str) -> bytes:
        bucket, _, name = uri[len("gs://"):].partition("/")
        return google.objects[(bucket, name)][0]

    envelope = json.loads(obj(run["input_uri"]))
    assert envelope["run_id"] == run["run_id"] and envelope["tenant_id"] == api.tenant
    files = {f["name"]: f["uri"] for f in envelope["files"]}
    assert obj(files["notes.txt"]) == b"hello" and obj(files["model.bin"]) == b"\x00\x01"
    assert json.loads(obj(done["result_uri"]))["passed"] is True
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.json"))
    # Object names went out percent-encoded in the path and in name=.
    quoted = urllib.parse.quote(run["input_uri"][len("gs://val-bucket/"):], safe="")
    assert ("GET", f"/storage/v1/b/val-bucket/o/{quoted}?alt=media") in google.calls
    assert any(m == "POST" and p.startswith("/upload/storage/v1/b/val-bucket/o?uploadType=media&name="
                                            + quoted) for m, p in google.calls)

    # A rerun reads the stored envelope back from GCS and writes a new one.
    r = api.post_json(f"/api/runtime/validations/{run['run_id']}:rerun", {})
    assert r.status_code == 202, r.text
    second = wait_terminal(api, run["run_id"])
    assert second["status"] == "SUCCEEDED" and second["attempt"] == 2
    assert second["input_uri"] != run["input_uri"]
    env2 = json.loads(obj(second["input_uri"]))
    assert env2["document"] == envelope["document"] and env2["files"] == envelope["files"]
    assert google.errors == []


# --------------------------------------------------------------------------------------------
# JWKS refresh: Google rotates its certificates
# --------------------------------------------------------------------------------------------
def test_rotated_google_key_is_fetched_once_and_made_up_kids_are_rate_limited(cloud, google):
    srv = cloud()
    api = Api(srv)
    assert google.certs_fetches() == 1  # loaded at start-up
    time.sleep(4.5)  # past the refetch rate limit (RTGW_VALIDATOR_JWKS_MIN_REFETCH_SECONDS=4)
    google.rotate_key()
    # The job's ID token now has a kid rtgw has not seen: it refetches the JWKS and accepts it.
    run = launch(api, {"data": {"name": "x"}, "rules": RULES})
    done = wait_terminal(api, run["run_id"])
    assert done["status"] == "SUCCEEDED", (done, google.child_logs)
    assert google.certs_fetches() == 2
    # Tokens with made-up kids (a forger's) do not make rtgw hammer the certificate URL:
    # within 4 s of that refetch, none of them causes another.
    url = f"http://127.0.0.1:{srv.port}/internal/validations/callback"
    c = srv.client()
    body = {"run_id": run["run_id"], "callback_id": "cb-x", "status": "FAILED",
            "result_uri": "file:///x"}
    for i in range(5):
        now = int(time.time())
        forged = jwt.encode({"iss": "https://accounts.google.com", "aud": url,
                             "email": google.service_account, "iat": now, "exp": now + 300},
                            google.key, algorithm="RS256", headers={"kid": f"made-up-{i}"})
        assert_error(c.post("/internal/validations/callback", json=body,
                            headers={"authorization": "Bearer " + forged}), 401, "unauthenticated")
    assert google.certs_fetches() == 2


# --------------------------------------------------------------------------------------------
# launch idempotency: a retried launch starts no second execution
# --------------------------------------------------------------------------------------------
def test_retried_launch_with_the_same_key_starts_one_execution(cloud, google):
    srv = cloud()
    api = Api(srv)
    doc = {"data": {"name": "x"}, "rules": RULES}
    body = {"validator": "json-rules", "workspace_id": "ws-1", "idempotency_key": "launch-1",
            "input": {"document": doc, "files": [{"name": "a.txt", "content": "A"}]}}
    first = api.post_json("/api/runtime/validations:launch", body)
    assert first.status_code == 202, first.text
    again = api.post_json("/api/runtime/validations:launch", body)
    assert again.status_code == 202, again.text
    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.json()["execution_name"] == first.json()["execution_name"]
    assert wait_terminal(api, first.json()["run_id"])["status"] == "SUCCEEDED"
    assert len(google.run_bodies) == 1
    # After it finished, still the same run and still one execution.
    third = api.post_json("/api/runtime/validations:launch", body)
    assert third.status_code == 202 and third.json()["status"] == "SUCCEEDED", third.text
    assert len(google.run_bodies) == 1
    # Same key, another request: 409; nothing started.
    for changed in (dict(body, workspace_id="ws-2"),
                    dict(body, input={"document": {"data": {}, "rules": []},
                                      "files": body["input"]["files"]}),
                    dict(body, input={"document": doc,
                                      "files": [{"name": "a.txt", "content": "B"}]})):
        assert_error(api.post_json("/api/runtime/validations:launch", changed), 409,
                     "idempotency_conflict")
    assert len(google.run_bodies) == 1
    # The key is per tenant: another tenant's launch with it is its own run.
    other = Api(srv).post_json("/api/runtime/validations:launch", body)
    assert other.status_code == 202 and other.json()["run_id"] != first.json()["run_id"]
    # A bad key is a 400 that changes nothing.
    assert_error(api.post_json("/api/runtime/validations:launch",
                               dict(body, idempotency_key="has space")), 400, "invalid_argument")
    google.wait_executions_done()
    assert len(google.run_bodies) == 2 and google.errors == []


def test_concurrent_launches_with_one_key_start_one_execution(cloud, google):
    srv = cloud()
    api = Api(srv)
    body = {"validator": "json-rules", "workspace_id": "ws-1", "idempotency_key": "race-1",
            "input": {"document": {"data": {"name": "x"}, "rules": RULES}}}
    results = []
    lock = threading.Lock()

    def go():
        with httpx.Client(base_url=srv.base_url, timeout=30) as c:
            r = c.post("/api/runtime/validations:launch", headers=api.headers(
                {"content-type": "application/json"}), content=json.dumps(body))
        with lock:
            results.append(r)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [202] * 6, [r.text for r in results]
    assert len({r.json()["run_id"] for r in results}) == 1
    run_id = results[0].json()["run_id"]
    assert wait_terminal(api, run_id)["status"] == "SUCCEEDED"
    assert len(google.run_bodies) == 1
    # The job event follows the run's terminal status (validator-callback.md).
    assert wait_job_state(api, run_id + "-1", "completed")["state"] == "completed"
