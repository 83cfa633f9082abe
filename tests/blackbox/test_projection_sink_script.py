"""The README's relay walk-through, run as written: scripts/projection-sink.py started as its own
process with the command in README.md ("Relay job status to the product database"), a real
`rtgw serve --dev` with that section's relay options pointed at it, a job submitted and reported
running and completed, and the sink's printed lines and --log file showing the signed updates
arriving in order. Then the receiver rules of the running sink, on deliveries signed here:
duplicate, stale, bad signature, old timestamp, bad body.
"""
from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import jwt

from conftest import (REPO_ROOT, Api, clean_env, event_body, free_port, submit_body,
                      wait_until)
from projection_sink import key_from_secret, sign

SECTION = "## Relay job status to the product database"
LINE_RE = re.compile(r"^(applied|duplicate|stale|rejected)\s+(.*)$")


def readme_commands() -> list[list[str]]:
    """Every command of the section's ```sh blocks, continuation lines joined, comments cut."""
    text = (REPO_ROOT / "README.md").read_text()
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    out = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in re.sub(r"\\\n", " ", block).splitlines():
            try:
                argv = shlex.split(line, comments=True)
            except ValueError:  # a line inside a multi-line quoted JSON body
                continue
            if argv:
                out.append(argv)
    return out


def readme_command(pred, what: str) -> list[str]:
    found = [c for c in readme_commands() if pred(c)]
    assert len(found) == 1, f"README relay section: expected one {what} command, got {found}"
    return found[0]


def option(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


class SinkProcess:
    """scripts/projection-sink.py as a child process; its stdout collected line by line."""

    def __init__(self, argv: list[str], workdir: Path):
        self.stderr_path = workdir / "sink.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, env=clean_env(),
                                         start_new_session=True)
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def output(self) -> list[str]:
        with self.lock:
            return list(self.lines)

    def records(self) -> list[tuple[str, dict]]:
        """(verdict, {key: value}) per update line; `rejected` lines keep their text."""
        out = []
        for line in self.output():
            m = LINE_RE.match(line)
            if m:
                fields = dict(kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)
                fields["_line"] = line
                out.append((m.group(1), fields))
        return out

    def wait_records(self, pred, count: int, what: str, timeout: float = 20.0) -> list:
        wait_until(lambda: len([r for r in self.records() if pred(r)]) >= count, timeout,
                   what=f"{what}; sink output:\n" + "\n".join(self.output()) +
                   f"\nsink stderr: {self.stderr_path.read_text()}")
        return [r for r in self.records() if pred(r)]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reader.join(timeout=5)
        return self.proc.returncode


def test_readme_relay_walkthrough_sink_receives_signed_updates_in_order(server_factory,
                                                                        tmp_path):
    # 1. The sink, started as the README says (its port and a --log file made ours).
    sink_cmd = readme_command(lambda c: c[:2] == ["python3", "scripts/projection-sink.py"],
                              "projection sink")
    secret = option(sink_cmd, "--secret")
    port = free_port()
    log = tmp_path / "sink.jsonl"
    argv = [sys.executable, *sink_cmd[1:]]
    argv[argv.index("--port") + 1] = str(port)
    argv += ["--log", str(log)]
    sink = SinkProcess(argv, tmp_path)
    try:
        wait_until(lambda: any("listening on http://127.0.0.1:" in l for l in sink.output()),
                   10, what="the sink's listening line")

        # 2. rtgw serve --dev with the README's relay options, the URL's port made ours.
        serve_cmd = readme_command(lambda c: c[0].endswith("/rtgw") and c[1:2] == ["serve"],
                                   "rtgw serve")
        url = option(serve_cmd, "--projection-url")
        assert url.startswith("http://127.0.0.1:9000/"), f"README points the relay at {url}"
        assert option(serve_cmd, "--projection-secret") == secret
        args = serve_cmd[2:]
        args[args.index("--projection-url") + 1] = url.replace(":9000/", f":{port}/", 1)
        assert "--dev" in args
        srv = server_factory(*args, secret=None)
        wait_until(lambda: "export TOKEN=" in srv.stderr_text(), 5, what="--dev's TOKEN line")
        token = re.search(r"export TOKEN=(\S+)", srv.stderr_text()).group(1)

        # 3. A job through submit -> running -> completed, as the dev tenant.
        api = Api(srv, tenant="dev-tenant", token=token)
        # requested_by.user_id is the --dev token's sub (the README's "dev-user").
        user = jwt.decode(token, options={"verify_signature": False})["sub"]
        body = submit_body("dev-tenant", requested_by={"user_id": user})
        job = body["job_id"]
        sub = api.submit_ok(body)
        applied = sink.wait_records(lambda r: r[0] == "applied" and r[1]["job"] == job, 1,
                                    "the submit's update")
        assert applied[0][1]["projection_version"] == "1"
        for state in ("running", "completed"):
            extra = {"result_ref": {"output_uri": f"file:///out/{job}"}} \
                if state == "completed" else {}
            ev = event_body("dev-tenant", job, sub["submission_id"], state,
                            event_id=f"evt-{state}-{job}", **extra)
            api.event_ok(job, ev)
        api.event_ok(job, event_body("dev-tenant", job, sub["submission_id"], "running",
                                     event_id=f"evt-running-{job}"), idempotent=True)
        applied = sink.wait_records(lambda r: r[0] == "applied" and r[1]["job"] == job, 3,
                                    "three applied updates")
        time.sleep(0.3)  # a replayed event changes nothing, so nothing more may arrive

        # 4. What the sink printed: signed updates, in version order, each once.
        records = sink.records()
        assert [v for v, _ in records] == ["applied"] * 3, sink.output()
        got = [f for _, f in records]
        assert [f["projection_version"] for f in got] == ["1", "2", "3"]
        assert [f["status"] for f in got] == ["queued", "running", "finished"]
        assert [f["state"] for f in got] == ["submitted", "running", "completed"]
        assert {f["tenant"] for f in got} == {"dev-tenant"}
        ids = [f["webhook_id"] for f in got]
        assert len(set(ids)) == 3 and all(re.fullmatch(r"pu_[0-9a-f]{32}", i) for i in ids), ids
        # ... and what it logged: the update bodies it applied, one JSON line each.
        logged = [json.loads(l) for l in log.read_text().splitlines()]
        assert [(u["job_id"], u["projection_version"], u["status"]) for u in logged] == \
            [(job, 1, "queued"), (job, 2, "running"), (job, 3, "finished")]
        assert logged[0]["submission_id"] == sub["submission_id"]
        assert logged[0]["occurred_at"] == sub["accepted_at"]
        assert logged[2]["result_ref"] == {"output_uri": f"file:///out/{job}"}
        assert api.projection_ok(job)["projection_version"] == 3
        relay = srv.client().get("/api/health").json()["checks"]["projection_relay"]
        assert relay["delivered_total"] == 3 and relay["failed_attempts_total"] == 0, relay
        assert relay["sink"] == f"http://127.0.0.1:{port}"

        # 5. The receiver rules, on deliveries signed here with the same secret.
        key = key_from_secret(secret)
        first = json.dumps(logged[0], separators=(",", ":")).encode()

        def deliver(msg_id: str, payload: bytes, *, key: bytes = key, skew: int = 0):
            ts = str(int(time.time()) - skew)
            return httpx.post(f"http://127.0.0.1:{port}/rtgw/projection", content=payload,
                              headers={"content-type": "application/json", "webhook-id": msg_id,
                                       "webhook-timestamp": ts,
                                       "webhook-signature": sign(key, msg_id, ts, payload)},
                              timeout=10)

        assert deliver(ids[0], first).status_code == 200          # redelivery: deduped
        assert deliver("pu_" + "0" * 32, first).status_code == 200  # version 1 < 3: stale
        assert deliver("pu_" + "1" * 32, first, key=b"another key, 16+ bytes").status_code == 401
        assert deliver("pu_" + "2" * 32, first, skew=600).status_code == 401
        assert deliver("pu_" + "3" * 32, b"[]").status_code == 400
        verdicts = sink.wait_records(lambda r: True, 8, "the five hand-made deliveries")
        assert [v for v, _ in verdicts] == ["applied"] * 3 + ["duplicate", "stale"] + \
            ["rejected"] * 3
        assert verdicts[3][1]["webhook_id"] == ids[0]
        assert verdicts[4][1]["have"] == "3"
        assert "rejected  401 signature does not match" in verdicts[5][1]["_line"]
        assert re.search(r"rejected  401 webhook-timestamp is 60\d s off", verdicts[6][1]["_line"])
        assert "rejected  400" in verdicts[7][1]["_line"]
        assert len(log.read_text().splitlines()) == 3  # nothing more was applied
    finally:
        rc = sink.stop()
    assert rc == 0, sink.stderr_path.read_text()
    assert sink.output()[-1] == \
        "projection sink stopped: 3 applied, 1 duplicate, 1 stale, 3 rejected"


def test_projection_sink_script_refuses_bad_secret_and_busy_port(tmp_path):
    script = str(REPO_ROOT / "scripts" / "projection-sink.py")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, script, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=20, env=clean_env())

    p = run("--secret", "whsec_not*base64")
    assert p.returncode == 2 and "--secret" in p.stderr and "base64" in p.stderr
    p = run("--secret", "short")
    assert p.returncode == 2 and "at least 16 bytes" in p.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        p = run("--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--port",
                str(busy.getsockname()[1]))
    assert p.returncode == 1 and "cannot listen on 127.0.0.1:" in p.stderr, p.stderr
