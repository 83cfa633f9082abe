#!/usr/bin/env python3
"""Submit latency while the server prunes 1,000,000 old jobs (issue 18), on SQLite.

How the store is filled: TEMPLATES finished jobs are made through the API (submit, running,
completed), the server is stopped, and the jobs table grows to SIZE rows by cloning those rows in
one INSERT ... SELECT exactly as bench/list_watch/list_p99.py does (its grow(); accepted_at and
updated_at in 2024, so every clone is older than the retention). Only `jobs` rows are cloned: the
clones have no events (the templates have two each), so the prune deletes 1M job rows and ~120
event rows; a store with events deletes more rows per job and prunes slower.

Measured, each on a fresh copy of the filled file:
  baseline: `rtgw serve` without retention, a fixed-rate submit load (RATE/s for SECONDS s,
            WORKERS keep-alive connections), latency of every submit -> p50/p99/max;
  pruning:  `rtgw serve --job-retention-days 30 --job-archive file://DIR` (the runner's first walk
            starts at once), the same load started with it; the prune's duration and jobs/s from
            its log line "retention: pruned jobs", p99 of the submits sent while it ran.

Where the prune's time went: the log line's read/archive/delete/paced seconds (as the pruning
thread waited for each step) and, from /metrics scraped at the prune's start and end, the p99 and
max bucket of the group commits (rtgw_store_commit_seconds) and the WAL checkpoints
(rtgw_store_checkpoint_seconds) during it.

  bench/retention/prune_p99.py [--size 1000000] [--rate 200] [--seconds 30] [--results DIR]
                               [--filled FILE] [--serve-arg=--job-retention-busy-percent=25 ...]
                               [--changes N]
--filled: keep the filled store in FILE and reuse it when it exists (same --size and --changes).
--changes N: the change feed instead of jobs: N change rows of one tenant from 2024 are added to
the filled store, and the pruning server runs `--change-retention 1h` (no job retention); its log
line "retention: pruned changes" ends the measurement.
Env: RTGW_BIN (default build/release/src/app/rtgw).
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "list_watch"))
import list_p99  # noqa: E402
from common import (Rtgw, Store, dump, histogram_quantile, metrics_histogram,  # noqa: E402
                    percentile, token)

TENANT = list_p99.TENANT
TEMPLATES = list_p99.TEMPLATES


def make_templates(srv: Rtgw) -> None:
    c = list_p99.Client(srv.port, TENANT,
                        "runtime:submit runtime:submit_as runtime:read runtime:events")
    for i in range(TEMPLATES):
        job = f"tmpl-{i:03d}"
        status, body = c.call("POST", "/api/runtime/jobs:submit", {
            "tenant_id": TENANT, "workspace_id": f"ws-{i % 10}", "job_id": job,
            "idempotency_key": "k-" + job, "management_node_id": f"node-{i % 5}",
            "execution_profile": {"queue_name": "default"},
            "resource_shape": {"cpu": 1, "memory_mib": 1024, "walltime_seconds": 600},
            "payload_ref": {"input_uri": f"inline://bench/{job}"},
            "requested_by": {"user_id": f"user-{i % 20}"}})
        assert status == 202, (status, body)
        for n, state in enumerate(("running", "completed")):
            status, ev = c.call("POST", f"/api/runtime/jobs/{job}/events", {
                "event_id": f"{job}-e{n}", "tenant_id": TENANT, "workspace_id": f"ws-{i % 10}",
                "job_id": job, "submission_id": body["submission_id"], "execution_id": "x",
                "state": state, "occurred_at": "2024-01-01T00:00:00Z", "trace_id": "t"})
            assert status == 200, (status, ev)


def submit_load(port: int, rate: float, seconds: float, workers: int, tag: str,
                stop: threading.Event | None = None) -> list[tuple[float, float]]:
    """(start time, latency ms) of every submit, RATE/s spread over WORKERS connections."""
    out: list[tuple[float, float]] = []
    lock = threading.Lock()
    headers = {"Authorization": "Bearer " + token("tenant-load", scope="runtime:submit"),
               "Content-Type": "application/json"}
    t0 = time.monotonic()

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        period = workers / rate
        k = 0
        while True:
            due = t0 + w * period / workers + k * period
            if due - t0 > seconds or (stop is not None and stop.is_set()):
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            job = f"{tag}-{w}-{k}"
            body = json.dumps({
                "tenant_id": "tenant-load", "workspace_id": "ws", "job_id": job,
                "idempotency_key": "k-" + job, "management_node_id": "node-1",
                "execution_profile": {"queue_name": "default"},
                "resource_shape": {"cpu": 1, "memory_mib": 1024, "walltime_seconds": 600},
                "payload_ref": {"input_uri": "inline://bench"},
                "requested_by": {"user_id": "bench"}})
            start = time.monotonic()
            conn.request("POST", "/api/runtime/jobs:submit", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            lat = (time.monotonic() - start) * 1000
            assert r.status == 202, (r.status, data)
            with lock:
                out.append((start, lat))
            k += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def summary(lat: list[float]) -> dict:
    s = sorted(lat)
    return {"n": len(s), "p50_ms": round(percentile(s, 50), 2), "p99_ms": round(percentile(s, 99), 2),
            "max_ms": round(s[-1], 2) if s else None}


def p99_by_tenth(samples: list[tuple[float, float]], ended: float) -> list[float]:
    """p99 (ms) of the samples started in each tenth of the time from the first to ENDED (or
    to the last sample)."""
    kept = [(st, x) for st, x in samples if st <= ended]
    if not kept:
        return []
    t0, t1 = min(st for st, _ in kept), max(st for st, _ in kept)
    span = max(t1 - t0, 1e-9)
    tenths: list[list[float]] = [[] for _ in range(10)]
    for st, x in kept:
        tenths[min(9, int((st - t0) / span * 10))].append(x)
    return [summary(t)["p99_ms"] for t in tenths]


class LogTail:
    """The server log's new lines since the last look. The server logs a line per submit (the
    Slurm adapter boundary), ~400 bytes each: re-reading the whole file every 0.5 s took the
    load generator's GIL for tens of ms late in a long prune, and inflated the measured submit
    latencies (they grew with the log, not with the prune)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def find(self, message: str) -> dict | None:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        needle = f'"{message}"'.encode()
        for line in lines:
            if needle in line:
                return json.loads(line)
        return None


def seed_changes(store: Store, rows: int) -> None:
    """ROWS change-feed rows of one tenant from 2024 (older than any retention), each with a
    ~700-byte payload like a job's ProjectionUpdate."""
    store.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
        "INSERT INTO job_changes (tenant_id, seq, job_id, workspace_id, management_node_id,"
        " requested_by, projection_version, payload_json, created_us) "
        "SELECT 'tenant-old', i, printf('oj-%08d', i), 'ws', 'node-1', 'u', 1,"
        " printf('{\"job_id\":\"oj-%08d\",\"pad\":\"%s\"}', i, hex(zeroblob(320))),"
        " 1704067200000000 + i FROM n;"
        f"INSERT INTO job_change_heads (tenant_id, last_seq, pruned_through) "
        f"VALUES ('tenant-old', {rows}, 0);")


def scrape(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def only(text: str, label: str) -> str:
    """The /metrics lines that carry LABEL (e.g. 'thread="writer"')."""
    return "\n".join(line for line in text.splitlines() if label in line)


def histogram_delta(before: str, after: str, name: str, label: str = "") -> dict:
    """Count, p99 and max (upper bucket bounds, ms) of a histogram's samples between two
    scrapes (only the series with LABEL, when given)."""
    if label:
        before, after = only(before, label), only(after, label)
    b, e = metrics_histogram(before, name), metrics_histogram(after, name)
    count = e.get(float("inf"), 0.0) - b.get(float("inf"), 0.0)
    if count <= 0:
        return {"n": 0}
    return {"n": int(count), "p99_le_ms": round(histogram_quantile(b, e, 0.99) * 1000, 2),
            "max_le_ms": round(histogram_quantile(b, e, 1.0) * 1000, 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument("--filled", type=Path, default=None)
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="an extra `rtgw serve` argument of the pruning server")
    ap.add_argument("--changes", type=int, default=0,
                    help="instead of jobs: seed this many old change-feed rows and measure "
                         "the change-feed retention (--change-retention 1h) pruning them")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rtgw-prune-bench-"))
    try:
        store = Store("sqlite", work)
        filled = a.filled or work / "filled.db"
        if not filled.exists():
            srv = Rtgw(store, "fill").start()
            make_templates(srv)
            srv.stop()
            t = time.monotonic()
            list_p99.grow(store, 1, a.size)
            if a.changes:
                seed_changes(store, a.changes)
            print(f"filled {a.size} jobs, {a.changes} changes in {time.monotonic() - t:.1f} s",
                  flush=True)
            con = sqlite3.connect(str(store.path))
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
            shutil.copyfile(store.path, filled)
        else:
            shutil.copyfile(filled, store.path)
        results = {"size": a.size, "changes": a.changes, "rate_per_s": a.rate,
                   "workers": a.workers, "serve_args": a.serve_arg}

        # Baseline: no retention.
        srv = Rtgw(store, "baseline", ["--change-retention", "0"]).start()
        metrics_before = scrape(srv.port)
        lat = submit_load(srv.port, a.rate, a.seconds, a.workers, "base")
        metrics_after = scrape(srv.port)
        srv.stop()
        results["baseline"] = summary([x for _, x in lat])
        results["baseline_p99_by_tenth_ms"] = p99_by_tenth(lat, float("inf"))
        results["baseline_commits"] = histogram_delta(metrics_before, metrics_after,
                                                      "rtgw_store_commit_seconds")
        print("baseline", results["baseline"], flush=True)

        # Pruning: a fresh copy, the runner's first walk starts with the server.
        shutil.copyfile(filled, store.path)
        for suffix in ("-wal", "-shm"):
            Path(str(store.path) + suffix).unlink(missing_ok=True)
        archive = work / "archive"
        archive.mkdir()
        retention = (["--change-retention", "1h"] if a.changes else
                     ["--job-retention-days", "30", "--job-archive", f"file://{archive}",
                      "--job-retention-interval", "7d"])
        message = "retention: pruned changes" if a.changes else "retention: pruned jobs"
        srv = Rtgw(store, "prune", [*retention, *a.serve_arg])
        started = time.monotonic()
        srv.start()
        metrics_before = scrape(srv.port)
        stop = threading.Event()
        samples: list[tuple[float, float]] = []

        def load() -> None:
            samples.extend(submit_load(srv.port, a.rate, 3600, a.workers, "prune", stop))

        loader = threading.Thread(target=load)
        loader.start()
        log = None
        tail = LogTail(work / "prune.log")
        scrapes: list[tuple[float, str]] = [(time.monotonic(), metrics_before)]
        while log is None and time.monotonic() - started < 3600:
            time.sleep(0.5)
            log = tail.find(message)
            if time.monotonic() - scrapes[-1][0] >= 10:
                scrapes.append((time.monotonic(), scrape(srv.port)))
        ended = time.monotonic()
        metrics_after = scrape(srv.port)
        stop.set()
        loader.join()
        srv.stop()
        results["commits_during"] = histogram_delta(metrics_before, metrics_after,
                                                    "rtgw_store_commit_seconds")
        # The writer thread's own catch-up copies (they hold up the group commit) apart from
        # the background thread's passive checkpoints (storage/sqlite/wal_checkpointer.hpp).
        for thread in ("writer", "background"):
            results[f"checkpoints_during_{thread}"] = histogram_delta(
                metrics_before, metrics_after, "rtgw_store_checkpoint_seconds",
                f'thread="{thread}"')
        # Every 10 s window: the submits' p99, and the commits and checkpoints in it.
        scrapes.append((ended, metrics_after))
        windows = []
        for (t0, m0), (t1, m1) in zip(scrapes, scrapes[1:]):
            sub = [x for st, x in samples if t0 <= st < t1]
            windows.append({
                "t_s": round(t1 - started, 1), "submits_p99_ms": summary(sub)["p99_ms"],
                "commits": histogram_delta(m0, m1, "rtgw_store_commit_seconds"),
                "writer_checkpoints": histogram_delta(m0, m1, "rtgw_store_checkpoint_seconds",
                                                      'thread="writer"'),
                "background_checkpoints": histogram_delta(
                    m0, m1, "rtgw_store_checkpoint_seconds", 'thread="background"'),
                # The server's own time for a submit (handler in to response out).
                "server_submits": histogram_delta(
                    m0, m1, "rtgw_http_request_duration_seconds",
                    'route="/api/runtime/jobs:submit"')})
        results["windows"] = windows
        during = [x for s, x in samples if s <= ended]
        results["pruning"] = summary(during)
        # Does the tail grow as the walk goes on? p99 per tenth of the prune.
        results["pruning_p99_by_tenth_ms"] = p99_by_tenth(samples, ended)
        if log is not None and a.changes:
            results["prune"] = {"rows": log["rows"], "seconds": round(log["seconds"], 1),
                                "rows_per_s": round(log["rows"] / log["seconds"])}
        elif log is not None:
            results["prune"] = {"jobs": log["jobs"], "events": log["events"],
                                "batches": log["batches"], "seconds": round(log["seconds"], 1),
                                "jobs_per_s": round(log["jobs"] / log["seconds"])}
            for k in ("read_seconds", "archive_seconds", "delete_seconds",
                      "longest_delete_seconds", "paced_seconds"):
                if k in log:
                    results["prune"][k] = round(log[k], 3)
        archived = sum(1 for f in archive.iterdir() for _ in f.open())
        results["archive_lines"] = archived
        print(json.dumps(results, indent=2), flush=True)
        if a.results:
            a.results.mkdir(parents=True, exist_ok=True)
            dump(a.results / "prune_p99.json", results)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
