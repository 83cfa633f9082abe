"""The alert rules and the Grafana dashboard read metrics that a real `rtgw serve` exports.

deploy/prometheus/rtgw-rules.yml and deploy/grafana/rtgw.json name metrics and label values in
PromQL. A renamed metric or label would leave an alert that never fires and an empty panel, and
nothing else would notice. Here a real server (with its projection relay delivering to a real
sink, a management node heartbeating, jobs submitted and driven to the end, a watch, a deep
health probe) is scraped, the text parsed with the official Prometheus client's parser, and every
`rtgw_*` selector of every rule and panel checked: the series name is exported (a histogram by
its _bucket/_sum/_count), each label it matches on exists on it, and each `label="value"` it
requires is a value the server exports. `promtool check metrics` lints the same text.

Store-specific metrics (docs/contracts/http-api.md "Metrics") are checked on their backend's run
only: both backends run when RTGW_TEST_BACKENDS names both, as scripts/test.sh does.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import Api, uid, wait_until
from slurm_helpers import Node
from test_projection_relay import lifecycle, relay_args, sinks  # noqa: F401 (sinks: a fixture)

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rtgw-rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "rtgw.json"

# Families only one store backend registers, by the backend that does.
BACKEND_ONLY = {
    "rtgw_store_job_cache_total": "sqlite",
    "rtgw_store_checkpoint_seconds": "sqlite",
    "rtgw_store_reconnects_total": "postgresql",
}
# Labels Prometheus adds at scrape time.
TARGET_LABELS = {"job", "instance"}

_STR = r'"(?:[^"\\]|\\.)*"'
# A series name (not part of a recording rule's level:metric:ops name) and its braces, if any;
# label values may hold braces ("/api/runtime/nodes/{node_id}/heartbeat").
_SELECTOR = re.compile(r"(?<![\w:])(rtgw_[A-Za-z0-9_]+)(?![\w:])\s*(\{(?:[^}\"]|" + _STR + r")*\})?")
_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*(" + _STR + ")")


def rule_exprs() -> list[tuple[str, str]]:
    """(where, expr) of every rule in the rules file."""
    doc = yaml.safe_load(RULES.read_text())
    out = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            out.append((f"{RULES.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, expr) of every panel target and templating query of the dashboard."""
    doc = json.loads(DASHBOARD.read_text())
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((f"{DASHBOARD.name}: {p['title']} {t['refId']}", t["expr"]))
            walk(p.get("panels", []))

    walk(doc["panels"])
    for v in doc["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]
            out.append((f"{DASHBOARD.name}: variable {v['name']}",
                        q["query"] if isinstance(q, dict) else q))
    return out


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The rtgw_* series selectors of a PromQL expression: (name, [(label, op, value)])."""
    out = []
    for m in _SELECTOR.finditer(expr):
        matchers = [(label, op, json.loads(value))
                    for label, op, value in _MATCHER.findall(m.group(2) or "")]
        out.append((m.group(1), matchers))
    return out


def exported(text: str) -> dict[str, list[dict]]:
    """Sample name -> the label sets exported under it, by the official text-format parser."""
    series: dict[str, list[dict]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, []).append(dict(sample.labels))
    return series


def family_of(sample_name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in BACKEND_ONLY:
            return sample_name[: -len(suffix)]
    return sample_name


def problems_with(expr_list: list[tuple[str, str]], series: dict[str, list[dict]],
                  backend: str) -> tuple[list[str], int]:
    """What in `expr_list` the scrape `series` does not satisfy, and how many selectors were
    checked."""
    problems = []
    checked = 0
    for where, expr in expr_list:
        for name, matchers in selectors(expr):
            only = BACKEND_ONLY.get(family_of(name))
            if only is not None and only != backend:
                continue
            checked += 1
            if name not in series:
                problems.append(f"{where}: {name} is not exported")
                continue
            label_sets = series[name]
            for label, op, value in matchers:
                if label in TARGET_LABELS:
                    continue
                if not any(label in ls for ls in label_sets):
                    problems.append(f"{where}: {name} has no label {label!r}")
                elif op == "=" and value and "$" not in value and \
                        not any(ls.get(label) == value for ls in label_sets):
                    seen = sorted({ls.get(label) for ls in label_sets if label in ls})
                    problems.append(f"{where}: {name}{{{label}={value!r}}} not exported "
                                    f"(values: {seen})")
    return problems, checked


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: scripts/install-deps.sh installs it (Debian 'prometheus')"
    return path


def scrape(server) -> str:
    with server.client() as c:
        r = c.get("/metrics")
        assert r.status_code == 200, r.text
        return r.text


def test_selector_extraction_sees_names_labels_and_braced_values():
    # The checker's own parsing, on the shapes the files use: a recording rule's name is not a
    # metric, a route template's braces stay inside its value.
    expr = ('sum(rate(rtgw_http_requests_total{route="/api/runtime/nodes/{node_id}/heartbeat",'
            'status=~"5.."}[5m])) / instance:rtgw_http_requests:rate5m '
            'and histogram_quantile(0.99, rate(rtgw_store_commit_seconds_bucket[5m]))')
    assert selectors(expr) == [
        ("rtgw_http_requests_total", [("route", "=", "/api/runtime/nodes/{node_id}/heartbeat"),
                                      ("status", "=~", "5..")]),
        ("rtgw_store_commit_seconds_bucket", []),
    ]
    # Every rule and panel reads rtgw_* series or recording rules the rules file defines.
    recorded = {r["record"] for g in yaml.safe_load(RULES.read_text())["groups"]
                for r in g["rules"] if "record" in r}
    for where, expr in rule_exprs() + dashboard_exprs():
        code = re.sub(_STR, '""', expr)
        uses = re.findall(r"(?<![\w:])([A-Za-z_]\w*:[\w:]+)", code)
        assert set(uses) <= recorded, f"{where}: unknown recording rules {set(uses) - recorded}"
        scrape_health = re.fullmatch(r'up\{job="rtgw"\} == 0', code.replace('""', '"rtgw"'))
        assert selectors(expr) or uses or scrape_health, f"{where}: reads no rtgw_* series"


def test_rules_and_dashboard_use_only_exported_metrics(server_factory, backend, sinks):
    sink = sinks()
    srv = server_factory(*relay_args(sink.url))
    api = Api(srv)
    node = Node(srv, api.tenant, uid("node"))
    try:
        # Traffic for every family: submits and events through the relay to the sink, a node
        # heartbeat, a list and a (short) watch poll, a deep health probe.
        assert node.heartbeat().status_code == 200
        for _ in range(3):
            lifecycle(api)
        assert sink.wait_applied(12), len(sink.applied)  # a submit and 3 events each
        assert api.list_jobs().status_code == 200
        with srv.client() as c:
            assert c.get("/api/health", params={"deep": "1"}).status_code == 200
        text = scrape(srv)
    finally:
        node.close()
        api.close()

    series = exported(text)
    exprs = rule_exprs() + dashboard_exprs()
    problems, checked = problems_with(exprs, series, backend)
    assert not problems, "\n".join(problems)
    assert checked > len(exprs) // 2, "the selectors were not found"

    # The same text through Prometheus' own linter.
    lint = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), \
        f"promtool check metrics (exit {lint.returncode}):\n{lint.stdout}{lint.stderr}"


def test_a_renamed_metric_is_reported():
    # The check is not vacuous: a scrape without one family, or with other label values, fails.
    exprs = [("rule", 'rtgw_outbox_dead_letters > 0'),
             ("panel", 'sum(rate(rtgw_relay_deliveries_total{result="dead"}[5m]))')]
    good = {"rtgw_outbox_dead_letters": [{}],
            "rtgw_relay_deliveries_total": [{"result": "dead"}, {"result": "delivered"}]}
    assert problems_with(exprs, good, "sqlite") == ([], 2)
    renamed = {"rtgw_outbox_dead_letter_count": [{}],
               "rtgw_relay_deliveries_total": [{"outcome": "dead"}]}
    problems, _ = problems_with(exprs, renamed, "sqlite")
    assert problems == ["rule: rtgw_outbox_dead_letters is not exported",
                        "panel: rtgw_relay_deliveries_total has no label 'result'"]
    relabelled = {"rtgw_outbox_dead_letters": [{}],
                  "rtgw_relay_deliveries_total": [{"result": "given_up"}]}
    problems, _ = problems_with(exprs, relabelled, "sqlite")
    assert problems == ["panel: rtgw_relay_deliveries_total{result='dead'} not exported "
                        "(values: ['given_up'])"]


def gauge(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_health_gauges_follow_the_last_answer(server_factory, sinks):
    # The gauges the health alerts read: the verdict of the last /api/health answer, and the
    # management nodes by heartbeat age as the last answer that read them counted them.
    sink = sinks(behaviour=lambda n, u: 503)
    srv = server_factory(*relay_args(sink.url), "--node-stale-after-seconds", "5")
    api = Api(srv)
    node = Node(srv, api.tenant, uid("node"))
    try:
        text = scrape(srv)
        assert [gauge(text, "rtgw_health_status", status=s)
                for s in ("ok", "degraded", "unavailable")] == [0, 0, 0]
        assert gauge(text, "rtgw_management_nodes", state="stale") is None, "before any answer"
        with srv.client() as c:
            assert c.get("/api/health").json()["status"] == "ok"
            text = scrape(srv)
            assert [gauge(text, "rtgw_health_status", status=s)
                    for s in ("ok", "degraded", "unavailable")] == [1, 0, 0]
            assert gauge(text, "rtgw_management_nodes", state="stale") is None, "not deep"

            assert node.heartbeat().status_code == 200
            deep = c.get("/api/health", params={"deep": "1"}).json()
            assert deep["checks"]["managed_aiida_runtime"]["nodes_stale"] == 0
            text = scrape(srv)
            assert gauge(text, "rtgw_management_nodes", state="fresh") == 1
            assert gauge(text, "rtgw_management_nodes", state="stale") == 0

            # The sink refuses: the relay's first failure degrades health.
            api.submit_ok()
            wait_until(lambda: sink.requests > 0, timeout=10, what="a delivery attempt")
            wait_until(lambda: c.get("/api/health").json()["status"] == "degraded", timeout=10,
                       what="health degraded by the failing sink")
            text = scrape(srv)
            assert [gauge(text, "rtgw_health_status", status=s)
                    for s in ("ok", "degraded", "unavailable")] == [0, 1, 0]

            # No heartbeat for longer than --node-stale-after-seconds: a deep answer counts the
            # node stale.
            time.sleep(5.5)
            deep = c.get("/api/health", params={"deep": "1"}).json()
            assert deep["checks"]["managed_aiida_runtime"]["nodes_stale"] == 1
            text = scrape(srv)
            assert gauge(text, "rtgw_management_nodes", state="fresh") == 0
            assert gauge(text, "rtgw_management_nodes", state="stale") == 1
    finally:
        node.close()
        api.close()
