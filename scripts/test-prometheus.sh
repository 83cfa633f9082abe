#!/usr/bin/env bash
# The Prometheus rules' checks as one JUnit XML file, one testcase per promtool command, for
# scripts/test.sh's summary:
#   check-rules   promtool check rules deploy/prometheus/rtgw-rules.yml (syntax, PromQL, templates)
#   test-rules    promtool test rules deploy/prometheus/rtgw-rules.test.yml (every alert firing
#                 and not firing, the recording rules' values)
# That the rules and deploy/grafana/rtgw.json use only metrics /metrics exports is checked by the
# black-box suite (tests/blackbox/test_dashboards.py), with `promtool check metrics` on a scrape.
# usage: scripts/test-prometheus.sh OUT.xml     (promtool: Debian 'prometheus', install-deps.sh)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: scripts/test-prometheus.sh OUT.xml}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-prom.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
cd "$ROOT/deploy/prometheus"
status=0
cases=()
run() {  # run NAME CMD...: one testcase
  local name=$1; shift
  local t0=$SECONDS result=pass
  "$@" >"$LOGS/$name.log" 2>&1 || { result=fail; status=1; }
  cases+=("$name:$result:$((SECONDS - t0))")
  echo "$result  $name: $*"
  [ "$result" = pass ] || sed 's/^/      /' "$LOGS/$name.log" | tail -60
}
if command -v promtool >/dev/null; then
  run check-rules promtool check rules rtgw-rules.yml
  run test-rules promtool test rules rtgw-rules.test.yml
else
  echo "promtool missing: scripts/install-deps.sh installs Debian 'prometheus'" >"$LOGS/promtool.log"
  cases+=("promtool:fail:0"); status=1; cat "$LOGS/promtool.log"
fi
/usr/bin/python3 - "$OUT" "$LOGS" "${cases[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
out, logs, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
suite = ET.Element("testsuite", name="prometheus")
for c in cases:
    name, result, secs = c.split(":")
    case = ET.SubElement(suite, "testcase", classname="prometheus", name=name, time=secs)
    if result == "fail":
        log = open(f"{logs}/{name}.log", errors="replace").read()[-4000:]
        ET.SubElement(case, "failure", message=f"{name} failed").text = log
ET.ElementTree(suite).write(out, encoding="utf-8", xml_declaration=True)
PY
exit $status
