#!/usr/bin/env bash
# clang-tidy (the repo's .clang-tidy) on the C++ files changed since BASE; fails on any finding
# in those files. Findings in files that did not change are not shown: the whole tree is not
# clean yet (see .clang-tidy), so this check keeps changed files clean instead.
#
#   scripts/lint.sh [BASE]         BASE: any git revision; default HEAD~1, i.e. the last commit
#                                  plus whatever is uncommitted (on CI's clean checkout of main:
#                                  the commit under test). No HEAD~1 (depth-1 clone): nothing is
#                                  linted, with a message saying so.
#   scripts/lint.sh FILE...        just these files (paths from the repo root)
#   scripts/lint.sh --all          every .cpp in the compile database (176 files, ~25 min on
#                                  2 shared cores; 209 findings in 51 files on 2026-12-06)
#   RTGW_LINT_JOBS=N               parallel clang-tidy processes (default: nproc)
#   RTGW_LINT_JUNIT=FILE           also write one JUnit test case per linted file (test.sh)
#
# What is linted: each changed .cpp that is in the compile database, and for each changed .hpp
# one .cpp that includes it (its own foo.cpp, else foo_test.cpp, else the first includer), with
# the header's findings counted. The compile database is build/lint/compile_commands.json, made
# here by a CMake configure only (no build): Debug, unit tests without the unity build, so every
# test .cpp has its own entry. Needs clang-tidy-14 (scripts/install-deps.sh).
# Cost: ~7-25 s per file on 2 cores (more when loaded); a typical commit (1-5 files): < 2 min.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TIDY=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$TIDY" ] || { echo "lint: clang-tidy not found (scripts/install-deps.sh)" >&2; exit 2; }
JOBS=${RTGW_LINT_JOBS:-$(nproc)}
BUILD=build/lint

# Configure only: compile_commands.json is all clang-tidy needs (no generated sources here).
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DRTGW_UNITY_TESTS=OFF -DRTGW_TCMALLOC=OFF >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log" >&2; echo "lint: cmake configure failed" >&2; exit 2; }
DB_FILES=$(/usr/bin/python3 -c '
import json, os, sys
for e in json.load(open(sys.argv[1])):
    p = os.path.relpath(os.path.join(e["directory"], e["file"]), sys.argv[2])
    if not p.startswith("build/"): print(p)' "$BUILD/compile_commands.json" "$ROOT" | sort -u)

if [ $# -gt 0 ] && [ -f "$1" ]; then
  CHANGED=$(printf '%s\n' "$@" | sort -u)
  SCOPE="the files named"
elif [ "${1:-}" = "--all" ]; then
  CHANGED=$( (printf '%s\n' "$DB_FILES" | grep -E '\.cpp$'; git ls-files 'src/*.hpp' 'tests/*.hpp') \
            | sort -u)
  SCOPE="all files in the compile database"
else
  BASE=${1:-HEAD~1}
  if ! git rev-parse -q --verify "$BASE^{commit}" >/dev/null; then
    if [ $# -eq 0 ]; then
      # A depth-1 clone has no HEAD~1: there is nothing to tell the changed files by. The whole
      # tree is not clean yet, so linting everything would fail on old findings; say so instead.
      echo "lint: no HEAD~1 in this clone (shallow?): nothing linted; pass a BASE revision"
      [ -z "${RTGW_LINT_JUNIT:-}" ] || printf '<testsuite name="lint" tests="0"/>\n' >"$RTGW_LINT_JUNIT"
      exit 0
    fi
    echo "lint: unknown revision '$BASE'" >&2
    exit 2
  fi
  # Working tree vs BASE: committed and uncommitted changes, deleted files excluded.
  CHANGED=$(git diff --name-only --diff-filter=ACMR "$BASE" -- '*.cpp' '*.hpp' | sort -u)
  SCOPE="files changed since $BASE ($(git rev-parse --short "$BASE"))"
fi

in_db() { printf '%s\n' "$DB_FILES" | grep -qxF "$1"; }

# The nearest .cpp in the compile database that includes header $1, directly or through other
# headers (breadth first over `#include "..."` lines; includes are relative to src/).
first_includer() {
  DB_FILES="$DB_FILES" /usr/bin/python3 - "$1" <<'PY'
import os, re, subprocess, sys
db = set(os.environ["DB_FILES"].split())
files = subprocess.run(["git", "ls-files", "src/*.cpp", "src/*.hpp", "tests/*.cpp", "tests/*.hpp"],
                       capture_output=True, text=True).stdout.split()
included_by = {}
for f in files:
    try:
        text = open(f, errors="replace").read()
    except OSError:
        continue
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
        included_by.setdefault("src/" + inc, []).append(f)
        included_by.setdefault(os.path.join(os.path.dirname(f), inc), []).append(f)
seen, frontier = {sys.argv[1]}, [sys.argv[1]]
while frontier:
    nxt = []
    for h in frontier:
        for f in sorted(set(included_by.get(h, []))):
            if f in seen:
                continue
            seen.add(f)
            if f.endswith(".cpp"):
                if f in db:
                    print(f)
                    sys.exit(0)
            else:
                nxt.append(f)
    frontier = nxt
PY
}

# TUs to run and the files whose findings count (the line filter).
declare -A TUS=() COUNTED=()
for f in $CHANGED; do
  [ -f "$f" ] || continue
  case "$f" in
    *.cpp)
      if in_db "$f"; then TUS[$f]=1; COUNTED[$f]=1
      else echo "lint: skip $f (not in the compile database: fuzz target, bench or not built)"
      fi ;;
    *.hpp)
      COUNTED[$f]=1
      tu=""
      for c in "${f%.hpp}.cpp" "${f%.hpp}_test.cpp"; do
        if in_db "$c"; then tu=$c; break; fi
      done
      [ -n "$tu" ] || tu=$(first_includer "$f")
      if [ -n "$tu" ]; then TUS[$tu]=1
      else echo "lint: skip $f (no .cpp in the compile database includes it)"
      fi ;;
  esac
done

if [ ${#TUS[@]} -eq 0 ]; then
  echo "lint: no C++ files to lint among $SCOPE"
  [ -z "${RTGW_LINT_JUNIT:-}" ] || printf '<testsuite name="lint" tests="0"/>\n' >"$RTGW_LINT_JUNIT"
  exit 0
fi

# clang-tidy's -line-filter keeps only diagnostics in the listed files (suffix match on the path).
FILTER=$(printf '%s\n' "${!COUNTED[@]}" | /usr/bin/python3 -c '
import json, sys; print(json.dumps([{"name": "/" + l.strip()} for l in sys.stdin if l.strip()]))')
OUT=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-lint.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
echo "lint: clang-tidy on ${#TUS[@]} translation unit(s) for ${#COUNTED[@]} changed file(s) ($SCOPE), $JOBS jobs"
start=$SECONDS
printf '%s\n' "${!TUS[@]}" | sort | \
  FILTER="$FILTER" TIDY="$TIDY" BUILD="$BUILD" OUT="$OUT" xargs -P "$JOBS" -I{} sh -c '
    log="$OUT/$(printf %s "{}" | tr / _).log"
    nice -n 10 "$TIDY" -p "$BUILD" --quiet --line-filter="$FILTER" "{}" >"$log" 2>&1
    echo $? >"$log.rc"' || true

fail=0
for tu in $(printf '%s\n' "${!TUS[@]}" | sort); do
  log="$OUT/$(printf %s "$tu" | tr / _).log"
  # A finding: "path:line:col: warning|error: text [check]"; compile errors count too.
  n=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$log" || true)
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  if [ "$n" -gt 0 ] || [ "$rc" != 0 ]; then
    fail=1
    echo "--- $tu: $n finding(s) (clang-tidy exit $rc)"
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' "$log" || true
  else
    echo "ok  $tu"
  fi
done
echo "lint: $(( SECONDS - start )) s"

if [ -n "${RTGW_LINT_JUNIT:-}" ]; then
  /usr/bin/python3 - "$OUT" "$RTGW_LINT_JUNIT" "${!TUS[@]}" <<'PY'
import re, sys
from xml.sax.saxutils import escape, quoteattr
out, dest, tus = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
cases = []
for tu in tus:
    log = open(f"{out}/{tu.replace('/', '_')}.log", errors="replace").read()
    try:
        rc = open(f"{out}/{tu.replace('/', '_')}.log.rc").read().strip()
    except OSError:
        rc = "1"
    findings = [l for l in log.splitlines() if re.match(r"^\S+:\d+:\d+: (warning|error):", l)]
    body = ""
    if findings or rc != "0":
        body = f'<failure message={quoteattr(f"{len(findings)} finding(s)")}>{escape(log)}</failure>'
    cases.append(f'<testcase classname="lint" name={quoteattr(tu)}>{body}</testcase>')
open(dest, "w").write(f'<testsuite name="lint" tests="{len(cases)}">' + "".join(cases) + "</testsuite>\n")
PY
fi
exit $fail
