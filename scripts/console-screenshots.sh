#!/usr/bin/env bash
# Regenerates docs/console/*.png, the screenshots docs/console.md shows: runs the console's
# browser tests (scripts/test-console.sh) with CONSOLE_SCREENSHOTS=docs/console, so each picture
# is of a page in the state a test has just checked.
#   usage: RTGW_BIN=build/release/src/app/rtgw scripts/console-screenshots.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JUNIT=$(mktemp "${TMPDIR:-/tmp}/rtgw-console-shots.XXXXXX.xml")
trap 'rm -f "$JUNIT"' EXIT
CONSOLE_SCREENSHOTS="$ROOT/docs/console" "$ROOT/scripts/test-console.sh" "$JUNIT"
ls -l "$ROOT"/docs/console/*.png
