#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/<target>.cpp) for a time budget; fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default 60 s per target, every target
#   RTGW_FUZZ_JOBS=2 scripts/fuzz.sh 600    two targets at a time (default 1)
#   RTGW_FUZZ_BUILD=0 scripts/fuzz.sh ...    use the binaries already in build/fuzz
#
# Installs the Debian packages it needs (scripts/install-deps.sh: clang, libFuzzer runtime),
# configures and builds the `fuzz` preset (build/fuzz), then runs each target at nice 19 on a
# working copy of its seed corpus in a temporary directory, so fuzz/corpus/ only changes by the
# findings: every crash-*, leak-*, timeout-* and oom-* input libFuzzer writes is copied into
# fuzz/corpus/<target>/, where the corpus replay test of the normal build (ctest
# FuzzCorpusReplay.<target>) keeps it. One line per target: executions, corpus size, findings.
# Exit status 1 when any target found something (its log is kept and named), 2 on bad usage.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUDGET_SECONDS=${1:-60}
[[ "$BUDGET_SECONDS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
JOBS=${RTGW_FUZZ_JOBS:-1}

# Every target and its -max_len: a little above the largest realistic input (the largest seed
# must fit, or libFuzzer truncates it). Keep in step with fuzz/CMakeLists.txt.
declare -A MAX_LEN=(
  [scontrol_jobs]=16384 [sinfo_partitions]=4096 [sbatch_parsable]=8192 [slurm_minutes]=64
  [jwt]=4096 [jwks]=16384
  [job_requests]=4096 [node_requests]=8192 [http_headers]=256 [router]=512
  [validator_callback]=8192
  [rfc3339]=64
  [queue_policy]=4096 [gate_spec]=8192 [env_file]=1024 [validator_registry]=4096
  [lease_response]=4096
)
ALL_TARGETS=(scontrol_jobs sinfo_partitions sbatch_parsable slurm_minutes jwt jwks job_requests
             node_requests http_headers router validator_callback rfc3339 queue_policy gate_spec
             env_file validator_registry lease_response)
if (($# > 0)); then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do
  [ -n "${MAX_LEN[$t]:-}" ] || { echo "unknown fuzz target: $t (fuzz/CMakeLists.txt)" >&2; exit 2; }
done

if [ "${RTGW_FUZZ_BUILD:-1}" != 0 ]; then
  scripts/install-deps.sh
  nice -n 10 cmake --preset fuzz >/dev/null
  nice -n 10 cmake --build --preset fuzz --target "${TARGETS[@]/#/rtgw_fuzz_}"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtgw-fuzz.XXXXXX")
# Findings: ASan/UBSan reports end the run with a crash-* file; leaks are reported too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; writes "<executions> <corpus files> <findings>" to $WORK/<target>.result.
run_target() {
  local t=$1 dir=$WORK/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp fuzz/corpus/"$t"/* "$dir/corpus/"
  local rc=0
  # -timeout: one input taking 10 s is a finding; -rss_limit_mb: so is 2 GiB of memory.
  nice -n 19 "build/fuzz/fuzz/rtgw_fuzz_$t" -max_total_time="$BUDGET_SECONDS" \
    -max_len="${MAX_LEN[$t]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  local execs findings=0
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  # A crash ends the run before the final stats: take the last status line's count.
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$dir/log" | tail -1 | tr -d '#')
  for f in "$dir"/artifacts/{crash,leak,timeout,oom}-*; do
    [ -e "$f" ] || continue
    cp "$f" "fuzz/corpus/$t/"
    findings=$((findings + 1))
  done
  # Exited non-zero without leaving an input (e.g. died at start-up): still a finding.
  if ((rc != 0 && findings == 0)); then findings=1; fi
  echo "${execs:-0} $(find "$dir/corpus" -type f | wc -l) $findings" >"$WORK/$t.result"
}

for t in "${TARGETS[@]}"; do
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  echo "fuzzing $t for ${BUDGET_SECONDS}s (max_len ${MAX_LEN[$t]})"
  run_target "$t" &
done
wait

status=0
printf '%-20s %14s %8s %9s\n' target executions corpus findings
for t in "${TARGETS[@]}"; do
  read -r execs corpus findings <"$WORK/$t.result"
  printf '%-20s %14s %8s %9s\n' "$t" "$execs" "$corpus" "$findings"
  if ((findings > 0)); then
    status=1
    echo "  $t: reproducer(s) copied to fuzz/corpus/$t/; log: $WORK/$t/log" >&2
  fi
done
# Keep the logs when something was found; otherwise leave nothing behind.
if ((status == 0)); then rm -rf "$WORK"; fi
exit $status
