#!/usr/bin/env bash
# The operator console's browser tests (console/test/*.test.mjs; docs/contracts/console.md) as one
# JUnit XML file for scripts/test.sh's summary: headless Debian chromium driven by puppeteer-core
# (pinned in console/package-lock.json, installed by npm ci; it downloads no browser) against a
# real `rtgw serve` ($RTGW_BIN).
#   usage: RTGW_BIN=build/release/src/app/rtgw scripts/test-console.sh OUT.xml
# Needs node >= 20.19 and npm (as scripts/test-ts-client.sh) and chromium
# (scripts/install-deps.sh --browser). Exit 0 when every test passes.
#   CONSOLE_SCREENSHOTS=DIR    the tests also write each page's screenshot into DIR
#                              (scripts/console-screenshots.sh: docs/console/)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: scripts/test-console.sh OUT.xml}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
export RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
export CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
export PUPPETEER_SKIP_DOWNLOAD=1

# fail NAME TEXT: a JUnit file holding that one failed check, then exit 1.
fail() {
  echo "FAIL  $1"; printf '%s\n' "$2" | tail -40 | sed 's/^/      /'
  /usr/bin/python3 - "$OUT" "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
out, name, text = sys.argv[1:]
suite = ET.Element("testsuite", name="console", tests="1", failures="1")
case = ET.SubElement(suite, "testcase", classname="console", name=name)
ET.SubElement(case, "failure", message=f"{name} failed").text = text[-4000:]
ET.ElementTree(suite).write(out, encoding="utf-8", xml_declaration=True)
PY
  exit 1
}

command -v npm >/dev/null && node -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || fail node-version "node >= 20.19 and npm are needed; found: $(node --version 2>&1)"
[ -x "$CHROMIUM_BIN" ] \
  || fail chromium "no browser at $CHROMIUM_BIN (scripts/install-deps.sh --browser installs Debian's chromium)"
[ -x "$RTGW_BIN" ] || fail rtgw "no rtgw binary at $RTGW_BIN"
cd "$ROOT/console"
log=$(npm ci --no-audit --no-fund 2>&1) || fail npm-ci "$log"
node --test --test-concurrency=1 --test-timeout=180000 \
  --test-reporter=junit --test-reporter-destination="$OUT" \
  --test-reporter=spec --test-reporter-destination=stdout test/
