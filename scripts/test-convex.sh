#!/usr/bin/env bash
# The Convex receiver's tests (clients/convex) as one JUnit XML file, for scripts/test.sh's summary:
#   npm ci    the exact versions of clients/convex/package-lock.json (convex, convex-test, vitest,
#             standardwebhooks, typescript)
#   vitest    tests/*.test.ts: the receiver under convex-test (signature, dedupe, ordering,
#             queries), tsc on the Convex functions and the tests, and the end-to-end run (a real
#             `rtgw serve` relaying to the receiver, a real `rtgw agent` with the local executor,
#             `rtgw conformance --convex-url`), which needs $RTGW_BIN
# usage: RTGW_BIN=build/release/src/app/rtgw scripts/test-convex.sh OUT.xml
# Exit 0 when every test passes. Needs node >= 20.19 and npm (as scripts/test-ts-client.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:?usage: scripts/test-convex.sh OUT.xml}")
export RTGW_BIN=${RTGW_BIN:-$ROOT/build/release/src/app/rtgw}
cd "$ROOT/clients/convex"

fail() {  # fail NAME MESSAGE: a JUnit file with one failed test case, and exit 1
  echo "FAIL  $1: $2" >&2
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="convex" tests="1" failures="1">
<testcase classname="convex" name="%s"><failure message="%s"/></testcase></testsuite>\n' \
    "$1" "$2" > "$OUT"
  exit 1
}

command -v node >/dev/null && command -v npm >/dev/null \
  && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || fail node-version "node >= 20.19 and npm are required"
[ -x "$RTGW_BIN" ] || fail rtgw-binary "RTGW_BIN=$RTGW_BIN is not an executable (the end-to-end test needs it)"
npm ci --no-audit --no-fund || fail npm-ci "npm ci failed"
npx vitest run --reporter=default --reporter=junit --outputFile.junit="$OUT"
