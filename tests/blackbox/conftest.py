"""Fixtures and helpers for the rtgw black-box suite.

Every test talks to a real `rtgw serve` process (binary in $RTGW_BIN) listening on
127.0.0.1 with a real store: a SQLite file in a temporary directory, or a fresh schema of a real
PostgreSQL database. Nothing is mocked.

Backends: RTGW_TEST_BACKENDS=sqlite,postgresql (default: sqlite) runs every server-backed test
once per backend (test ids get [sqlite] / [postgresql]). PostgreSQL needs RTGW_TEST_PG_DSN
(scripts/services/postgres-up.sh prints one; scripts/test.sh sets both). Each PostgreSQL test
server gets its own schema, migrated with `rtgw migrate`, so tests stay independent. Tests about
SQLite itself (the file lock, the db file) are marked sqlite_only and skipped on PostgreSQL.

Run:  RTGW_BIN=/path/to/rtgw /usr/bin/python3 -m pytest tests/blackbox -q
"""
from __future__ import annotations

import base64
import codecs
import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Callable, Iterable

import httpx
import jwt
import pytest

from openapi_contract import Mismatch, Observed, ResponseChecker

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DOC = REPO_ROOT / "docs" / "openapi.json"

SECRET = "blackbox-hs256-secret-0123456789abcdef"  # >= 32 bytes
TRACE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
# RFC 3339 UTC with microseconds, as the contract promises for every timestamp it emits.
TS_MICROS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

BACKENDS = [b.strip() for b in os.environ.get("RTGW_TEST_BACKENDS", "sqlite").split(",")
            if b.strip()]
PG_DSN = os.environ.get("RTGW_TEST_PG_DSN", "")

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 15.0
PER_TEST_LIMIT_S = 75


# --------------------------------------------------------------------------------------------
# per-test watchdog (no pytest-timeout on this box): every test is bounded.
# --------------------------------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limit = PER_TEST_LIMIT_S
    marker = item.get_closest_marker("slow")
    if marker is not None:
        limit = 2 * PER_TEST_LIMIT_S

    def on_alarm(signum, frame):  # pragma: no cover - only on hangs
        raise TimeoutError(f"test exceeded its {limit}s watchdog")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------------------------
# every response rtgw gives the suite is checked against docs/openapi.json
# --------------------------------------------------------------------------------------------
# httpx.Client.send is wrapped once here, rather than an event hook per client, because tests make
# their own clients (httpx.Client(...), httpx.post) and each would have to remember the hook.
# A response counts as rtgw's when it comes from a port a Server of this suite listens on, or
# carries rtgw's x-trace-id (processes tests start themselves); fakes (fake_google, sinks) send
# none. A mismatch fails the test phase (setup/call/teardown) that received the response; the
# session ends with a summary (and RTGW_OPENAPI_REPORT=path writes it as JSON).
# Requests written to raw sockets (read_raw_response) are not checked.
OPENAPI_CHECK = ResponseChecker(OPENAPI_DOC)
_rtgw_ports: dict[int, str] = {}     # port -> APP_ROLE of the process
_rtgw_port_owner: dict[int, int] = {}  # port -> id() of the Server that registered it
_openapi_lock = threading.Lock()
_openapi_pending: list[Mismatch] = []   # not yet reported on a test phase
_openapi_streamed = 0                   # checked without their body (stream=True)


def register_rtgw_port(port: int, role: str = "all", owner: object = None) -> None:
    """Marks 127.0.0.1:`port` as an rtgw process's (of APP_ROLE `role`), so its responses are
    checked."""
    with _openapi_lock:
        _rtgw_ports[port] = role
        _rtgw_port_owner[port] = id(owner)


def unregister_rtgw_port(port: int | None, owner: object) -> None:
    """The process `owner` started on `port` has exited: a later listener on that ephemeral port
    (a fake Google server, say) is not rtgw. Only the registering owner's entry is removed."""
    with _openapi_lock:
        if port is not None and _rtgw_port_owner.get(port) == id(owner):
            del _rtgw_ports[port]
            del _rtgw_port_owner[port]


def _rtgw_role(response: httpx.Response) -> str | None:
    """The APP_ROLE of the rtgw process that sent `response`; None when not from rtgw."""
    url = response.request.url
    if url.host in ("127.0.0.1", "localhost") and url.port in _rtgw_ports:
        return _rtgw_ports[url.port]
    if TRACE_ID_RE.match(response.headers.get("x-trace-id", "")):
        return "all"  # a process a test started itself: the default role
    return None


def _observe(response: httpx.Response, streamed: bool) -> None:
    global _openapi_streamed
    role = _rtgw_role(response)
    if role is None:
        return
    request = response.request
    obs = Observed(
        method=request.method,
        role=role,
        raw_path=request.url.raw_path.split(b"?", 1)[0].decode("ascii", "replace"),
        request_headers={k.lower(): v for k, v in request.headers.items()},
        status=response.status_code,
        response_headers={k.lower(): v for k, v in response.headers.items()},
        body=None if streamed else response.content)
    found = OPENAPI_CHECK.check(obs)
    with _openapi_lock:
        _openapi_streamed += 1 if streamed else 0
        _openapi_pending.extend(found)


_httpx_send = httpx.Client.send
_httpx_async_send = httpx.AsyncClient.send


def _checked_send(self, request, **kwargs):
    response = _httpx_send(self, request, **kwargs)
    _observe(response, kwargs.get("stream", False))
    return response


async def _checked_async_send(self, request, **kwargs):
    response = await _httpx_async_send(self, request, **kwargs)
    _observe(response, kwargs.get("stream", False))
    return response


httpx.Client.send = _checked_send
httpx.AsyncClient.send = _checked_async_send


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    with _openapi_lock:
        found = list(_openapi_pending)
        _openapi_pending.clear()
    if not found:
        return
    text = (f"{len(found)} response(s) do not match {OPENAPI_DOC.relative_to(REPO_ROOT)} "
            f"(tests/blackbox/openapi_contract.py has the rules):\n"
            + "\n".join(f"  {m}" for m in found[:20])
            + (f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""))
    if report.failed:
        report.sections.append(("OpenAPI mismatches", text))
    else:
        report.outcome = "failed"
        report.longrepr = text
        if hasattr(report, "wasxfail"):
            del report.wasxfail


def pytest_terminal_summary(terminalreporter):
    check = OPENAPI_CHECK
    if check.checked == 0:
        return
    tr = terminalreporter
    tr.write_sep("-", "OpenAPI response check")
    tr.write_line(
        f"{check.checked} rtgw responses checked against {OPENAPI_DOC.relative_to(REPO_ROOT)} "
        f"({_openapi_streamed} streamed: status, content type and security only); "
        f"{len(check.mismatches)} mismatches; {len(check.seen)} distinct method/path/status; "
        f"{len(check.unexercised())} declared method/path/status never seen")
    for m in check.mismatches[:30]:
        tr.write_line(f"  MISMATCH {m}")
    path = os.environ.get("RTGW_OPENAPI_REPORT")
    if path:
        Path(path).write_text(json.dumps({
            "checked": check.checked, "streamed": _openapi_streamed,
            "mismatches": [m.__dict__ for m in check.mismatches],
            "seen": dict(sorted(check.seen.items())),
            "unexercised": check.unexercised()}, indent=1) + "\n")
        tr.write_line(f"  details: {path}")


# --------------------------------------------------------------------------------------------
# binary
# --------------------------------------------------------------------------------------------
def _resolve_bin() -> str:
    path = os.environ.get("RTGW_BIN", "")
    if not path:
        pytest.fail(
            "RTGW_BIN is not set: point it at the built rtgw binary, e.g. "
            "RTGW_BIN=/work/main/build/release/src/app/rtgw /usr/bin/python3 -m pytest tests/blackbox",
            pytrace=False)
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        pytest.fail(f"RTGW_BIN={path!r} does not exist or is not executable", pytrace=False)
    return str(p.resolve())


@pytest.fixture(scope="session")
def rtgw_bin() -> str:
    return _resolve_bin()


def clean_env(extra: dict | None = None) -> dict:
    """The process environment without any RTGW_* variable (so the host cannot leak config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTGW_")}
    if extra:
        env.update(extra)
    return env


def run_cli(rtgw_bin: str, *args: str, env: dict | None = None, timeout: float = 20.0,
            cwd: str | None = None) -> subprocess.CompletedProcess:
    """Runs a short-lived rtgw command (bounded) and returns the completed process."""
    return subprocess.run([rtgw_bin, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          env=clean_env(env), timeout=timeout, cwd=cwd)


# --------------------------------------------------------------------------------------------
# backends
# --------------------------------------------------------------------------------------------
def psql(sql: str, dsn: str | None = None, timeout: float = 20.0) -> str:
    """Runs SQL with the psql client against the test PostgreSQL; returns stdout (-At)."""
    res = subprocess.run(["psql", dsn or PG_DSN, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=timeout, env=clean_env({"PGCONNECT_TIMEOUT": "5"}))
    if res.returncode != 0:
        raise RuntimeError(f"psql failed ({res.returncode}): {sql}\n{res.stderr}")
    return res.stdout


def pg_url(schema: str) -> str:
    """RTGW_TEST_PG_DSN with its search_path set to `schema`."""
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}options=-csearch_path%3D{schema}"


def new_pg_schema(prefix: str = "bb") -> str:
    name = f"rtgw_{prefix}_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE SCHEMA {name}")
    return name


def pg_counts(schema: str) -> dict:
    """Row count of every table in `schema` (schema-agnostic, like db_counts for SQLite)."""
    tables = [t for t in psql(
        f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}' ORDER BY 1").split()]
    if not tables:
        return {}
    q = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {schema}.\"{t}\"" for t in tables)
    out = {}
    for line in psql(q).splitlines():
        name, _, n = line.partition("|")
        out[name] = int(n)
    return out


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """The store backend of this run of a test: "sqlite" or "postgresql"."""
    name = request.param
    if name not in ("sqlite", "postgresql"):
        pytest.fail(f"RTGW_TEST_BACKENDS: unknown backend {name!r}", pytrace=False)
    if name == "postgresql" and not PG_DSN:
        pytest.fail("RTGW_TEST_BACKENDS includes postgresql but RTGW_TEST_PG_DSN is not set "
                    "(scripts/services/postgres-up.sh prints one)", pytrace=False)
    return name


@pytest.fixture(autouse=True)
def _sqlite_only(request):
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None and "backend" in request.fixturenames:
        if request.getfixturevalue("backend") != "sqlite":
            pytest.skip("SQLite-specific: " + (marker.args[0] if marker.args else ""))


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------
class Server:
    """One `rtgw serve` process on 127.0.0.1:<ephemeral>, with its own SQLite file.

    start() waits (bounded) for the port file; stop(sig) sends a signal and waits for the exit
    code; kill9() is SIGKILL; restart() starts again on the same database file. stderr is
    collected line by line (`stderr_lines`, `logs()`); everything is cleaned up by close().
    """

    def __init__(self, bin_path: str, workdir: Path, *, args: Iterable[str] = (),
                 env: dict | None = None, secret: str | None = SECRET,
                 db_path: Path | None = None, config_via_env: bool = False,
                 backend: str = "sqlite", pg_schema: str | None = None,
                 database_url: str | None = None):
        self.bin = bin_path
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        self.db_path = Path(db_path) if db_path else self.workdir / "rtgw.db"
        self.pg_schema = pg_schema
        self.url_override = database_url
        self.owns_schema = backend == "postgresql" and pg_schema is None and database_url is None
        if self.owns_schema:
            # A fresh schema, brought to the current version the way an operator would.
            self.pg_schema = new_pg_schema()
            res = run_cli(bin_path, "migrate", "--database-url", pg_url(self.pg_schema))
            if res.returncode != 0:
                raise RuntimeError(f"rtgw migrate failed: {res.stderr.decode()}")
        self.port_file = self.workdir / "port"
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.secret = secret
        self.config_via_env = config_via_env
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.generation = 0
        self.returncode: int | None = None
        self._lines: list[str] = []
        self._all_lines: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        if self.url_override:
            return self.url_override
        if self.backend == "postgresql":
            return pg_url(self.pg_schema)
        return "sqlite://" + str(self.db_path.resolve())

    def counts(self) -> dict | None:
        """Row count per table of this server's store (None: SQLite file locked)."""
        if self.backend == "postgresql":
            return pg_counts(self.pg_schema)
        return db_counts(self.db_path)

    def command_and_env(self) -> tuple[list[str], dict]:
        env = clean_env(self.extra_env)
        if self.config_via_env:
            env.update({
                "RTGW_LISTEN": "127.0.0.1:0",
                "RTGW_PORT_FILE": str(self.port_file),
                "RTGW_DATABASE_URL": self.database_url,
            })
            if self.secret is not None:
                env["RTGW_JWT_HS256_SECRET"] = self.secret
            return [self.bin, "serve", *self.args], env
        cmd = [self.bin, "serve", "--listen", "127.0.0.1:0", "--port-file", str(self.port_file),
               "--database-url", self.database_url]
        if self.secret is not None:
            cmd += ["--jwt-hs256-secret", self.secret]
        cmd += self.args
        return cmd, env

    def start(self, timeout: float = START_TIMEOUT_S) -> "Server":
        assert not self.running, "server already running"
        with contextlib.suppress(FileNotFoundError):
            self.port_file.unlink()
        self.generation += 1
        self.returncode = None
        self.port = None
        with self._lock:
            self._lines = []
        cmd, env = self.command_and_env()
        stdout = open(self.workdir / f"stdout.{self.generation}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=subprocess.PIPE, env=env, cwd=str(self.workdir),
                                     start_new_session=True)
        stdout.close()
        self._reader = threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._join_reader()
                self.returncode = rc
                raise RuntimeError(f"rtgw serve exited with {rc} before writing its port file\n"
                                   f"cmd: {cmd}\nstderr:\n{self.stderr_text()[-4000:]}")
            try:
                text = self.port_file.read_text()
            except FileNotFoundError:
                text = ""
            if text.strip().isdigit() and int(text.strip()) > 0:
                self.port = int(text.strip())
                register_rtgw_port(self.port, self.role, self)
                return self
            time.sleep(0.02)
        self.kill9()
        raise RuntimeError(f"rtgw serve did not write {self.port_file} within {timeout}s\n"
                           f"stderr:\n{self.stderr_text()[-4000:]}")

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        with open(self.workdir / f"stderr.{self.generation}.log", "wb") as sink:
            for raw in iter(proc.stderr.readline, b""):
                sink.write(raw)
                sink.flush()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self._lines.append(line)
                    self._all_lines.append(line)
        proc.stderr.close()

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    @property
    def role(self) -> str:
        """APP_ROLE of this server (--role wins over the environment, as in rtgw serve)."""
        if "--role" in self.args[:-1]:
            return self.args[self.args.index("--role") + 1]
        return self.extra_env.get("APP_ROLE", "all")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Sends `sig` and waits for the exit code (bounded; SIGKILL and AssertionError on hang)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                self._join_reader()
                raise AssertionError(f"rtgw did not exit within {timeout}s after signal {sig}")
        self._join_reader()
        self.returncode = self.proc.returncode
        unregister_rtgw_port(self.port, self)
        return self.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            self._join_reader()
            self.returncode = self.proc.returncode
            unregister_rtgw_port(self.port, self)

    def restart(self) -> "Server":
        """Starts again on the same database file (after stop() or kill9())."""
        if self.running:
            self.stop()
        return self.start()

    def close(self) -> None:
        self.kill9()

    # -- access --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self.port, "server not started"
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw) -> httpx.Client:
        kw.setdefault("timeout", HTTP_TIMEOUT_S)
        return httpx.Client(base_url=self.base_url, **kw)

    @property
    def stderr_lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def stderr_text(self) -> str:
        with self._lock:
            return "\n".join(self._all_lines)

    def logs(self) -> list[dict]:
        out = []
        for line in self.stderr_lines:
            with contextlib.suppress(ValueError):
                rec = json.loads(line)
                if isinstance(rec, dict):
                    out.append(rec)
        return out

    def wait_for_log(self, pred: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.logs():
                if pred(rec):
                    return rec
            if time.monotonic() > deadline:
                tail = "\n".join(self.stderr_lines[-30:])
                raise AssertionError(f"no matching log line within {timeout}s; stderr tail:\n{tail}")
            time.sleep(0.05)


class ServerPool:
    def __init__(self, rtgw_bin: str, base_dir: Path, backend: str = "sqlite"):
        self.rtgw_bin = rtgw_bin
        self.base_dir = base_dir
        self.backend = backend
        self.servers: list[Server] = []

    def __call__(self, *args: str, env: dict | None = None, secret: str | None = SECRET,
                 db_path: Path | None = None, start: bool = True,
                 config_via_env: bool = False, pg_schema: str | None = None,
                 database_url: str | None = None) -> Server:
        """A new server; with pg_schema (PostgreSQL), one more replica on that schema; with
        database_url, exactly that store (the caller prepares it)."""
        s = Server(self.rtgw_bin, self.base_dir / f"srv{len(self.servers)}", args=args, env=env,
                   secret=secret, db_path=db_path, config_via_env=config_via_env,
                   backend=self.backend, pg_schema=pg_schema, database_url=database_url)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def close(self) -> None:
        for s in self.servers:
            s.close()
        for s in self.servers:
            if s.owns_schema:
                with contextlib.suppress(Exception):
                    psql(f"DROP SCHEMA IF EXISTS {s.pg_schema} CASCADE")


@pytest.fixture
def server_factory(rtgw_bin, tmp_path, backend):
    """Function-scoped: server_factory(*extra_args, env=..., secret=...) -> started Server."""
    pool = ServerPool(rtgw_bin, tmp_path, backend)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def module_server_factory(rtgw_bin, tmp_path_factory, backend):
    pool = ServerPool(rtgw_bin, tmp_path_factory.mktemp("srv"), backend)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def _shared_server(rtgw_bin, tmp_path_factory, backend):
    pool = ServerPool(rtgw_bin, tmp_path_factory.mktemp("shared"), backend)
    srv = pool()
    yield srv
    pool.close()


@pytest.fixture
def server(_shared_server):
    """The shared default-config server (HS256 secret). Restarted (same DB) if a previous test
    crashed it; a test during which it dies gets an error naming the exit code and stderr."""
    if not _shared_server.running:
        _shared_server.start()
    yield _shared_server
    if not _shared_server.running:
        rc = _shared_server.proc.poll() if _shared_server.proc else None
        tail = "\n".join(_shared_server.stderr_lines[-40:])
        pytest.fail(f"rtgw serve died during this test (exit {rc}); stderr tail:\n{tail}",
                    pytrace=False)


# --------------------------------------------------------------------------------------------
# ids, tokens, bodies
# --------------------------------------------------------------------------------------------
def uid(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def make_claims(tenant: str, sub: str = "blackbox-user", exp_in: int = 600, **extra) -> dict:
    now = int(time.time())
    claims = {"tenant_id": tenant, "sub": sub, "iat": now, "exp": now + exp_in}
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def make_token(tenant: str, *, secret: str = SECRET, alg: str = "HS256", key=None,
               headers: dict | None = None, exp_in: int = 600, sub: str = "blackbox-user",
               **extra) -> str:
    claims = make_claims(tenant, sub=sub, exp_in=exp_in, **extra)
    return jwt.encode(claims, key if key is not None else secret, algorithm=alg, headers=headers)


def admin_token(tenant: str, **extra) -> str:
    """An operator's token (scope runtime:admin): dead letters, node list, revocation."""
    return make_token(tenant, sub="operator", scope="runtime:admin", **extra)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict, header: dict | None = None) -> str:
    header = header or {"alg": "none", "typ": "JWT"}
    return (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + ".")


def hmac_token(claims: dict, key: bytes, alg_name: str = "HS256", header_extra: dict | None = None,
               digest: str = "sha256") -> str:
    """Hand-made HMAC JWS (for algorithm-confusion tokens PyJWT refuses to make)."""
    import hashlib
    import hmac
    header = {"alg": alg_name, "typ": "JWT", **(header_extra or {})}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(key, signing_input.encode(), getattr(hashlib, digest)).digest()
    return signing_input + "." + b64url(sig)


def submit_body(tenant: str, job_id: str | None = None, key: str | None = None, **over) -> dict:
    job_id = job_id or uid("job")
    body = {
        "tenant_id": tenant,
        "workspace_id": tenant,
        "job_id": job_id,
        "idempotency_key": key or ("submit-" + job_id),
        "management_node_id": "mgmt-node-1",
        "execution_profile": {"queue_name": "default"},
        "resource_shape": {"cpu": 1, "memory_mib": 2048, "walltime_seconds": 3600},
        "payload_ref": {"input_uri": f"inline://gate/{job_id}"},
        "requested_by": {"user_id": "blackbox-user"},
    }
    body.update(over)
    return body


def event_body(tenant: str, job_id: str, submission_id: str, state: str,
               event_id: str | None = None, occurred_at: str = "2026-02-18T00:00:00Z",
               **over) -> dict:
    event_id = event_id or uid("evt-" + state)
    body = {
        "event_id": event_id,
        "tenant_id": tenant,
        "workspace_id": tenant,
        "job_id": job_id,
        "submission_id": submission_id,
        "execution_id": "aiida-123",
        "state": state,
        "occurred_at": occurred_at,
        "trace_id": "trace-" + event_id,
    }
    body.update(over)
    return body


class Api:
    """A tenant's client for /api/runtime/* on one server."""

    def __init__(self, server: Server, tenant: str | None = None, token: str | None = None,
                 send_tenant_header: bool = True, extra_headers: dict | None = None):
        self.server = server
        self.tenant = tenant or uid("tenant")
        self.token = token or make_token(self.tenant)
        self.send_tenant_header = send_tenant_header
        self.extra_headers = dict(extra_headers or {})
        self.client = server.client()

    def close(self) -> None:
        self.client.close()

    def headers(self, extra: dict | None = None) -> dict:
        h = {"authorization": "Bearer " + self.token}
        if self.send_tenant_header:
            h["x-tenant-id"] = self.tenant
        h.update(self.extra_headers)
        if extra:
            h.update(extra)
        return {k: v for k, v in h.items() if v is not None}

    # raw calls ---------------------------------------------------------------------------------
    def post_json(self, path: str, body, headers: dict | None = None) -> httpx.Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h = self.headers({"content-type": "application/json", **(headers or {})})
        return self.client.post(path, content=data, headers=h)

    def submit(self, body, headers: dict | None = None) -> httpx.Response:
        return self.post_json("/api/runtime/jobs:submit", body, headers)

    def event(self, job_id: str, body, headers: dict | None = None) -> httpx.Response:
        return self.post_json(f"/api/runtime/jobs/{job_id}/events", body, headers)

    def get(self, path: str, headers: dict | None = None) -> httpx.Response:
        return self.client.get(path, headers=self.headers(headers))

    def job(self, job_id: str, headers: dict | None = None) -> httpx.Response:
        return self.get(f"/api/runtime/jobs/{job_id}", headers)

    def detail(self, job_id: str, headers: dict | None = None) -> httpx.Response:
        return self.get(f"/api/runtime/jobs/{job_id}/detail", headers)

    def projection(self, job_id: str, headers: dict | None = None) -> httpx.Response:
        return self.get(f"/api/runtime/jobs/{job_id}/projection", headers)

    def list_jobs(self, params=None, headers: dict | None = None) -> httpx.Response:
        """GET /api/runtime/jobs; `params` a dict (list values repeat) or a list of pairs."""
        return self.client.get("/api/runtime/jobs", params=params, headers=self.headers(headers))

    def watch(self, params=None, last_event_id: str | None = None, headers: dict | None = None,
              timeout: float = 10.0) -> "SseStream":
        """GET /api/runtime/jobs:watch as an SseStream (status and headers already read)."""
        query = urllib.parse.urlencode(params or {}, doseq=True)
        h = self.headers(headers)
        if last_event_id is not None:
            h["Last-Event-ID"] = last_event_id
        return SseStream(self.server.port, "/api/runtime/jobs:watch" + ("?" + query if query else ""),
                         h, timeout)

    # asserting helpers ---------------------------------------------------------------------
    def submit_ok(self, body: dict | None = None, **over) -> dict:
        body = body if body is not None else submit_body(self.tenant, **over)
        r = self.submit(body)
        assert r.status_code == 202, f"submit: expected 202, got {r.status_code}: {r.text}"
        return r.json()

    def new_job(self, **over) -> tuple[dict, dict]:
        body = submit_body(self.tenant, **over)
        return body, self.submit_ok(body)

    def event_ok(self, job_id: str, body: dict, idempotent: bool = False) -> dict:
        r = self.event(job_id, body)
        assert r.status_code == 200, f"event: expected 200, got {r.status_code}: {r.text}"
        assert r.json() == {"ok": True, "idempotent": idempotent}, r.text
        return r.json()

    def job_ok(self, job_id: str) -> dict:
        r = self.job(job_id)
        assert r.status_code == 200, f"GET job: {r.status_code}: {r.text}"
        return r.json()

    def detail_ok(self, job_id: str) -> dict:
        r = self.detail(job_id)
        assert r.status_code == 200, f"GET detail: {r.status_code}: {r.text}"
        return r.json()

    def projection_ok(self, job_id: str) -> dict:
        r = self.projection(job_id)
        assert r.status_code == 200, f"GET projection: {r.status_code}: {r.text}"
        return r.json()


@pytest.fixture
def api(server):
    a = Api(server)
    yield a
    a.close()


@pytest.fixture
def api_b(server):
    a = Api(server)
    yield a
    a.close()


# --------------------------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------------------------
def assert_error_body(status: int, headers, body: bytes, expected_status: int, codes,
                      context: str = "") -> dict:
    """The one error shape: {"error": {"code", "message", "trace_id"}}, trace_id == x-trace-id."""
    if isinstance(codes, str):
        codes = {codes}
    where = f" [{context}]" if context else ""
    assert status == expected_status, (
        f"expected {expected_status} {sorted(codes)}, got {status}: {body[:500]!r}{where}")
    ctype = headers.get("content-type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", (
        f"error content-type {ctype!r}{where}")
    try:
        doc = json.loads(body)
    except ValueError:
        raise AssertionError(f"error body is not JSON: {body[:300]!r}{where}")
    assert isinstance(doc, dict) and set(doc) == {"error"}, f"error envelope: {doc}{where}"
    err = doc["error"]
    assert isinstance(err, dict) and set(err) == {"code", "message", "trace_id"}, (
        f"error object keys: {err}{where}")
    assert err["code"] in codes, f"error code {err['code']!r} not in {sorted(codes)}{where}"
    assert isinstance(err["message"], str) and err["message"], f"empty message{where}"
    assert isinstance(err["trace_id"], str) and TRACE_ID_RE.match(err["trace_id"]), (
        f"trace_id {err['trace_id']!r}{where}")
    xt = headers.get("x-trace-id")
    assert xt == err["trace_id"], f"x-trace-id {xt!r} != body trace_id {err['trace_id']!r}{where}"
    return err


def assert_error(r: httpx.Response, status: int, codes, context: str = "") -> dict:
    return assert_error_body(r.status_code, r.headers, r.content, status, codes, context)


def db_counts(db_path) -> dict | None:
    """Row count of every table in the SQLite file, read-only and schema-agnostic.
    None when the file is locked exclusively (then callers rely on API reads alone).
    Given a Server instead of a path, counts that server's store (either backend)."""
    if isinstance(db_path, Server):
        return db_path.counts()
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return None
    try:
        tables = [row[0] for row in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            return None
        raise
    finally:
        con.close()


class Unchanged:
    """Snapshot of the store (row counts per table) and of some jobs' detail bytes; check()
    asserts an erroring request changed nothing."""

    def __init__(self, api: Api, job_ids: Iterable[str] = (), absent: Iterable[str] = ()):
        self.api = api
        self.job_ids = list(job_ids)
        self.absent = list(absent)
        self.counts = api.server.counts()
        self.details = {}
        for j in self.job_ids:
            r = api.detail(j)
            assert r.status_code == 200, r.text
            self.details[j] = r.content

    def check(self, context: str = "") -> None:
        for j in self.job_ids:
            r = self.api.detail(j)
            assert r.status_code == 200, r.text
            assert r.content == self.details[j], f"job {j} changed{' [' + context + ']' if context else ''}"
        for j in self.absent:
            r = self.api.job(j)
            assert r.status_code == 404, f"job {j} exists but must not ({context}): {r.text}"
        if self.counts is not None:
            now = self.api.server.counts()
            if now is not None:
                assert now == self.counts, f"store row counts changed ({context}): {self.counts} -> {now}"


# --------------------------------------------------------------------------------------------
# raw HTTP (for byte-level cases httpx cannot express: stalls, oversize headers, partial bodies)
# --------------------------------------------------------------------------------------------
class RawResponse:
    def __init__(self, status: int, reason: str, headers: dict, body: bytes, closed: bool):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.closed = closed

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"RawResponse({self.status}, {self.headers}, {self.body[:200]!r}, closed={self.closed})"


def read_raw_response(sock: socket.socket, timeout: float = 10.0,
                      check_close: float = 0.0) -> RawResponse:
    """Reads one HTTP/1.1 response (Content-Length or chunked). With check_close > 0, also waits
    that long for the server to close the connection and reports it in `closed`."""
    deadline = time.monotonic() + timeout
    buf = b""
    closed = False

    def recv_more() -> bool:
        nonlocal buf, closed
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {timeout}s; got {buf[:300]!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no complete response within {timeout}s; got {buf[:300]!r}")
        except ConnectionResetError:
            if not buf:
                raise
            chunk = b""
        if not chunk:
            closed = True
            return False
        buf += chunk
        return True

    while b"\r\n\r\n" not in buf:
        if not recv_more():
            raise ConnectionError(f"connection closed before a full response head: {buf[:300]!r}")
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        buf = body
        while len(buf) < n:
            if not recv_more():
                break
        body = buf[:n]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        buf = body
        out = b""
        while True:
            while b"\r\n" not in buf:
                if not recv_more():
                    raise ConnectionError("closed inside chunked body")
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                if not recv_more():
                    raise ConnectionError("closed inside chunked body")
            out += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
        body = out
    else:
        while recv_more():
            pass
        body = buf.partition(b"\r\n\r\n")[2]
    if check_close > 0 and not closed:
        sock.settimeout(check_close)
        try:
            extra = sock.recv(65536)
            closed = extra == b""
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
    return RawResponse(status, reason, headers, body, closed)


def free_port() -> int:
    """An ephemeral loopback port nothing listens on now (for a process that must come back on
    the same address after a stop, or whose command line needs the port up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_connect(port: int, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def http_request_bytes(method: str, path: str, headers: dict | None = None,
                       body: bytes = b"") -> bytes:
    h = {"Host": "127.0.0.1", **(headers or {})}
    if body and not any(k.lower() == "content-length" for k in h):
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode("latin-1") + body


def assert_raw_error(resp: RawResponse, status: int, codes, context: str = "") -> dict:
    return assert_error_body(resp.status, resp.headers, resp.body, status, codes, context)


# --------------------------------------------------------------------------------------------
# Server-Sent Events (GET /api/runtime/jobs:watch), on a raw socket
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class SseEvent:
    """One dispatched event: `id`, `event`, `data` (the joined data lines) and the monotonic
    time its blank line arrived."""
    id: str | None
    event: str
    data: str
    received: float

    def json(self):
        return json.loads(self.data)


class SseStream:
    """One GET of a text/event-stream response, read incrementally (chunked or not) so a test
    can take events one by one with a timeout. The status line and headers are read in the
    constructor (bounded by `timeout`): `status`, `headers` (lower-case names); a non-200 answer
    is read whole into `body` (assert_raw_error works on it via `raw()`).

    Parsing follows the WHATWG rules the contract names: lines end in LF, CRLF or CR; `:` starts
    a comment (kept in `comments`); `retry:` sets `retry_ms`; a blank line dispatches an event
    with at least one `data` line. `last_event_id` is the id of the last event read, what a
    browser sends back as Last-Event-ID."""

    def __init__(self, port: int, path: str, headers: dict | None = None, timeout: float = 10.0):
        self.sock = raw_connect(port, timeout)
        self.sock.sendall(http_request_bytes("GET", path, {"Accept": "text/event-stream",
                                                           **(headers or {})}))
        self._raw = b""        # bytes from the socket not yet decoded
        self._text = ""        # decoded body text not yet split into lines
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._chunked = False
        self._remaining: int | None = None  # Content-Length left (not chunked)
        self.ended = False     # the body ended (last chunk, or the server closed)
        self.comments: list[str] = []
        self.retry_ms: int | None = None
        self.last_event_id: str | None = None
        self._pending: dict = {"id": None, "event": "", "data": []}
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._raw:
            if not self._recv(deadline):
                raise ConnectionError(f"closed before the response head: {self._raw[:300]!r}")
        head, _, self._raw = self._raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ", 2)[1])
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self._chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        if "content-length" in self.headers:
            self._remaining = int(self.headers["content-length"])
        self.body = b""
        if self.status != 200:
            out = b""
            while not self.ended:
                out += self._decode()
                if not self.ended and not self._recv(deadline):
                    break
            self.body = out + self._decode()

    def raw(self) -> RawResponse:
        return RawResponse(self.status, "", self.headers, self.body, self.ended)

    def _recv(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from the stream in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data from the stream in time")
        except (ConnectionResetError, OSError):
            chunk = b""
        if not chunk:
            self.ended = True
            return False
        self._raw += chunk
        return True

    def _decode(self) -> bytes:
        """Moves the complete body bytes out of _raw."""
        out = b""
        if not self._chunked:
            take = self._raw if self._remaining is None else self._raw[:self._remaining]
            self._raw = self._raw[len(take):]
            if self._remaining is not None:
                self._remaining -= len(take)
                self.ended = self.ended or self._remaining == 0
            return take
        while True:
            line, sep, rest = self._raw.partition(b"\r\n")
            if not sep:
                return out
            size = int(line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return out
            out += rest[:size]
            self._raw = rest[size + 2:]
            if size == 0:
                self.ended = True
                return out

    def _take_line(self) -> str | None:
        for i, ch in enumerate(self._text):
            if ch == "\n" or ch == "\r":
                if ch == "\r" and i + 1 == len(self._text) and not self.ended:
                    return None  # a CR at the end may be the first half of a CRLF
                line = self._text[:i]
                skip = 2 if self._text[i:i + 2] == "\r\n" else 1
                self._text = self._text[i + skip:]
                return line
        return None

    def next(self, timeout: float = 10.0) -> SseEvent | None:
        """The next event; None once the stream has ended; TimeoutError when none came within
        `timeout` seconds (the stream stays usable)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._take_line()
            if line is not None:
                ev = self._line(line)
                if ev is not None:
                    return ev
                continue
            body = self._decode()
            if body:
                self._text += self._utf8.decode(body)
                continue
            if self.ended:
                return None
            self._recv(deadline)

    def _line(self, line: str) -> SseEvent | None:
        p = self._pending
        if line == "":
            self._pending = {"id": p["id"], "event": "", "data": []}
            if not p["data"]:
                return None
            if p["id"] is not None:
                self.last_event_id = p["id"]
            return SseEvent(p["id"], p["event"] or "message", "\n".join(p["data"]),
                            time.monotonic())
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            p["data"].append(value)
        elif name == "event":
            p["event"] = value
        elif name == "id" and "\0" not in value:
            p["id"] = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def take(self, n: int, timeout: float = 10.0) -> list[SseEvent]:
        """Exactly `n` more events within `timeout` seconds in total (AssertionError otherwise)."""
        deadline = time.monotonic() + timeout
        out: list[SseEvent] = []
        while len(out) < n:
            try:
                ev = self.next(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise AssertionError(f"got {len(out)} of {n} events within {timeout}s: {out}")
            assert ev is not None, f"stream ended after {len(out)} of {n} events: {out}"
            out.append(ev)
        return out

    def quiet(self, seconds: float) -> list[SseEvent]:
        """The events that arrive within `seconds` (for "nothing else comes")."""
        deadline = time.monotonic() + seconds
        out: list[SseEvent] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            try:
                ev = self.next(remaining)
            except TimeoutError:
                return out
            if ev is None:
                return out
            out.append(ev)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> "SseStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
_METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _METRIC_RE.match(line)
        assert m, f"unparseable metrics line: {line!r}"
        labels = dict(_LABEL_RE.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_value(samples, name: str, **labels) -> float:
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == val for k, val in labels.items()))


def wait_until(pred: Callable[[], bool], timeout: float = 5.0, interval: float = 0.05,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
