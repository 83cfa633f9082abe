"""A product sink for ProjectionUpdates: a real HTTP receiver on 127.0.0.1.

It verifies every Standard Webhooks signature (webhook-id, webhook-timestamp,
webhook-signature = v1,base64(HMAC-SHA256(key, "<id>.<ts>.<body>"))), dedupes on
webhook-id, applies an update only when its projection_version is above the job's
last applied one (the receiver's half of "never backwards"), and records both what
it applied and anything out of order. A `behaviour(n, update)` callable chooses the
answer to the n-th request: an int status, "timeout" (hold the request for
`hold_s`), or "drop" (close the connection without an answer).

The log it can write (one applied update per line, JSON) is the `--sink-log` format of
`rtgw conformance`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


def key_from_secret(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode()


def sign(key: bytes, msg_id: str, ts: str, body: bytes) -> str:
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class ProjectionSink:
    def __init__(self, secret: str, behaviour: Callable[[int, dict], object] | None = None,
                 hold_s: float = 3.0, port: int = 0):
        self.key = key_from_secret(secret)
        self.behaviour = behaviour or (lambda n, u: 200)
        self.hold_s = hold_s
        self.lock = threading.Lock()
        self.requests = 0
        self.bad_signatures = 0
        self.seen_ids: set[str] = set()
        self.duplicates = 0            # deliveries of a webhook-id already applied
        self.applied: list[dict] = []  # in arrival order
        self.last_version: dict[tuple[str, str], int] = {}
        self.regressions: list[tuple[str, str, int, int]] = []  # (tenant, job, got, had)
        self.received_at: dict[str, float] = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                msg_id = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                sig = self.headers.get("webhook-signature", "")
                if not hmac.compare_digest(sig, sign(sink.key, msg_id, ts, body)) or \
                        abs(time.time() - int(ts or 0)) > 300:
                    with sink.lock:
                        sink.bad_signatures += 1
                    return self._answer(401)
                update = json.loads(body)
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
                    return self._answer(504)
                if not (200 <= int(decision) < 300):
                    return self._answer(int(decision))
                sink._apply(msg_id, update)
                return self._answer(int(decision))

            def _answer(self, status: int):
                payload = b'{"ok":true}' if status < 300 else b'{"error":"sink says no"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _apply(self, msg_id: str, update: dict) -> None:
        with self.lock:
            if msg_id in self.seen_ids:
                self.duplicates += 1
                return
            self.seen_ids.add(msg_id)
            key = (update["tenant_id"], update["job_id"])
            had = self.last_version.get(key, 0)
            if update["projection_version"] <= had:
                self.regressions.append((key[0], key[1], update["projection_version"], had))
                return
            self.last_version[key] = update["projection_version"]
            self.applied.append(update)
            self.received_at[msg_id] = time.time()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/projection"

    def start(self) -> "ProjectionSink":
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

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

    def write_log(self, path) -> None:
        with self.lock, open(path, "w") as f:
            for u in self.applied:
                f.write(json.dumps(u, separators=(",", ":")) + "\n")
