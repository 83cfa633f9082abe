#!/usr/bin/env python3
"""Watch fan-out (issue 17): WATCHERS concurrent SSE watchers on one rtgw while events are posted
at RATE/s; per watcher, delivery lag (the moment its socket received the event minus the change's
commit time `job_changes.created_us`) and a comparison of its whole stream with the database.

Setup: one tenant, jobs seeded by wrk (bench/relay/seed.lua with RTGW_WORKSPACES: workspaces
ws-0 .. ws-<WORKSPACES-1>); a list gives watch_from; WATCHERS watchers each watch one workspace
(watcher i: ws-<i mod WORKSPACES>) from that cursor, plus ALL_WATCHERS that watch the whole
tenant; then wrk (bench/relay/lifecycle.lua) posts queued/running/completed events, RATE per
second for DURATION (each connection waits CONNS*1000/RATE - 1 ms after each answer, as
bench/relay does). Every event of the first three passes applies (one change each); events/s is
changes committed / DURATION. After wrk, the watchers get up to 30 s to receive the rest.

Reported: events/s, changes committed, lag p50/p99/max over every delivery (end to end:
includes this Python client's own scheduling, which reads all sockets on one core), the server's
own rtgw_change_feed_lag_seconds (commit -> write into the stream) p50/p99 from /metrics, missed
and duplicated events per watcher (its stream against `SELECT ... FROM job_changes` filtered the
same way, in seq order), the server's CPU (process CPU time / wall time of the wrk run) and RSS
(current and peak), and this client's own CPU over the wrk run.

  bench/list_watch/watch_fanout.py [--watchers 1000] [--all-watchers 2] [--workspaces 1000]
      [--rate 5000] [--duration 10] [--conns 96] [--seed-s 4] [--backend sqlite|postgresql]
      [--replicas 1|2] [--results DIR]
PostgreSQL (--backend postgresql --replicas 2): watchers and wrk split over the replicas.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Rtgw, Store, dump, histogram_quantile, metrics_histogram,  # noqa: E402
                    percentile, token)

HERE = Path(__file__).resolve().parent
RELAY = HERE.parent / "relay"  # seed.lua and lifecycle.lua, shared with the projection-lag bench
TENANT = "tenant-watch"


class Watcher(asyncio.Protocol):
    """One GET /api/runtime/jobs:watch on a raw connection; records (job_id, version, recv_us)
    per event. Decodes chunked transfer and SSE blocks just enough for that."""

    def __init__(self, request: bytes):
        self.request = request
        self.raw = b""
        self.body = b""
        self.status = 0
        self.head = asyncio.get_running_loop().create_future()
        self.events: list[tuple[str, int, int]] = []
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now_us = time.time_ns() // 1000
        self.raw += data
        if not self.status:
            head, sep, rest = self.raw.partition(b"\r\n\r\n")
            if not sep:
                return
            self.status = int(head.split(b" ", 2)[1])
            self.raw = rest
            if not self.head.done():
                self.head.set_result(self.status)
        while True:  # chunked: size CRLF data CRLF
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                break
            size = int(line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            self.body += rest[:size]
            self.raw = rest[size + 2:]
        while True:
            block, sep, rest = self.body.partition(b"\n\n")
            if not sep:
                break
            self.body = rest
            i = block.find(b"data: ")
            if i >= 0:
                d = json.loads(block[i + 6:].split(b"\n", 1)[0])
                self.events.append((d["job_id"], d["projection_version"], now_us))

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.head.done():
            self.head.set_result(0)


def http_json(url: str, tok: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


async def run(args, results: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rtgw-watch-"))
    store = Store(args.backend, work)
    servers = [Rtgw(store, f"replica{i}") for i in range(args.replicas)]
    tok = token(TENANT, sub="bench")
    env = dict(os.environ, RTGW_TENANT=TENANT, RTGW_TOKEN=tok, RTGW_RUN_ID=f"w{os.getpid()}",
               RTGW_WORKSPACES=str(args.workspaces))
    watchers: list[tuple[str | None, Watcher]] = []
    try:
        for s in servers:
            s.start()
        jobs_file = work / "jobs.txt"
        need = int(args.rate * args.duration / 3 * 1.3)  # 3 events per job, with a margin
        lines: list[str] = []
        for round_ in range(20):  # seed in rounds of --seed-s until there is enough work
            seeds = [await asyncio.create_subprocess_exec(
                "wrk", "-t1", "-c16", f"-d{args.seed_s}s", "-s", str(RELAY / "seed.lua"), s.base,
                env=dict(env, RTGW_JOBS_OUT=f"{jobs_file}.{i}",
                         RTGW_RUN_ID=f"w{os.getpid()}r{i}s{round_}"),
                stdout=asyncio.subprocess.DEVNULL) for i, s in enumerate(servers)]
            for p in seeds:
                await asyncio.wait_for(p.wait(), args.seed_s + 60)
            for i in range(len(servers)):
                lines += Path(f"{jobs_file}.{i}").read_text().splitlines()
            if len(lines) >= need:
                break
        # one pass of events per state for each job; wrk's files are per replica
        per = [lines[i::len(servers)] for i in range(len(servers))]
        for i, part in enumerate(per):
            Path(f"{jobs_file}.ev{i}").write_text("\n".join(part) + "\n")
        watch_from = http_json(servers[0].base + "/api/runtime/jobs?limit=1", tok)["watch_from"]
        start_seq = int(store.query(
            f"SELECT coalesce(max(seq), 0) FROM job_changes WHERE tenant_id = '{TENANT}'")[0][0])
        loop = asyncio.get_running_loop()
        filters = [f"ws-{i % args.workspaces}" for i in range(args.watchers)]
        filters += [None] * args.all_watchers
        for n, ws in enumerate(filters):
            s = servers[n % len(servers)]
            q = {"after": watch_from, **({"workspace_id": ws} if ws else {})}
            req = (f"GET /api/runtime/jobs:watch?{urllib.parse.urlencode(q)} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1\r\nAuthorization: Bearer {tok}\r\n"
                   "Accept: text/event-stream\r\n\r\n").encode()
            _, proto = await loop.create_connection(lambda: Watcher(req), "127.0.0.1", s.port)
            watchers.append((ws, proto))
        statuses = await asyncio.wait_for(asyncio.gather(*(w.head for _, w in watchers)), 60)
        bad = [st for st in statuses if st != 200]
        assert not bad, f"{len(bad)} watchers refused: {sorted(set(bad))}"
        print(f"{len(watchers)} watchers open; {len(lines)} jobs seeded", flush=True)

        def scrape(s: Rtgw) -> str:
            with urllib.request.urlopen(s.base + "/metrics", timeout=30) as r:
                return r.read().decode()
        before = [metrics_histogram(scrape(s), "rtgw_change_feed_lag_seconds") for s in servers]
        cpu0 = [s.cpu_seconds() for s in servers]
        own0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        conns = max(1, args.conns // len(servers))
        delay_ms = max(0, int(conns * len(servers) * 1000 / args.rate) - 1)
        wrks = [await asyncio.create_subprocess_exec(
            "wrk", "-t1", f"-c{conns}", f"-d{args.duration}s", "--latency", "-s",
            str(RELAY / "lifecycle.lua"), s.base,
            env=dict(env, RTGW_JOBS_FILE=f"{jobs_file}.ev{i}", RTGW_DELAY_MS=str(delay_ms)),
            stdout=asyncio.subprocess.PIPE) for i, s in enumerate(servers)]
        outs = [(await asyncio.wait_for(p.communicate(), args.duration + 60))[0].decode()
                for p in wrks]
        wall = time.monotonic() - t0  # wrk's run (the changes are counted over it)
        cpu = [(s.cpu_seconds() - c) / wall for s, c in zip(servers, cpu0)]
        own = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (own.ru_utime + own.ru_stime - own0.ru_utime - own0.ru_stime) / wall
        rss = [s.rss_mib() for s in servers]
        for i, o in enumerate(outs):
            (results / f"wrk-events{i}.txt").write_text(o)
        rps = sum(float(line.split()[1]) for o in outs for line in o.splitlines()
                  if line.startswith("Requests/sec"))
        non2xx = sum(int(line.split()[-1]) for o in outs for line in o.splitlines()
                     if "Non-2xx" in line)
        rows = store.query("SELECT seq, job_id, projection_version, workspace_id, created_us "
                           f"FROM job_changes WHERE tenant_id = '{TENANT}' AND seq > {start_seq} "
                           "ORDER BY seq")
        rows = [(int(a), b, int(c), d, int(e)) for a, b, c, d, e in rows]
        want: dict[str | None, list[tuple[str, int]]] = {None: [(j, v) for _, j, v, _, _ in rows]}
        for _, j, v, ws, _ in rows:
            want.setdefault(ws, []).append((j, v))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                len(w.events) < len(want.get(ws, [])) and not w.closed for ws, w in watchers):
            await asyncio.sleep(0.2)
        after = [metrics_histogram(scrape(s), "rtgw_change_feed_lag_seconds") for s in servers]
        created = {(j, v): c for _, j, v, _, c in rows}
        lags, missed, dups, misordered, closed = [], 0, 0, 0, 0
        for ws, w in watchers:
            got = [(j, v) for j, v, _ in w.events]
            exp = want.get(ws, [])
            missed += len(set(exp) - set(got))
            dups += len(got) - len(set(got))
            misordered += int(got != exp and set(got) == set(exp))
            closed += int(w.closed)
            lags += [(r - created[(j, v)]) / 1000 for j, v, r in w.events if (j, v) in created]
        lags.sort()
        server_lag = [(histogram_quantile(b, a, 0.5), histogram_quantile(b, a, 0.99))
                      for b, a in zip(before, after)]
        return {
            "backend": args.backend, "replicas": args.replicas, "watchers": len(watchers),
            "workspaces": args.workspaces, "target_rate": args.rate, "requests_per_s": rps,
            "events_per_s": len(rows) / args.duration, "non2xx": non2xx, "changes": len(rows),
            "jobs_seeded": len(lines), "deliveries": len(lags),
            "lag_ms": {"p50": percentile(lags, 50), "p99": percentile(lags, 99),
                       "max": lags[-1] if lags else None},
            "server_lag_s_bucket": {"p50": [a for a, _ in server_lag],
                                    "p99": [b for _, b in server_lag]},
            "missed": missed, "duplicates": dups, "misordered_streams": misordered,
            "streams_closed_by_server": closed, "cpu": cpu, "client_cpu": client_cpu,
            "rss_mib": [r[0] for r in rss], "peak_rss_mib": [r[1] for r in rss],
            "loadavg": os.getloadavg(),
        }
    finally:
        for _, w in watchers:
            w.transport.close()
        for s in servers:
            s.stop()
        for f in work.glob("*.log"):
            shutil.copy(f, results / f.name)
        store.drop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--watchers", type=int, default=1000)
    ap.add_argument("--all-watchers", type=int, default=2)
    ap.add_argument("--workspaces", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=96)
    ap.add_argument("--seed-s", type=int, default=4)
    ap.add_argument("--backend", default="sqlite")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--results", default=f"/tmp/rtgw-bench/watch-{time.strftime('%Y%m%d-%H%M%S')}")
    args = ap.parse_args()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    out = asyncio.run(run(args, results))
    dump(results / "watch.json", out)
    lag = out["lag_ms"]
    print(f"| {out['backend']} x{out['replicas']} | {out['watchers']} | {out['events_per_s']:.0f} "
          f"| {lag['p50']:.1f} / {lag['p99']:.1f} ms | {out['server_lag_s_bucket']['p99']} s "
          f"| {out['missed']} / {out['duplicates']} | "
          f"{', '.join(f'{c * 100:.0f}%' for c in out['cpu'])} | "
          f"{', '.join(f'{r:.0f}' for r in out['rss_mib'])} MiB (peak "
          f"{', '.join(f'{r:.0f}' for r in out['peak_rss_mib'])}) |")
    print(json.dumps(out, indent=1))
    print(f"results: {results}")
    return 0 if out["missed"] == 0 and out["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
