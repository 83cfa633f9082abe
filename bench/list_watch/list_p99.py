#!/usr/bin/env python3
"""List latency at 10,000 vs 1,000,000 jobs in one tenant (issue 17): a page of 50 with one filter,
measured through HTTP, on SQLite and on PostgreSQL.

How the store is filled: TEMPLATE jobs are made through the API (submits and events of a product
BFF token: 10 workspaces, 5 nodes, 20 users, all six states), so their rows are exactly what the
server writes. The server is then stopped and the jobs table grows to each size by cloning those
rows in one INSERT ... SELECT: every text column with the template's job_id, submission_id and
accepted_at replaced by the clone's (so spec_json and the stored 202 body agree with the row),
accepted_at/updated_at 50 ms apart going back from 2024-01-01 + size*50 ms (older than the
templates). Only `jobs` rows are cloned: the list reads nothing else (the clones have no history
rows and no change rows). PostgreSQL gets ANALYZE after each fill (autovacuum would do it within
a minute); SQLite gets nothing (the server runs no ANALYZE either).

Measured: for each filter, WARMUP requests, then REQS sequential requests of the first page on
one keep-alive connection (http.client), each checked (200, 50 jobs); p50/p99/max in ms. One
deep page too: the 11th page of the workspace filter (a cursor 500 rows in).

  bench/list_watch/list_p99.py [--backends sqlite,postgresql] [--sizes 10000,1000000]
                               [--reqs 1000] [--results DIR]
Env: RTGW_BIN (default build/release/src/app/rtgw), PG_DSN (scripts/services/postgres-up.sh).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Rtgw, Store, dump, percentile, token  # noqa: E402

TENANT = "tenant-list"
TEMPLATES = 60
STATES = [[], ["queued"], ["queued", "running"], ["running", "completed"], ["running", "failed"],
          ["cancelled"]]
FILTERS = {
    "none": {},
    "workspace_id": {"workspace_id": "ws-3"},
    "state": {"state": "running"},
    "state (3 states)": {"state": "completed,failed,cancelled"},
    "management_node_id": {"management_node_id": "node-2"},
    "requested_by": {"requested_by": "user-7"},
}


class Client:
    def __init__(self, port: int, tenant: str, scope: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": "Bearer " + token(tenant, sub="bench", scope=scope),
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        self.conn.request(method, path, body=None if body is None else json.dumps(body),
                          headers=self.headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})


def make_templates(srv: Rtgw) -> None:
    c = Client(srv.port, TENANT, "runtime:submit runtime:submit_as runtime:read runtime:events")
    for i in range(TEMPLATES):
        job = f"tmpl-{i:04d}"
        ws = f"ws-{i % 10}"
        status, sub = c.call("POST", "/api/runtime/jobs:submit", {
            "tenant_id": TENANT, "workspace_id": ws, "job_id": job,
            "idempotency_key": f"submit-{job}", "management_node_id": f"node-{i % 5}",
            "execution_profile": {"queue_name": "default"},
            "resource_shape": {"cpu": 1, "memory_mib": 2048, "walltime_seconds": 3600},
            "payload_ref": {"input_uri": f"inline://bench/{job}"},
            "requested_by": {"user_id": f"user-{i % 20}"}})
        assert status == 202, (status, sub)
        for st in STATES[i % len(STATES)]:
            ev = {"event_id": f"e-{st}-{job}", "tenant_id": TENANT, "workspace_id": ws,
                  "job_id": job, "submission_id": sub["submission_id"], "execution_id": "x",
                  "state": st, "occurred_at": "2026-01-01T00:00:00Z", "trace_id": "t"}
            if st == "completed":
                ev["result_ref"] = {"output_uri": "file:///out"}
            status, body = c.call("POST", f"/api/runtime/jobs/{job}/events", ev)
            assert status == 200, (status, body)


def columns(store: Store) -> list[tuple[str, bool]]:
    """(name, is text) of the jobs table's columns, in order."""
    if store.backend == "sqlite":
        return [(r[1], r[2].upper() == "TEXT") for r in store.query("PRAGMA table_info(jobs)")]
    return [(r[0], r[1] == "text") for r in store.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
        f"'{store.schema}' AND table_name = 'jobs' ORDER BY ordinal_position")]


def grow(store: Store, first: int, last: int) -> None:
    """Adds clones number first..last (inclusive) of the template rows."""
    if first > last:
        return
    cols = columns(store)
    sqlite = store.backend == "sqlite"
    new_id = "printf('bj-%08d', n.i)" if sqlite else "'bj-' || lpad(n.i::text, 8, '0')"
    new_sub = ("'00000000-0000-4000-8000-' || printf('%012d', n.i)" if sqlite
               else "'00000000-0000-4000-8000-' || lpad(n.i::text, 12, '0')")
    # 2024-01-01 plus 50 ms per clone number, as fixed-width RFC 3339 with microseconds.
    ts = ("strftime('%Y-%m-%dT%H:%M:%S', 1704067200 + n.i / 20, 'unixepoch') || "
          "printf('.%06dZ', (n.i % 20) * 50000)" if sqlite else
          "to_char(timestamp '2024-01-01' + n.i * interval '50 milliseconds', "
          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    exprs = []
    for c, is_text in cols:
        if c == "job_id":
            exprs.append(new_id)
        elif c == "submission_id":
            exprs.append(new_sub)
        elif c in ("accepted_at", "updated_at"):
            exprs.append(ts)
        elif is_text and c not in ("tenant_id", "workspace_id", "management_node_id", "state",
                                   "requested_by"):
            # spec_json, the stored 202 body, the idempotency key...: with the clone's ids
            exprs.append(f"replace(replace(replace(t.{c}, t.job_id, {new_id}), "
                         f"t.submission_id, {new_sub}), t.accepted_at, {ts})")
        else:
            exprs.append(f"t.{c}")
    series = (f"WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n "
              f"WHERE i < {last}) " if sqlite else "")
    source = "n" if sqlite else f"generate_series({first}, {last}) AS n(i)"
    tmpl = (f"(SELECT j.*, (row_number() OVER (ORDER BY job_id)) - 1 AS k FROM jobs j "
            f"WHERE tenant_id = '{TENANT}' AND job_id LIKE 'tmpl-%') t")
    names = ", ".join(c for c, _ in cols)
    sql = (f"{series}INSERT INTO jobs ({names}) SELECT {', '.join(exprs)} "
           f"FROM {source} JOIN {tmpl} ON t.k = n.i % {TEMPLATES}")
    store.execute(sql + ";" + ("" if sqlite else " ANALYZE jobs;"))


def measure(srv: Rtgw, reqs: int, warmup: int) -> dict:
    c = Client(srv.port, TENANT, "runtime:read")
    out = {}

    def run(name: str, query: dict) -> None:
        path = "/api/runtime/jobs?" + urllib.parse.urlencode(dict(query, limit=50))
        times = []
        for k in range(warmup + reqs):
            t0 = time.perf_counter()
            status, doc = c.call("GET", path)
            dt = time.perf_counter() - t0
            assert status == 200 and len(doc["jobs"]) == 50, (name, status, str(doc)[:300])
            if k >= warmup:
                times.append(dt * 1000)
        times.sort()
        out[name] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99),
                     "max_ms": times[-1], "n": len(times)}
        print(f"  {name:24s} p50 {out[name]['p50_ms']:7.2f} ms  p99 {out[name]['p99_ms']:7.2f} ms",
              flush=True)

    for name, q in FILTERS.items():
        run(name, q)
    # a cursor 500 rows deep into the workspace filter
    q = dict(FILTERS["workspace_id"], limit=50)
    for _ in range(10):
        status, doc = c.call("GET", "/api/runtime/jobs?" + urllib.parse.urlencode(q))
        assert status == 200 and doc["next_cursor"], (status, str(doc)[:300])
        q["cursor"] = doc["next_cursor"]
    run("workspace_id, page 11", {k: v for k, v in q.items() if k != "limit"})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--reqs", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--results", default=f"/tmp/rtgw-bench/list-{time.strftime('%Y%m%d-%H%M%S')}")
    args = ap.parse_args()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict = {}
    for backend in args.backends.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"rtgw-list-{backend}-"))
        store = Store(backend, work)
        srv = Rtgw(store, "list")
        try:
            srv.start()
            make_templates(srv)
            srv.stop()
            have = 0
            for size in sizes:
                t0 = time.monotonic()
                grow(store, have + 1, size - TEMPLATES)
                have = size - TEMPLATES
                print(f"{backend}: {size} jobs (filled in {time.monotonic() - t0:.0f} s)",
                      flush=True)
                srv.start()
                report.setdefault(backend, {})[size] = measure(srv, args.reqs, args.warmup)
                srv.stop()
        finally:
            srv.stop()
            for f in work.glob("*.log"):
                shutil.copy(f, results / f"{backend}-{f.name}")
            store.drop()
            shutil.rmtree(work, ignore_errors=True)
    dump(results / "list.json", report)
    lines = ["| store | filter | " + " | ".join(f"p50 / p99 at {s:,}" for s in sizes)
             + f" | p99 ratio {sizes[-1]:,} / {sizes[0]:,} |",
             "|---|---|" + "---|" * len(sizes) + "---|"]
    for backend, by_size in report.items():
        for name in by_size[sizes[0]]:
            cells = [f"{by_size[s][name]['p50_ms']:.2f} / {by_size[s][name]['p99_ms']:.2f} ms"
                     for s in sizes]
            ratio = by_size[sizes[-1]][name]["p99_ms"] / by_size[sizes[0]][name]["p99_ms"]
            lines.append(f"| {backend} | {name} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    lines.append(f"\nload average at the end (1/5/15 min): "
                 f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    table = "\n".join(lines)
    (results / "REPORT.md").write_text(table + "\n")
    print(table)
    print(f"results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
