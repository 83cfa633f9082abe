"""Markdown report of a bench/run.sh results directory: medians over the repetitions,
rtgw vs the FastAPI peer vs the nginx ceiling, the targets, and every non-2xx response
or socket error (a run with errors is flagged, never silently counted: wrk counts error
responses in req/s).

usage: python3 bench/report.py <results_dir>

Reads <results>/rep*/{ceilings,peer-c*,rtgw-c*}/summary.txt (lines written by the shared
lib.sh wrk_summary), and for rtgw also <scenario>-c<N>.{statuses,cpu,metrics-*}.txt.
"""
import glob
import os
import re
import statistics
import sys

TARGET_RATIO = 20.0       # submit/event: rtgw >= 20x peer req/s ...
TARGET_P99_MS = 5.0       # ... with rtgw p99 < 5 ms, at c32
TARGET_PROJ_NGINX = 0.40  # projection: rtgw >= 0.40 x nginx `return 200` req/s
TARGET_CONNS = "32"

UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
LINE = re.compile(r"^(?P<label>.+?)\s+(?P<rps>[\d.]+) req/s\s+p50\s+(?P<p50>\S+)\s+"
                  r"p99\s+(?P<p99>\S+)\s+non2xx (?P<non2xx>\d+)\s+sockerr (?P<sock>\S+)")
BROKEN = re.compile(r"^(?P<label>\S.*?)\s+req/s\s+p50")   # wrk produced no numbers
FSYNC = re.compile(r"mode=(\S+) batch=(\d+) .*syncs/s=(\d+) records/s=(\d+) "
                   r"fdatasync_us mean=([\d.]+) p50=([\d.]+) p99=([\d.]+)")
SQLITE = re.compile(r"sqlite .*commits/s=(\d+) commit_us mean=([\d.]+) p50=([\d.]+) p99=([\d.]+)")


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", v)
    return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None


def sock_total(s):
    return sum(int(x) for x in re.findall(r"\d+", s)) if s != "-" else 0


def classify(label):
    """label -> (server, scenario, conns)"""
    name, conns = label.rsplit(" c", 1)
    if name == "nginx":
        return "nginx", "return200", conns
    if name == "nginx+lua-request":
        return "nginx-lua", "return200", conns
    server, _, scenario = name.partition(" ")
    if server.startswith("peer"):
        server = "peer"
    return server, scenario, conns


def fmt_ms(v):
    if v is None:
        return "n/a"
    return "%.2f ms" % v if v >= 1 else "%.0f us" % (v * 1000)


def fmt_rps(v):
    return "n/a" if v is None else "{:,.0f}".format(v).replace(",", " ")


def metric_sum(path, name):
    total, seen = 0.0, False
    try:
        for line in open(path):
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(None, 1)[1])
                seen = True
    except (OSError, ValueError, IndexError):
        return None
    return total if seen else None


root = sys.argv[1]
runs = {}       # (server, scenario, conns) -> [run dict]
broken = []     # (rep, label) with no numbers
fsync, sqlite = {}, []
reps = sorted(glob.glob(os.path.join(root, "rep*")), key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
for rep in reps:
    repname = os.path.basename(rep)
    for path in sorted(glob.glob(os.path.join(rep, "*", "summary.txt"))):
        stage_dir = os.path.dirname(path)
        for line in open(path):
            m = LINE.match(line)
            if m:
                server, scenario, conns = classify(m.group("label").strip())
                run = {"rep": repname, "rps": float(m.group("rps")), "p50": to_ms(m.group("p50")),
                       "p99": to_ms(m.group("p99")), "non2xx": int(m.group("non2xx")),
                       "sock": m.group("sock"), "sock_n": sock_total(m.group("sock")),
                       "log_non2xx": None, "cpu": None, "batch": None}
                if server == "rtgw":
                    tag = "%s-c%s" % (scenario, conns)
                    st = os.path.join(stage_dir, tag + ".statuses.txt")
                    if os.path.exists(st):
                        counts = {}
                        for sl in open(st):
                            parts = sl.split()
                            if len(parts) == 2:
                                counts[parts[1]] = int(parts[0])
                        if counts:
                            run["log_statuses"] = counts
                            run["log_non2xx"] = sum(n for s, n in counts.items() if not s.startswith("2"))
                    cp = os.path.join(stage_dir, tag + ".cpu.txt")
                    if os.path.exists(cp):
                        cm = re.search(r"server_cpu_s=([\d.]+) wall_s=([\d.]+)", open(cp).read())
                        if cm and float(cm.group(2)) > 0:
                            run["cpu"] = 100.0 * float(cm.group(1)) / float(cm.group(2))
                    before = os.path.join(stage_dir, tag + ".metrics-before.txt")
                    after = os.path.join(stage_dir, tag + ".metrics-after.txt")
                    s0 = metric_sum(before, "rtgw_store_commit_batch_size_sum")
                    s1 = metric_sum(after, "rtgw_store_commit_batch_size_sum")
                    n0 = metric_sum(before, "rtgw_store_commit_batch_size_count")
                    n1 = metric_sum(after, "rtgw_store_commit_batch_size_count")
                    if None not in (s0, s1, n0, n1) and n1 > n0:
                        run["batch"] = (s1 - s0) / (n1 - n0)
                runs.setdefault((server, scenario, conns), []).append(run)
                continue
            m = BROKEN.match(line)
            if m:
                broken.append((repname, m.group("label").strip()))
                continue
            m = FSYNC.search(line)
            if m:
                fsync.setdefault((m.group(1), int(m.group(2))), []).append(
                    tuple(float(x) for x in m.groups()[2:]))
                continue
            m = SQLITE.search(line)
            if m:
                sqlite.append(tuple(float(x) for x in m.groups()))


def med(key, field):
    vals = [r[field] for r in runs.get(key, []) if r[field] is not None]
    return statistics.median(vals) if vals else None


def errors(key):
    """human-readable error summary for one (server, scenario, conns) over all reps"""
    out = []
    for r in runs.get(key, []):
        bits = []
        if r["non2xx"]:
            bits.append("%d non-2xx" % r["non2xx"])
        if r["sock_n"]:
            bits.append("socket errors %s" % r["sock"])
        if r.get("log_non2xx"):
            bad = ", ".join("%s x%d" % (s, n) for s, n in sorted(r["log_statuses"].items())
                            if not s.startswith("2"))
            bits.append("server log: %s" % bad)
        if bits:
            out.append("%s %s: %s" % (key[0], r["rep"], "; ".join(bits)))
    return out


def ratio(a, b):
    return a / b if a is not None and b else None


meta = os.path.join(root, "meta.txt")
print("# rtgw vs FastAPI peer vs nginx ceiling\n")
if os.path.exists(meta):
    print("```")
    print(open(meta).read().rstrip())
    print("```\n")
print("Medians of %d repetition(s); every run is `wrk -t1 --latency`, wrk sharing the cores with "
      "the server. Ratios are of medians taken in the same run.\n" % len(reps))

scenarios = []
for (server, scenario, conns) in runs:
    if server in ("rtgw", "peer") and scenario not in scenarios:
        scenarios.append(scenario)
order = {"submit": 0, "event": 1, "projection": 2}
scenarios.sort(key=lambda s: order.get(s, 9))
conns_all = sorted({k[2] for k in runs if k[0] in ("rtgw", "peer")}, key=lambda c: -int(c))

targets = []   # (text, met: True/False/None)
flag_lines = []
print("| scenario | conns | rtgw req/s | rtgw p50 | rtgw p99 | peer req/s | peer p50 | peer p99 "
      "| rtgw/peer | rtgw/nginx | target | result | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for s in scenarios:
    for c in conns_all:
        rk, pk, nk = ("rtgw", s, c), ("peer", s, c), ("nginx", "return200", c)
        if rk not in runs and pk not in runs:
            continue
        r_rps, p_rps, n_rps = med(rk, "rps"), med(pk, "rps"), med(nk, "rps")
        r_p99 = med(rk, "p99")
        rp, rn = ratio(r_rps, p_rps), ratio(r_rps, n_rps)
        errs = errors(rk) + errors(pk)
        rtgw_bad = bool(errors(rk))
        peer_bad = bool(errors(pk))
        flag_lines += ["%s c%s %s" % (s, c, e) for e in errs]
        target, result = "", ""
        if s in ("submit", "event"):
            target = ">= %.0fx peer, p99 < %.0f ms" % (TARGET_RATIO, TARGET_P99_MS)
            if rp is None or r_p99 is None:
                result = "n/a (no peer run)" if pk not in runs else "n/a (missing runs)"
                met = None
            else:
                ok_ratio, ok_p99 = rp >= TARGET_RATIO, r_p99 < TARGET_P99_MS
                met = ok_ratio and ok_p99
                result = "MET" if met else "MISSED (%s)" % ", ".join(
                    x for x, bad in (("ratio", not ok_ratio), ("p99", not ok_p99)) if bad)
        elif s == "projection":
            target = ">= %.2f x nginx" % TARGET_PROJ_NGINX
            if rn is None:
                result = "n/a (missing runs)"
                met = None
            else:
                met = rn >= TARGET_PROJ_NGINX
                result = "MET" if met else "MISSED"
        else:
            met = None
        if rtgw_bad:
            result = "INVALID: rtgw errors" + (" (" + result + ")" if result else "")
            met = None if met is None else False
        elif peer_bad and s in ("submit", "event"):
            result += " (peer errors: ratio suspect)"
        if c != TARGET_CONNS and target:
            target, result = "(info) " + target, "(info) " + result
        elif target:
            targets.append(("%s c%s" % (s, c), result))
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s, c, fmt_rps(r_rps), fmt_ms(med(rk, "p50")), fmt_ms(r_p99),
            fmt_rps(p_rps), fmt_ms(med(pk, "p50")), fmt_ms(med(pk, "p99")),
            "%.1fx" % rp if rp is not None else "n/a", "%.3f" % rn if rn is not None else "n/a",
            target, result, "**%d flagged run(s)**" % len(errs) if errs else "none"))
print()

print("Ceiling (nginx `return 200 '{\"ok\":true}'`, 2 workers, same wrk settings):\n")
print("| ceiling | conns | req/s | p50 | p99 | errors |")
print("|---|---|---|---|---|---|")
for srv, name in (("nginx", "nginx, no wrk script"), ("nginx-lua", "nginx, wrk/ok.lua request()")):
    for c in sorted({k[2] for k in runs if k[0] == srv}, key=lambda c: -int(c)):
        k = (srv, "return200", c)
        e = errors(k)
        flag_lines += ["%s c%s %s" % (name, c, x) for x in e]
        print("| %s | %s | %s | %s | %s | %s |" % (name, c, fmt_rps(med(k, "rps")), fmt_ms(med(k, "p50")),
                                                  fmt_ms(med(k, "p99")), "; ".join(e) or "none"))
if not any(k[0] == "nginx" for k in runs):
    print("| nginx | - | not measured | | | |")
print()

print("Targets (c%s): %s\n" % (TARGET_CONNS, "; ".join("%s: %s" % t for t in targets) or "n/a (no rtgw runs)"))

print("Errors (non-2xx responses, socket errors, non-2xx statuses in rtgw's access log):\n")
if flag_lines or broken:
    for f in flag_lines:
        print("- **%s**" % f)
    for rep, label in broken:
        print("- **%s %s: wrk printed no numbers (server down or wrk failed)**" % (rep, label))
else:
    print("- none")
fail_path = os.path.join(root, "failures.txt")
if os.path.exists(fail_path) and open(fail_path).read().strip():
    print("\nFailed stages:\n")
    for line in open(fail_path):
        print("- **%s**" % line.strip())
print()

print("All runs (rtgw CPU = server process CPU time / wall time of the wrk run, 200% = both cores; "
      "batch = rows per group commit from /metrics):\n")
print("| rep | server | scenario | conns | req/s | p50 | p99 | non-2xx | socket errors | rtgw CPU | batch |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
srv_order = {"nginx": 0, "nginx-lua": 1, "peer": 2, "rtgw": 3}
for key in sorted(runs, key=lambda k: (srv_order.get(k[0], 9), order.get(k[1], 9), -int(k[2]))):
    for r in runs[key]:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["rep"], key[0], key[1], key[2], fmt_rps(r["rps"]), fmt_ms(r["p50"]), fmt_ms(r["p99"]),
            r["non2xx"], r["sock"] if r["sock_n"] else "0",
            "%.0f%%" % r["cpu"] if r["cpu"] is not None else "",
            "%.1f" % r["batch"] if r["batch"] is not None else ""))

if fsync or sqlite:
    print("\nDurable-write ceilings (bonus, from the shared run_ceilings.sh):\n")
    print("| 512 B records | per fdatasync | fdatasync/s | records/s | fdatasync p50 | p99 |")
    print("|---|---|---|---|---|---|")
    for (mode, batch), rows in fsync.items():
        print("| %s | %d | %.0f | %.0f | %.1f us | %.1f us |" % (
            mode, batch, statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
            statistics.median(r[3] for r in rows), statistics.median(r[4] for r in rows)))
    if sqlite:
        print("| SQLite WAL FULL, 1 row per commit (python) | 1 | %.0f commits/s | | %.1f us | %.1f us |" % (
            statistics.median(r[0] for r in sqlite), statistics.median(r[2] for r in sqlite),
            statistics.median(r[3] for r in sqlite)))
