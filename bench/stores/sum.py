#!/usr/bin/python3
"""One Markdown row from the raw wrk outputs of one configuration's concurrent runs.

usage: sum.py CONFIG SCENARIO REPLICAS CONNS_PER_REPLICA WRK_OUTPUT...
req/s are summed; p50/p99 are the worst of the runs; non-2xx and socket errors are summed.
"""
import re
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    out = {"rps": 0.0, "p50": None, "p99": None, "non2xx": 0, "sockerr": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for key, label in (("p50", "50%"), ("p99", "99%")):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            out[key] = float(m.group(1)) * UNITS[m.group(2)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors:(.*)", text)
    if m:
        out["sockerr"] = sum(int(n) for n in re.findall(r"\d+", m.group(1)))
    return out


def fmt_ms(v):
    if v is None:
        return "?"
    return f"{v * 1000:.0f} us" if v < 1 else f"{v:.2f} ms"


def main():
    cfg, scenario, replicas, per = sys.argv[1:5]
    runs = [parse(p) for p in sys.argv[5:]]
    rps = sum(r["rps"] for r in runs)
    p50 = max((r["p50"] for r in runs if r["p50"] is not None), default=None)
    p99 = max((r["p99"] for r in runs if r["p99"] is not None), default=None)
    non2xx = sum(r["non2xx"] for r in runs)
    sockerr = sum(r["sockerr"] for r in runs)
    print(f"| {cfg} | {scenario} | {replicas} x {per} | {rps:,.0f} | {fmt_ms(p50)} | {fmt_ms(p99)} "
          f"| {non2xx} | {sockerr} |".replace(",", " "))


if __name__ == "__main__":
    main()
