"""A local stand-in for the Google APIs that validator runs use, checking the documented request
shapes. Google cannot be reached from the test machine; this server is what the cloud-run
launcher, gs:// storage and the sample validator talk to in the tests
(docs/contracts/validator-callback.md says so).

What it serves (one ThreadingHTTPServer on 127.0.0.1:<ephemeral>):
- Metadata server (https://cloud.google.com/compute/docs/metadata/querying-metadata):
  GET /computeMetadata/v1/instance/service-accounts/default/token -> {access_token, expires_in,
  token_type}; GET .../default/identity?audience=A[&format=full] -> an RS256 ID token (iss
  https://accounts.google.com, aud A, email the job's service account). Both need
  `Metadata-Flavor: Google`.
- Google's certificates: GET /oauth2/v3/certs (the JWKS that signs those ID tokens), with
  `Cache-Control: public, max-age=…` as Google sends it; rotate_key() replaces the key and kid.
- Cloud Run Admin API v2 (https://cloud.google.com/run/docs/reference/rest/v2):
  POST /v2/projects/{p}/locations/{l}/jobs/{job}:run with body {overrides: {containerOverrides:
  [{env: [{name, value}]}]}} -> a long-running Operation whose metadata is the Execution;
  GET /v2/projects/{p}/locations/{l}/jobs/{job}/executions/{e} -> the Execution (conditions,
  runningCount, succeededCount, failedCount, cancelledCount, completionTime);
  POST .../executions/{e}:cancel -> Operation.
  A run really runs the job: the job's command (its "container entrypoint", given to the fake)
  as a child process with the override env plus what Cloud Run itself sets (CLOUD_RUN_JOB,
  CLOUD_RUN_EXECUTION, ...), and GCE_METADATA_HOST / STORAGE_EMULATOR_HOST pointing here.
- GCS JSON API (https://cloud.google.com/storage/docs/json_api/v1/objects):
  POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name={object} (body = bytes) and
  GET /storage/v1/b/{bucket}/o/{object}?alt=media and DELETE /storage/v1/b/{bucket}/o/{object}
  (204; 404 for a missing object, as GCS), {object} percent-encoded (no raw '/').

Every API call except the metadata server and the certificates needs
`Authorization: Bearer <a token this metadata server issued>`. Anything that does not match the
shapes above is answered 400/401/404 (Google's error shape) and recorded in `errors`, so a test
asserts `errors == []` to prove rtgw sent exactly the documented requests.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GOOGLE_ISS = "https://accounts.google.com"
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_ENV_VALUE = 32 * 1024  # Cloud Run's limit per variable


def _now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Execution:
    name: str
    job: str
    env: dict
    proc: subprocess.Popen
    created: str = field(default_factory=_now_rfc3339)
    completed: str | None = None
    cancelled: bool = False

    def as_json(self) -> dict:
        rc = self.proc.poll()
        e = {"name": self.name, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.name)),
             "job": self.job.rsplit("/", 1)[-1], "createTime": self.created,
             "startTime": self.created, "taskCount": 1, "parallelism": 1,
             "runningCount": 0, "succeededCount": 0, "failedCount": 0, "cancelledCount": 0,
             "retriedCount": 0}
        if rc is None:
            e["runningCount"] = 1
            completed = {"type": "Completed", "state": "CONDITION_PENDING"}
        else:
            if self.completed is None:
                self.completed = _now_rfc3339()
            e["completionTime"] = self.completed
            if self.cancelled:
                e["cancelledCount"] = 1
                completed = {"type": "Completed", "state": "CONDITION_FAILED",
                             "executionReason": "CANCELLED", "message": "The execution was cancelled."}
            elif rc == 0:
                e["succeededCount"] = 1
                completed = {"type": "Completed", "state": "CONDITION_SUCCEEDED",
                             "message": "Execution completed successfully in 1s."}
            else:
                e["failedCount"] = 1
                completed = {"type": "Completed", "state": "CONDITION_FAILED",
                             "executionReason": "NON_ZERO_EXIT_CODE",
                             "message": f"Task {self.name}-task0 failed with exit code {rc}."}
        e["conditions"] = [{"type": "ResourcesAvailable", "state": "CONDITION_SUCCEEDED"},
                           {"type": "Started", "state": "CONDITION_SUCCEEDED"}, completed]
        return e


class FakeGoogle:
    def __init__(self, jobs: dict[str, list[str]] | None = None, *, project: str = "p",
                 location: str = "us-central1",
                 service_account: str = "validator-job@p.iam.gserviceaccount.com"):
        """`jobs`: Cloud Run job id -> the argv its container runs."""
        self.project = project
        self.location = location
        self.jobs = dict(jobs or {})
        self.service_account = service_account
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "fake-google-" + secrets.token_hex(4)
        self.certs_cache_control = "public, max-age=19000, must-revalidate, no-transform"
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.calls: list[tuple[str, str]] = []  # (method, raw path) of every request
        self.access_tokens: set[str] = set()
        self.run_bodies: list[dict] = []
        self.executions: dict[str, Execution] = {}
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.child_logs: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

            def do_PUT(self):
                fake._handle(self, "PUT")

            def do_DELETE(self):
                fake._handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # -- public ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return self.url + "/oauth2/v3/certs"

    def job_name(self, job: str) -> str:
        return f"projects/{self.project}/locations/{self.location}/jobs/{job}"

    def jwks(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def rotate_key(self) -> None:
        """Google rotates its signing keys: a new key and kid; the old one is gone."""
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "fake-google-" + secrets.token_hex(4)

    def certs_fetches(self) -> int:
        with self.lock:
            return sum(1 for m, p in self.calls if m == "GET" and p == "/oauth2/v3/certs")

    def id_token(self, audience: str, email: str | None = None, exp_in: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": GOOGLE_ISS, "aud": audience, "azp": "1234567890",
                  "sub": "1234567890", "email": email or self.service_account,
                  "email_verified": True, "iat": now, "exp": now + exp_in}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def wait_executions_done(self, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        for e in list(self.executions.values()):
            while e.proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)

    def close(self) -> None:
        for e in self.executions.values():
            if e.proc.poll() is None:
                e.proc.kill()
            e.proc.wait(timeout=10)
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- dispatch -------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self.lock:
            self.calls.append((method, h.path))
        parsed = urllib.parse.urlsplit(h.path)
        raw_path, query = parsed.path, urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        try:
            status, payload, ctype = self._route(h, method, raw_path, query, body)
        except Exception as ex:  # pragma: no cover - a bug in the fake
            status, payload, ctype = self._reject(500, "INTERNAL", f"fake error: {ex!r}")
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(status)
        if raw_path == "/oauth2/v3/certs" and status == 200:
            h.send_header("Cache-Control", self.certs_cache_control)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _reject(self, status: int, reason: str, message: str):
        with self.lock:
            self.errors.append(f"{status} {reason}: {message}")
        return status, {"error": {"code": status, "message": message, "status": reason}}, \
            "application/json"

    def _route(self, h, method, path, query, body):
        if path.startswith("/computeMetadata/"):
            return self._metadata(h, method, path, query)
        if path == "/oauth2/v3/certs" and method == "GET":
            return 200, self.jwks(), "application/json"
        # Everything below is a Google API: bearer access token from the metadata server.
        auth = h.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return self._reject(401, "UNAUTHENTICATED",
                                f"{method} {path}: missing or unknown bearer access token")
        if path.startswith("/v2/"):
            return self._cloud_run(h, method, path, query, body)
        if path.startswith("/upload/storage/v1/") or path.startswith("/storage/v1/"):
            return self._gcs(h, method, path, query, body)
        return self._reject(404, "NOT_FOUND", f"{method} {path}: no such API")

    # -- metadata server ------------------------------------------------------------------------
    def _metadata(self, h, method, path, query):
        if h.headers.get("Metadata-Flavor") != "Google":
            return self._reject(403, "FORBIDDEN", f"{path}: Metadata-Flavor: Google missing")
        if method != "GET":
            return self._reject(405, "METHOD", f"{method} {path}")
        base = "/computeMetadata/v1/instance/service-accounts/default/"
        if path == base + "token":
            token = "ya29.fake-" + secrets.token_urlsafe(16)
            with self.lock:
                self.access_tokens.add(token)
            return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}, \
                "application/json"
        if path == base + "identity":
            aud = query.get("audience", [""])[0]
            if not aud:
                return self._reject(400, "INVALID_ARGUMENT", "identity: audience is required")
            return 200, self.id_token(aud).encode(), "text/html"
        return self._reject(404, "NOT_FOUND", f"metadata {path}")

    # -- Cloud Run Admin API v2 -----------------------------------------------------------------
    def _cloud_run(self, h, method, path, query, body):
        m = re.fullmatch(r"/v2/projects/([^/]+)/locations/([^/]+)/jobs/([^/:]+):run", path)
        if m and method == "POST":
            return self._run_job(h, m.group(1), m.group(2), m.group(3), body)
        m = re.fullmatch(r"/v2/(projects/[^/]+/locations/[^/]+/jobs/[^/]+/executions/[^/:]+)"
                         r"(:cancel)?", path)
        if m:
            with self.lock:
                e = self.executions.get(m.group(1))
            if e is None:
                return self._reject(404, "NOT_FOUND", f"execution {m.group(1)} not found")
            if m.group(2) and method == "POST":
                e.cancelled = True
                if e.proc.poll() is None:
                    e.proc.kill()
                e.proc.wait(timeout=10)
                return 200, self._operation(e), "application/json"
            if not m.group(2) and method == "GET":
                return 200, e.as_json(), "application/json"
        return self._reject(404, "NOT_FOUND", f"Cloud Run: {method} {path} is not a v2 method")

    def _run_job(self, h, project, location, job, raw):
        if (project, location) != (self.project, self.location) or job not in self.jobs:
            return self._reject(404, "NOT_FOUND",
                                f"job projects/{project}/locations/{location}/jobs/{job} not found")
        if not h.headers.get("Content-Type", "").startswith("application/json"):
            return self._reject(400, "INVALID_ARGUMENT", "jobs.run: Content-Type is not JSON")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._reject(400, "INVALID_ARGUMENT", "jobs.run: body is not JSON")
        problem = self._check_run_body(body)
        if problem:
            return self._reject(400, "INVALID_ARGUMENT", "jobs.run: " + problem)
        with self.lock:
            self.run_bodies.append(body)
        env = {}
        for co in body.get("overrides", {}).get("containerOverrides", []):
            for var in co.get("env", []):
                env[var["name"]] = var["value"]
        exec_id = f"{job}-{secrets.token_hex(3)[:5]}"
        name = f"projects/{project}/locations/{location}/jobs/{job}/executions/{exec_id}"
        child_env = dict(env)
        child_env.update({
            "CLOUD_RUN_JOB": job, "CLOUD_RUN_EXECUTION": exec_id, "CLOUD_RUN_TASK_INDEX": "0",
            "CLOUD_RUN_TASK_ATTEMPT": "0", "CLOUD_RUN_TASK_COUNT": "1",
            "GCE_METADATA_HOST": f"127.0.0.1:{self.port}", "STORAGE_EMULATOR_HOST": self.url,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        })
        proc = subprocess.Popen(self.jobs[job], env=child_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        e = Execution(name=name, job=f"projects/{project}/locations/{location}/jobs/{job}",
                      env=env, proc=proc)
        threading.Thread(target=self._collect, args=(proc,), daemon=True).start()
        with self.lock:
            self.executions[name] = e
        return 200, self._operation(e), "application/json"

    def _collect(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            with self.lock:
                self.child_logs.append(line.decode(errors="replace").rstrip())

    def _operation(self, e: Execution) -> dict:
        md = {"@type": "type.googleapis.com/google.cloud.run.v2.Execution", **e.as_json()}
        return {"name": f"projects/{self.project}/locations/{self.location}/operations/"
                        f"{uuid.uuid4()}",
                "metadata": md, "done": False}

    @staticmethod
    def _check_run_body(body) -> str | None:
        """The RunJobRequest shape: {validateOnly?, etag?, overrides?: {containerOverrides?:
        [{name?, args?, env?: [{name, value}], clearArgs?}], taskCount?, timeout?}}."""
        if not isinstance(body, dict):
            return "body must be an object"
        extra = set(body) - {"validateOnly", "etag", "overrides"}
        if extra:
            return f"unknown fields {sorted(extra)}"
        ov = body.get("overrides")
        if ov is None:
            return None
        if not isinstance(ov, dict):
            return "overrides must be an object"
        extra = set(ov) - {"containerOverrides", "taskCount", "timeout"}
        if extra:
            return f"unknown fields overrides.{sorted(extra)}"
        cos = ov.get("containerOverrides", [])
        if not isinstance(cos, list):
            return "overrides.containerOverrides must be an array"
        for i, co in enumerate(cos):
            if not isinstance(co, dict):
                return f"containerOverrides[{i}] must be an object"
            extra = set(co) - {"name", "args", "env", "clearArgs"}
            if extra:
                return f"unknown fields containerOverrides[{i}].{sorted(extra)}"
            env = co.get("env", [])
            if not isinstance(env, list):
                return f"containerOverrides[{i}].env must be an array"
            seen = set()
            for j, var in enumerate(env):
                if not isinstance(var, dict) or set(var) != {"name", "value"}:
                    return f"containerOverrides[{i}].env[{j}] must be {{name, value}}"
                if not isinstance(var["name"], str) or not ENV_NAME_RE.match(var["name"]):
                    return f"containerOverrides[{i}].env[{j}].name is not a variable name"
                if not isinstance(var["value"], str) or len(var["value"]) > MAX_ENV_VALUE:
                    return f"containerOverrides[{i}].env[{j}].value must be a string <= 32 KiB"
                if var["name"] in seen:
                    return f"containerOverrides[{i}].env: {var['name']} twice"
                seen.add(var["name"])
        return None

    # -- GCS JSON API ---------------------------------------------------------------------------
    def _gcs(self, h, method, path, query, body):
        m = re.fullmatch(r"/upload/storage/v1/b/([^/]+)/o", path)
        if m and method == "POST":
            if query.get("uploadType") != ["media"]:
                return self._reject(400, "INVALID_ARGUMENT", "upload: uploadType=media expected")
            names = query.get("name", [])
            if len(names) != 1 or not names[0]:
                return self._reject(400, "INVALID_ARGUMENT", "upload: exactly one name= needed")
            bucket = urllib.parse.unquote(m.group(1))
            ctype = h.headers.get("Content-Type", "")
            if not ctype:
                return self._reject(400, "INVALID_ARGUMENT", "upload: Content-Type missing")
            with self.lock:
                self.objects[(bucket, names[0])] = (body, ctype)
            return 200, {"kind": "storage#object", "bucket": bucket, "name": names[0],
                         "size": str(len(body)), "contentType": ctype}, "application/json"
        m = re.fullmatch(r"/storage/v1/b/([^/]+)/o/([^/]+)", path)
        if m and method == "GET":
            if query.get("alt") != ["media"]:
                return self._reject(400, "INVALID_ARGUMENT", "download: alt=media expected")
            bucket = urllib.parse.unquote(m.group(1))
            name = urllib.parse.unquote(m.group(2))
            with self.lock:
                obj = self.objects.get((bucket, name))
            if obj is None:
                # A 404 for a missing object is normal GCS behaviour, not a shape error.
                return 404, {"error": {"code": 404, "message": "No such object"}}, \
                    "application/json"
            return 200, obj[0], obj[1]
        if m and method == "DELETE":
            if query:
                return self._reject(400, "INVALID_ARGUMENT", "delete: no parameters expected")
            key = (urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2)))
            with self.lock:
                gone = self.objects.pop(key, None)
            if gone is None:
                return 404, {"error": {"code": 404, "message": "No such object"}}, \
                    "application/json"
            return 204, b"", "application/json"
        return self._reject(404, "NOT_FOUND",
                            f"GCS: {method} {path} is not an objects.insert/get media or "
                            "objects.delete request (object names must be percent-encoded)")
