#!/usr/bin/env bash
# The TypeScript client's checks as one JUnit XML file (one testcase per check, plus the node
# tests), for scripts/test.sh's summary:
#   npm-ci          install the exact versions of package-lock.json
#   drift           regenerate src/generated/schema.ts from docs/openapi.json; no diff allowed
#   openapi-lint    Redocly CLI lint of docs/openapi.json; no errors allowed
#   build           tsc
#   node tests      test/*.test.mjs against a live rtgw ($RTGW_BIN)
# usage: RTGW_BIN=build/release/src/app/rtgw scripts/test-ts-client.sh OUT.xml
# Exit 0 when every check passes. Needs node >= 20.19 and npm (not from Debian bookworm, whose
# nodejs 18 is too old for Redocly CLI 2).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: scripts/test-ts-client.sh OUT.xml}
export RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-ts.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT/clients/typescript"
: > "$WORK/cases.tsv"
status=0
check() {  # check NAME CMD...
  local name=$1; shift
  local t0=$SECONDS
  if "$@" >"$WORK/$name.log" 2>&1; then
    printf '%s\tpass\t%s\n' "$name" $((SECONDS - t0)) >> "$WORK/cases.tsv"
    echo "ok    $name"
  else
    printf '%s\tfail\t%s\n' "$name" $((SECONDS - t0)) >> "$WORK/cases.tsv"
    echo "FAIL  $name"; tail -40 "$WORK/$name.log" | sed 's/^/      /'
    status=1
  fi
}
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null \
    && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}
check node-version node_ok
if node_ok; then
  check npm-ci npm ci --no-audit --no-fund
  check drift npm run drift
  check openapi-lint npm run lint:openapi
  check build npm run build
  node --test --test-reporter=junit --test-reporter-destination="$WORK/node.xml" \
    --test-reporter=spec --test-reporter-destination=stdout test/ || status=1
fi
/usr/bin/python3 - "$WORK" "$OUT" <<'PY'
import os, sys, xml.etree.ElementTree as ET
work, out = sys.argv[1], sys.argv[2]
suite = ET.Element("testsuite", name="ts-client")
for line in open(os.path.join(work, "cases.tsv")):
    name, result, secs = line.rstrip("\n").split("\t")
    case = ET.SubElement(suite, "testcase", classname="ts-client", name=name, time=secs)
    if result == "fail":
        log = open(os.path.join(work, name + ".log"), errors="replace").read()[-4000:]
        ET.SubElement(case, "failure", message=f"{name} failed").text = log
node_xml = os.path.join(work, "node.xml")
if os.path.exists(node_xml):
    for case in ET.parse(node_xml).getroot().iter("testcase"):
        suite.append(case)
elif not any(c.get("name") == "node-version" and c.find("failure") is not None for c in suite):
    case = ET.SubElement(suite, "testcase", classname="ts-client", name="node tests")
    ET.SubElement(case, "failure", message="node --test wrote no report")
ET.ElementTree(suite).write(out, encoding="utf-8", xml_declaration=True)
PY
exit $status
