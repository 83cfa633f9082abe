"""Projection lag from two /metrics snapshots: p50/p99 of rtgw_projection_lag_seconds (linear
interpolation inside the histogram bucket), deliveries, and the share within 100 ms."""
import re
import sys


def parse(path):
    buckets, count, delivered = {}, 0, 0
    for line in open(path):
        m = re.match(r'rtgw_projection_lag_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
        if m:
            buckets[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = int(m.group(2))
        m = re.match(r"rtgw_projection_lag_seconds_count (\d+)", line)
        if m:
            count = int(m.group(1))
        m = re.match(r'rtgw_relay_deliveries_total\{result="delivered"\} (\d+)', line)
        if m:
            delivered = int(m.group(1))
    return buckets, count, delivered


def quantile(bounds, cum, total, q):
    target = q * total
    prev_b, prev_c = 0.0, 0
    for b, c in zip(bounds, cum):
        if c >= target:
            if b == float("inf"):
                return float("inf")
            span = c - prev_c
            return prev_b + (b - prev_b) * ((target - prev_c) / span if span else 1)
        prev_b, prev_c = b, c
    return float("inf")


b0, c0, d0 = parse(sys.argv[1])
b1, c1, d1 = parse(sys.argv[2])
bounds = sorted(b1)
cum = [b1[b] - b0.get(b, 0) for b in bounds]
total = c1 - c0
within = (b1.get(0.1, 0) - b0.get(0.1, 0)) / total if total else 0
print(f"deliveries={d1 - d0} lag_samples={total} "
      f"p50_ms={quantile(bounds, cum, total, 0.5) * 1000:.1f} "
      f"p99_ms={quantile(bounds, cum, total, 0.99) * 1000:.1f} "
      f"within_100ms={within * 100:.2f}%")
