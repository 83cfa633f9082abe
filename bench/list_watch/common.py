"""Shared pieces of the list/watch benches: an `rtgw serve` process on SQLite or a PostgreSQL
schema, tokens, store access and the server's CPU/RSS from /proc. Every wait is bounded; every
process started is stopped by PID."""
from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parents[2]
RTGW_BIN = os.environ.get("RTGW_BIN", str(ROOT / "build/release/src/app/rtgw"))
PG_DSN = os.environ.get("PG_DSN", "postgresql://rtgw_pg:rtgw_pg@127.0.0.1:5432/rtgw_pg")
SECRET = "bench-secret-" + uuid.uuid4().hex  # >= 32 bytes


def token(tenant: str, sub: str = "bench", scope: str | None = None, ttl_s: int = 7200) -> str:
    now = int(time.time())
    claims = {"tenant_id": tenant, "sub": sub, "iat": now, "exp": now + ttl_s}
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, SECRET, algorithm="HS256")


def psql(sql: str, dsn: str = PG_DSN, timeout: float = 3600) -> str:
    res = subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise RuntimeError(f"psql: {res.stderr.strip()}\n{sql[:500]}")
    return res.stdout


class Store:
    """A fresh store: a SQLite file in `workdir`, or a new schema of PG_DSN (dropped by drop())."""

    def __init__(self, backend: str, workdir: Path):
        self.backend = backend
        self.workdir = workdir
        if backend == "sqlite":
            self.path = workdir / "rtgw.db"
            self.url = "sqlite://" + str(self.path)
        elif backend == "postgresql":
            self.schema = "bench_" + uuid.uuid4().hex[:10]
            psql(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in PG_DSN else "?"
            self.url = f"{PG_DSN}{sep}options=" + urllib.parse.quote(f"-csearch_path={self.schema}")
        else:
            raise ValueError(f"backend {backend!r}: sqlite or postgresql")

    def query(self, sql: str) -> list[tuple]:
        """Rows of a read-only query (PostgreSQL: columns split on '|', all text)."""
        if self.backend == "sqlite":
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                return list(con.execute(sql))
            finally:
                con.close()
        out = psql(f"SET search_path TO {self.schema}; {sql}")
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def execute(self, sql: str) -> None:
        """Runs a write script on the store (the server must be stopped for SQLite)."""
        if self.backend == "sqlite":
            con = sqlite3.connect(str(self.path), timeout=30)
            try:
                con.executescript(sql)
            finally:
                con.close()
        else:
            psql(f"SET search_path TO {self.schema}; {sql}")

    def drop(self) -> None:
        if self.backend == "postgresql":
            psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


class Rtgw:
    """One `rtgw serve` on 127.0.0.1:<ephemeral> (access log off)."""

    def __init__(self, store: Store, name: str, args: list[str] | None = None):
        self.store = store
        self.name = name
        self.args = list(args or [])
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> "Rtgw":
        port_file = self.store.workdir / f"{self.name}.port"
        port_file.unlink(missing_ok=True)
        cmd = [RTGW_BIN, "serve", "--listen", "127.0.0.1:0", "--port-file", str(port_file),
               "--database-url", self.store.url, "--jwt-hs256-secret", SECRET,
               "--access-log", "off", *self.args]
        if self.store.backend == "postgresql":
            cmd += ["--migrate", "on"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RTGW_")}
        log = open(self.store.workdir / f"{self.name}.log", "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rtgw exited {self.proc.returncode}: see {log.name}")
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit() and int(text) > 0:
                self.port = int(text)
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rtgw did not start within {timeout}s")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """utime + stime of the process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MiB."""
        vals = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0]) / 1024
        return vals["VmRSS"], vals["VmHWM"]


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)  # nearest rank
    return sorted_values[min(k, len(sorted_values) - 1)]


def metrics_histogram(text: str, name: str) -> dict[float, float]:
    """le -> cumulative count of a Prometheus histogram in /metrics text (labels other than le
    summed)."""
    out: dict[float, float] = {}
    for line in text.splitlines():
        if not line.startswith(name + "_bucket"):
            continue
        labels, _, value = line.rpartition(" ")
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        key = float("inf") if le == "+Inf" else float(le)
        out[key] = out.get(key, 0.0) + float(value)
    return out


def histogram_quantile(before: dict, after: dict, q: float) -> float:
    """The q-quantile (upper bucket bound, seconds) of the samples added between two scrapes."""
    les = sorted(after)
    delta = [(le, after[le] - before.get(le, 0.0)) for le in les]
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return float("nan")
    for le, c in delta:
        if c >= q * total:
            return le
    return float("inf")


def dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")
