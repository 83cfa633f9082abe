"""`rtgw gate run SPEC` / `rtgw gate rerun DIR` as a command: exit codes 0 PROMOTE, 1 HOLD,
2 blocked, the evidence bundle on disk, and $RTGW pointing at the running binary."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

PROMOTE_SPEC = """
name = "cli-promote"
operator = "ops"
[[gate]]
id = "rtgw-version"
title = "the rtgw binary answers"
  [[gate.step]]
  command = '"$RTGW" version'
  expect_output = ['^rtgw \\d+\\.\\d+\\.\\d+$']
[[gate]]
id = "smoke"
repeat = 3
p95_max_regression_pct = 25
known_good_median_seconds = 30
  [[gate.step]]
  command = '"$RTGW" openapi > "$GATE_RUN_DIR/openapi-run$GATE_RUN.json"'
"""


def gate(rtgw_bin, *args, cwd=None):
    p = run_cli(rtgw_bin, "gate", *args, timeout=120, cwd=cwd)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def run_dir_of(stdout: str) -> Path:
    line = [l for l in stdout.splitlines() if l.startswith("evidence: ")][0]
    return Path(line.split(": ", 1)[1])


def test_gate_run_promote(rtgw_bin, tmp_path):
    spec = tmp_path / "promote.toml"
    spec.write_text(PROMOTE_SPEC)
    rc, out, err = gate(rtgw_bin, "run", str(spec), "--artifacts", str(tmp_path / "art"),
                        "--reviewer", "rev")
    assert rc == 0, out + err
    assert "DECISION: PROMOTE (exit 0)" in out
    d = run_dir_of(out)
    assert d.parent == tmp_path / "art"
    assert (d / "01-rtgw-version.log").read_text().count("exit_code: 0") == 1
    assert {f"02-smoke-run{i}.log" for i in (1, 2, 3)} <= {p.name for p in d.iterdir()}
    decision = (d / "promotion-decision.md").read_text()
    assert "**Decision: PROMOTE**" in decision and "reviewer: rev" in decision
    results = json.loads((d / "gate-results.json").read_text())
    assert results["decision"] == "PROMOTE" and results["exit_code"] == 0
    assert json.loads((d / "known-good.json").read_text())["gates"]["smoke"]["median_seconds"] >= 0
    # the recorded medians drive the next run's p95 rule
    rc, out, err = gate(rtgw_bin, "run", str(spec), "--artifacts", str(tmp_path / "art"),
                        "--known-good", str(d / "known-good.json"))
    assert rc in (0, 1), out + err  # timing may vary; the rule was evaluated either way
    assert "known-good median" in (run_dir_of(out) / "02-smoke-summary.md").read_text()


def test_gate_run_hold_then_rerun(rtgw_bin, tmp_path):
    marker = tmp_path / "fixed"
    spec = tmp_path / "hold.toml"
    spec.write_text(f"""
name = "cli-hold"
[[gate]]
id = "good"
  [[gate.step]]
  command = "echo good"
[[gate]]
id = "needs-fix"
  [[gate.step]]
  command = "test -f {marker}"
""")
    rc, out, err = gate(rtgw_bin, "run", str(spec), "--artifacts", str(tmp_path / "art"))
    assert rc == 1, out + err
    assert "DECISION: HOLD (exit 1)" in out
    d = run_dir_of(out)
    good = (d / "01-good.log").read_bytes()
    marker.write_text("ok")
    rc, out, err = gate(rtgw_bin, "rerun", str(d))
    assert rc == 0, out + err
    assert run_dir_of(out) == d
    assert (d / "01-good.log").read_bytes() == good
    assert (d / "superseded" / "attempt-1" / "02-needs-fix.log").exists()
    assert "**Decision: PROMOTE**" in (d / "promotion-decision.md").read_text()


def test_gate_run_blocked_and_bad_specs(rtgw_bin, tmp_path):
    spec = tmp_path / "blocked.toml"
    spec.write_text("""
name = "cli-blocked"
[[gate]]
id = "future-command"
  [[gate.precondition]]
  command = '"$RTGW" no-such-subcommand --help'
  reason = "rtgw no-such-subcommand is not built yet"
  [[gate.step]]
  command = "true"
""")
    rc, out, err = gate(rtgw_bin, "run", str(spec), "--artifacts", str(tmp_path / "art"))
    assert rc == 2, out + err
    assert "DECISION: HOLD (blocked) (exit 2)" in out
    assert "rtgw no-such-subcommand is not built yet" in out
    log = (run_dir_of(out) / "01-future-command-preconditions.log").read_text()
    assert "unknown command" in log

    rc, out, err = gate(rtgw_bin, "run", str(tmp_path / "missing.toml"))
    assert rc == 2 and "cannot read gate spec" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[[gate]]\nid = 'a'\nrepat = 3\n[[gate.step]]\ncommand = 'true'\n")
    rc, out, err = gate(rtgw_bin, "run", str(bad))
    assert rc == 2 and "unknown key 'repat'" in err
    rc, out, err = gate(rtgw_bin, "rerun", str(tmp_path))
    assert rc == 2 and "not a gate run directory" in err
    rc, out, err = gate(rtgw_bin, "--help")
    assert rc == 0 and "--artifacts" in out and "2 blocked" in out
