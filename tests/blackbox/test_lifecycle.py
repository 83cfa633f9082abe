"""Process lifecycle: SIGTERM drains and exits cleanly, bad configuration refuses to start,
one process per SQLite file."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time

import httpx
import pytest

from conftest import Api, SECRET, clean_env, make_token, submit_body, uid


def _run_serve(rtgw_bin: str, tmp_path, *args: str, env: dict | None = None,
               timeout: float = 15) -> subprocess.CompletedProcess:
    cmd = [rtgw_bin, "serve", "--listen", "127.0.0.1:0",
           "--database-url", "sqlite://" + str(tmp_path / "refused.db"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=clean_env(env or {}), cwd=str(tmp_path))


@pytest.mark.slow
def test_sigterm_drains_in_flight_writes_and_exits_zero(server_factory):
    srv = server_factory()
    tenant = uid("tenant")
    headers = {"authorization": "Bearer " + make_token(tenant, exp_in=3600),
               "content-type": "application/json"}
    acked: list[dict] = []
    refused: list[int] = []
    unexpected: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(n: int) -> None:
        with httpx.Client(base_url=srv.base_url, timeout=10) as c:
            while not stop.is_set():
                body = submit_body(tenant, job_id=uid(f"drain{n}"))
                try:
                    r = c.post("/api/runtime/jobs:submit", content=json.dumps(body),
                               headers=headers)
                except httpx.TransportError:
                    return  # the listener closed: expected once draining began
                with lock:
                    if r.status_code == 202:
                        acked.append(body)
                    elif r.status_code == 503 and r.json()["error"]["code"] in {
                            "draining", "unavailable"}:
                        # An assert here would die with the thread unnoticed: record instead.
                        refused.append(r.status_code)
                    else:
                        unexpected.append(f"{r.status_code} {r.text[:200]}")
                if r.status_code != 202:
                    return

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 200, f"only {len(acked)} submits acknowledged before SIGTERM"
    rc = srv.stop(signal.SIGTERM, timeout=20)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert rc == 0, f"exit code {rc} after SIGTERM; stderr tail:\n{srv.stderr_text()[-2000:]}"
    assert not unexpected, unexpected[:5]
    messages = [rec.get("msg") for rec in srv.logs()]
    assert any(m and "drain" in m for m in messages), messages[-10:]

    # Every acknowledged submit is there after a restart on the same file.
    srv.start()
    api = Api(srv, tenant)
    snapshot = list(acked)
    for body in snapshot:
        r = api.job(body["job_id"])
        assert r.status_code == 200, (body["job_id"], r.status_code, r.text)


@pytest.mark.parametrize("args,env,needle", [
    (["--listen", "nowhere"], {}, "listen"),
    (["--log-format", "yaml"], {}, "log-format"),
    (["--sqlite-synchronous", "OFF"], {}, "sqlite-synchronous"),
    (["--sqlite-wal-autocheckpoint", "-1"], {}, "sqlite-wal-autocheckpoint"),
    (["--sqlite-page-size", "3000"], {}, "sqlite-page-size"),
    (["--sqlite-page-size", "256"], {}, "sqlite-page-size"),
    (["--max-body-bytes", "-5"], {}, "max-body-bytes"),
    (["--job-cache-entries", "many"], {}, "job-cache-entries"),
    (["--jwt-hs256-secret", SECRET, "--database-url", "mysql://x"], {}, "database-url"),
    ([], {"RTGW_LOG_FORMAT": "xml"}, "RTGW_LOG_FORMAT"),
    (["--no-such-flag"], {}, "no-such-flag"),
])
def test_bad_configuration_refuses_to_start(rtgw_bin, tmp_path, args, env, needle):
    all_args = list(args)
    if "--jwt-hs256-secret" not in all_args:
        all_args += ["--jwt-hs256-secret", SECRET]
    res = _run_serve(rtgw_bin, tmp_path, *all_args, env=env)
    assert res.returncode != 0, res
    assert needle in res.stderr, res.stderr


def test_no_verification_key_refuses_to_start(rtgw_bin, tmp_path):
    res = _run_serve(rtgw_bin, tmp_path)
    assert res.returncode != 0
    assert "RTGW_JWT_HS256_SECRET" in res.stderr or "jwks" in res.stderr.lower(), res.stderr


@pytest.mark.sqlite_only("one process per SQLite file (flock); PostgreSQL takes replicas, "
                        "see test_postgres_replicas.py")
def test_second_server_on_same_database_is_refused(server_factory, rtgw_bin):
    first = server_factory()
    res = subprocess.run(
        [rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--database-url", first.database_url,
         "--jwt-hs256-secret", SECRET],
        capture_output=True, text=True, timeout=15, env=clean_env({}))
    assert res.returncode != 0, res
    assert "in use by another rtgw process" in res.stderr, res.stderr
    # The first one is unaffected.
    with first.client() as c:
        assert c.get("/api/health").status_code == 200


def _page_size(db_path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as con:
        return con.execute("PRAGMA page_size").fetchone()[0]


@pytest.mark.sqlite_only("PRAGMA page_size is a SQLite file property")
def test_sqlite_page_size_applies_to_new_files_and_existing_files_keep_theirs(server_factory):
    # Default: a new file gets 2 KiB pages (storage-schema.md "Cost on the write path").
    fresh = server_factory()
    api = Api(fresh)
    assert api.submit(submit_body(api.tenant)).status_code == 202
    assert _page_size(fresh.db_path) == 2048
    # A file made with 4 KiB pages keeps them under the default flag, and works.
    made4k = server_factory("--sqlite-page-size", "4096")
    made4k.stop()
    assert _page_size(made4k.db_path) == 4096
    reopened = server_factory(db_path=made4k.db_path)
    api = Api(reopened)
    body = submit_body(api.tenant)
    assert api.submit(body).status_code == 202
    assert api.job(body["job_id"]).status_code == 200
    assert _page_size(made4k.db_path) == 4096


def test_short_hs256_secret_refuses_to_start_unless_allowed(rtgw_bin, tmp_path):
    weak = "x" * 31
    res = _run_serve(rtgw_bin, tmp_path, env={"RTGW_JWT_HS256_SECRET": weak})
    assert res.returncode == 2, res
    assert "RTGW_JWT_HS256_SECRET" in res.stderr and "at least 32" in res.stderr, res.stderr
    assert weak not in res.stderr, "the secret is never echoed"
    assert not (tmp_path / "refused.db").exists(), "nothing created"
    # Explicitly allowed (tests): it starts. Stopped with SIGTERM once it listens.
    port_file = tmp_path / "port"
    p = subprocess.Popen([rtgw_bin, "serve", "--listen", "127.0.0.1:0", "--port-file",
                          str(port_file), "--allow-weak-secret", "--database-url",
                          "sqlite://" + str(tmp_path / "weak.db")],
                         env=clean_env({"RTGW_JWT_HS256_SECRET": weak}), cwd=str(tmp_path),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_file.exists(), p.stderr.read() if p.poll() is not None else "no port file"
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)


def _busy_port() -> tuple["socket.socket", int]:
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


@pytest.mark.parametrize("case", ["busy-port", "bad-database", "bad-validators-file",
                                  "bad-policy-file"])
def test_dev_start_that_fails_prints_no_token_and_creates_nothing(rtgw_bin, tmp_path, case):
    """--dev checks every setting and binds the port before it creates the database or prints
    export lines: a failed start leaves no rtgw.db behind and no token for a server that is not
    there."""
    work = tmp_path / "cwd"
    work.mkdir()
    holder, port = _busy_port()
    args = [rtgw_bin, "serve", "--dev"]
    env: dict = {}
    try:
        if case == "busy-port":
            args += ["--listen", f"127.0.0.1:{port}"]
            needle = "127.0.0.1"
        elif case == "bad-database":
            args += ["--listen", "127.0.0.1:0", "--database-url",
                     "sqlite://" + str(work / "no-such-dir" / "rtgw.db")]
            needle = "cannot open"
        elif case == "bad-validators-file":
            (work / "validators.json").write_text('{"validators": [{"name": "x"}]}')
            args += ["--listen", "127.0.0.1:0"]
            env = {"RTGW_VALIDATORS_FILE": str(work / "validators.json"),
                   "MEDIA_ROOT": str(work / "media")}
            needle = "RTGW_VALIDATORS_FILE"
        else:
            (work / "policy.json").write_text('{"queues": 7}')
            args += ["--listen", "127.0.0.1:0"]
            env = {"ZPE_SLURM_ADAPTER": "stub-policy",
                   "RTGW_QUEUE_POLICY_FILE": str(work / "policy.json")}
            needle = "polic"
        res = subprocess.run(args, capture_output=True, text=True, timeout=20,
                             env=clean_env(env), cwd=str(work))
    finally:
        holder.close()
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert needle in res.stderr, res.stderr
    assert "export TOKEN" not in res.stderr and "RTGW_JWT_HS256_SECRET=" not in res.stderr
    assert "rtgw serving" not in res.stderr
    if case.endswith("-file"):
        assert '"listening"' not in res.stderr, "a bad file is reported before the port is bound"
    assert sorted(p.name for p in work.iterdir()) == sorted(
        p.name for p in work.iterdir() if p.suffix == ".json"), list(work.iterdir())
