#!/usr/bin/python3
"""Ownership check of the three contract surfaces (seed 001, ADR-0004) from docs/openapi.json.

Writes OUT (markdown: the fields of each surface and who owns them) and exits 1 when a surface
carries a field another surface owns (ownership drift), 0 otherwise. Used by
gates/promotion-postgres.toml (gate contract-checks, evidence 05-boundary-notes.md).

usage: scripts/gates/boundary-notes.py [--openapi docs/openapi.json] --out FILE
"""
import argparse
import json
import sys

# Fields only the product's SubmitJobCommand may set.
COMMAND_OWNED = {"idempotency_key", "management_node_id", "execution_profile", "resource_shape",
                 "payload_ref", "requested_by"}
# Fields only the management node's ExecutionEvent may set.
EXECUTION_OWNED = {"event_id", "execution_id", "state", "occurred_at", "result_ref", "error"}
# What the product-facing projection may show (docs/contracts/projection-update.md + reads).
PROJECTION_ALLOWED = {"tenant_id", "workspace_id", "job_id", "submission_id", "status", "state",
                      "projection_version", "updated_at", "occurred_at", "trace_id", "result_ref",
                      "error"}


def props(doc, name):
    return set(doc["components"]["schemas"][name].get("properties", {}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--openapi", default="docs/openapi.json")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    doc = json.load(open(a.openapi))
    submit = props(doc, "SubmitJobRequest")
    event = props(doc, "ExecutionEventRequest")
    projection = props(doc, "JobProjection")
    problems = []
    if submit & EXECUTION_OWNED:
        problems.append(f"SubmitJobCommand carries execution-owned fields {sorted(submit & EXECUTION_OWNED)}")
    if event & COMMAND_OWNED:
        problems.append(f"ExecutionEvent carries command-owned fields {sorted(event & COMMAND_OWNED)}")
    if projection - PROJECTION_ALLOWED:
        problems.append("projection exposes fields outside the ProjectionUpdate contract "
                        f"(AiiDA-internal mirroring?) {sorted(projection - PROJECTION_ALLOWED)}")
    lines = ["# Contract boundary notes (seed 001 / ADR-0004)", "",
             f"Source: `{a.openapi}` ({doc['info'].get('version', '?')}).", "",
             "| surface | owner | fields |", "|---|---|---|",
             f"| SubmitJobCommand | product app | {', '.join(sorted(submit))} |",
             f"| ExecutionEvent | management node | {', '.join(sorted(event))} |",
             f"| ProjectionUpdate / projection | rtgw (product-facing) | {', '.join(sorted(projection))} |",
             "", "## Outcome", ""]
    lines += [f"- DRIFT: {p}" for p in problems] or ["- no field ownership ambiguity found"]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
