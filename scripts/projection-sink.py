#!/usr/bin/env python3
"""A local product sink for rtgw's ProjectionUpdates (docs/contracts/projection-update.md).

    python3 scripts/projection-sink.py --secret whsec_... [--port 9000] [--log FILE]

It stands in for the product database on loopback, so the relay can be tried without one:
rtgw serve --projection-url http://127.0.0.1:9000/rtgw/projection --projection-secret whsec_...
It accepts POSTs on any path and follows the receiver rules of the contract:

1. verifies the Standard Webhooks signature: webhook-signature holds `v1,<base64>` entries
   (space-separated) of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"), where the
   key is the base64 after `whsec_` (any other secret is used as the key bytes), compared in
   constant time; webhook-timestamp must be within --tolerance seconds (300) of now;
2. dedupes on webhook-id;
3. applies an update only when its projection_version is above the one it holds for that
   (tenant_id, job_id);
4. answers 200 when applied, when a duplicate and when stale (nothing to retry), 401 for a bad
   signature or timestamp, 400 for a body that is not a ProjectionUpdate, so the relay retries
   only what failed.

It prints one line per request (applied / duplicate / stale / rejected) and, with --log FILE,
appends every applied update to FILE as one JSON line: the `--sink-log` format of
`rtgw conformance`. Only the Python standard library; Ctrl-C (or SIGTERM) stops it.

The black-box tests use the same class (tests/blackbox/projection_sink.py loads this file):
there a `behaviour(n, update)` callable chooses the answer to the n-th verified request: an int
status, "timeout" (hold the request for `hold_s`, then 504) or "drop" (close the connection
without an answer).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TextIO

MAX_BODY = 1 << 20
DEFAULT_TOLERANCE_S = 300


def key_from_secret(secret: str) -> bytes:
    """The HMAC key of a secret: base64 after `whsec_` (Standard Webhooks), else the bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except binascii.Error as e:
            raise ValueError(f"the part after whsec_ is not base64 ({e})") from None
    return secret.encode()


def sign(key: bytes, msg_id: str, ts: str, body: bytes) -> str:
    """The `webhook-signature` value rtgw sends: v1,base64(HMAC-SHA256(key, id.ts.body))."""
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(key: bytes, msg_id: str, ts: str, sig_header: str, body: bytes, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> str:
    """"" when the delivery is authentic and fresh, else why not."""
    if not msg_id or not ts or not sig_header:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not (ts.isascii() and ts.isdigit()):
        return f"webhook-timestamp {ts[:20]!r} is not Unix seconds"
    if abs(now - int(ts)) > tolerance_s:
        return f"webhook-timestamp is {int(now - int(ts))} s off (tolerance {int(tolerance_s)} s)"
    expected = sign(key, msg_id, ts, body)
    # Constant-time compare against every v1 entry (a sender may list several while rotating).
    if not any(hmac.compare_digest(entry.encode(), expected.encode())
               for entry in sig_header.split(" ") if entry.startswith("v1,")):
        return "signature does not match (wrong secret, or body changed)"
    return ""


def parse_update(body: bytes) -> dict | None:
    try:
        update = json.loads(body)
    except ValueError:
        return None
    if not isinstance(update, dict):
        return None
    if not all(isinstance(update.get(k), str) for k in ("tenant_id", "job_id", "status")):
        return None
    v = update.get("projection_version")
    if not isinstance(v, int) or isinstance(v, bool):
        return None
    return update


class ProjectionSink:
    """The receiver: a ThreadingHTTPServer on host:port (0 picks a free port).

    Records what it applied (`applied`, in arrival order), `duplicates`, `regressions`
    (stale updates: tenant, job, got, had), `bad_signatures` and `rejected` (bad body).
    `echo` (a text stream) gets one line per request; `log_path` gets every applied update
    as a JSON line."""

    def __init__(self, secret: str, behaviour: Callable[[int, dict], object] | None = None,
                 hold_s: float = 3.0, port: int = 0, host: str = "127.0.0.1",
                 tolerance_s: float = DEFAULT_TOLERANCE_S, echo: TextIO | None = None,
                 log_path: str | None = None):
        self.key = key_from_secret(secret)
        self.behaviour = behaviour or (lambda n, u: 200)
        self.hold_s = hold_s
        self.tolerance_s = tolerance_s
        self.echo = echo
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.lock = threading.Lock()
        self.requests = 0              # verified requests (the n of behaviour)
        self.bad_signatures = 0
        self.rejected = 0              # verified, but the body is not a ProjectionUpdate
        self.seen_ids: set[str] = set()
        self.duplicates = 0            # deliveries of a webhook-id already taken
        self.applied: list[dict] = []  # in arrival order
        self.last_version: dict[tuple[str, str], int] = {}
        self.regressions: list[tuple[str, str, int, int]] = []  # (tenant, job, got, had)
        self.received_at: dict[str, float] = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # one line per request comes from _say instead
                pass

            def do_GET(self):
                self._answer(405, "POST ProjectionUpdates here")

            def do_POST(self):
                length = self.headers.get("content-length")
                if length is None or not length.isdigit():
                    self.close_connection = True
                    return self._answer(411, "content-length required")
                if int(length) > MAX_BODY:
                    self.close_connection = True
                    return self._answer(413, "body too large")
                body = self.rfile.read(int(length))
                msg_id = self.headers.get("webhook-id", "")
                why = verify(sink.key, msg_id, self.headers.get("webhook-timestamp", ""),
                             self.headers.get("webhook-signature", ""), body, time.time(),
                             sink.tolerance_s)
                if why:
                    with sink.lock:
                        sink.bad_signatures += 1
                        sink._say(f"rejected  401 {why} webhook_id={msg_id or '-'}")
                    return self._answer(401, why)
                update = parse_update(body)
                if update is None:
                    with sink.lock:
                        sink.rejected += 1
                        sink._say(f"rejected  400 body is not a ProjectionUpdate "
                                  f"webhook_id={msg_id}")
                    return self._answer(400, "body is not a ProjectionUpdate")
                with sink.lock:
                    n = sink.requests
                    sink.requests += 1
                decision = sink.behaviour(n, update)
                if decision == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if decision == "timeout":
                    time.sleep(sink.hold_s)
                    return self._answer(504, "held")
                if not (200 <= int(decision) < 300):
                    return self._answer(int(decision), "sink says no")
                sink._apply(msg_id, update)
                return self._answer(int(decision))

            def _answer(self, status: int, error: str = ""):
                payload = (b'{"ok":true}' if status < 300
                           else json.dumps({"error": error}).encode())
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _say(self, line: str) -> None:  # under self.lock
        if self.echo is not None:
            print(line, file=self.echo, flush=True)

    def _apply(self, msg_id: str, update: dict) -> None:
        with self.lock:
            what = (f"tenant={update['tenant_id']} job={update['job_id']} "
                    f"projection_version={update['projection_version']} "
                    f"status={update['status']} state={update.get('state', '')} "
                    f"webhook_id={msg_id}")
            if msg_id in self.seen_ids:
                self.duplicates += 1
                self._say("duplicate " + what)
                return
            self.seen_ids.add(msg_id)
            key = (update["tenant_id"], update["job_id"])
            had = self.last_version.get(key, 0)
            if update["projection_version"] <= had:
                self.regressions.append((key[0], key[1], update["projection_version"], had))
                self._say(f"stale     {what} have={had}")
                return
            self.last_version[key] = update["projection_version"]
            self.applied.append(update)
            self.received_at[msg_id] = time.time()
            if self.log is not None:
                self.log.write(json.dumps(update, separators=(",", ":")) + "\n")
                self.log.flush()
            self._say("applied   " + what)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/projection"

    def start(self) -> "ProjectionSink":
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.log is not None:
            self.log.close()

    def summary(self) -> str:
        with self.lock:
            return (f"{len(self.applied)} applied, {self.duplicates} duplicate, "
                    f"{len(self.regressions)} stale, {self.bad_signatures + self.rejected} "
                    f"rejected")

    def applied_for(self, tenant: str, job_id: str) -> list[dict]:
        with self.lock:
            return [u for u in self.applied if u["tenant_id"] == tenant and u["job_id"] == job_id]

    def wait_applied(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.applied) >= count:
                    return True
            time.sleep(0.02)
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="projection-sink.py",
        description="A local receiver for rtgw's signed ProjectionUpdates: verifies, dedupes, "
                    "applies in projection_version order and prints one line per update.")
    p.add_argument("--secret", required=True,
                   help="the relay's --projection-secret (whsec_<base64>, or raw key bytes)")
    p.add_argument("--port", type=int, default=9000, help="port to listen on (default 9000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--log", metavar="FILE",
                   help="append every applied update to FILE as a JSON line "
                        "(the `rtgw conformance --sink-log` format)")
    p.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE_S, metavar="SECONDS",
                   help="accepted webhook-timestamp skew (default 300)")
    a = p.parse_args(argv)
    try:
        key = key_from_secret(a.secret)
    except ValueError as e:
        p.error(f"--secret: {e}")
    if len(key) < 16:
        p.error("--secret: the key must be at least 16 bytes (rtgw refuses shorter ones)")
    try:
        sink = ProjectionSink(a.secret, port=a.port, host=a.host, tolerance_s=a.tolerance,
                              echo=sys.stdout, log_path=a.log)
    except OSError as e:
        print(f"projection-sink: cannot listen on {a.host}:{a.port}: {e.strerror or e}",
              file=sys.stderr)
        return 1

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background (SIGINT ignored)
    print(f"projection sink listening on http://{a.host}:{sink.port} (POST on any path)"
          + (f", applied updates -> {a.log}" if a.log else "") + "; Ctrl-C stops it",
          flush=True)
    try:
        sink.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink.server.server_close()
        if sink.log is not None:
            sink.log.close()
    print(f"projection sink stopped: {sink.summary()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
