# Helpers for bench/run.sh and bench/run_rtgw.sh (source it; not executable on its own).
# The shared reference-bench helpers (wrk_summary, wait_http, stop_pid) come from
# $SHARED_BENCH/lib.sh; everything here is bounded (no unbounded loop or wait).
#
# SHARED_BENCH: the shared reference bench (the FastAPI peer, run_ceilings.sh, the wrk scenarios).
# It lives outside this repository. Unset: /work/shared/bench when it is there, else
# bench/reference/ (the part of it the rtgw side needs, copied unchanged: wrk scenarios, nginx
# config, lib.sh, the seed and token helpers; no peer). SHARED_BENCH=none: bench/reference/.
BENCH_REFERENCE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/reference
if [ -z "${SHARED_BENCH:-}" ]; then
  if [ -r /work/shared/bench/lib.sh ]; then SHARED_BENCH=/work/shared/bench; else SHARED_BENCH=$BENCH_REFERENCE; fi
elif [ "$SHARED_BENCH" = none ]; then
  SHARED_BENCH=$BENCH_REFERENCE
fi
if [ ! -r "$SHARED_BENCH/lib.sh" ]; then
  echo "SHARED_BENCH=$SHARED_BENCH has no lib.sh (point SHARED_BENCH at the shared bench/ directory, or unset it to use bench/reference/)" >&2
  return 1 2>/dev/null || exit 1
fi
# peer_available: true when $SHARED_BENCH holds the FastAPI reference peer (not in this repository)
peer_available() { [ -r "$SHARED_BENCH/run_peer.sh" ] && [ -r "$SHARED_BENCH/peers/fastapi_ref/app.py" ]; }
# wrk_summary, wait_http, stop_pid: the exact summary format summarize.py/report.py parse.
. "$SHARED_BENCH/lib.sh"

# Never write __pycache__ into the (read-only by convention) shared tree.
export PYTHONDONTWRITEBYTECODE=1

# dur_secs 10s|2m|30 -> whole seconds (wrk duration syntax; rounded up, minimum 1)
dur_secs() {
  local d=$1 n unit
  n=${d%%[a-zA-Z]*}; unit=${d#"$n"}
  [[ $n =~ ^[0-9]+$ ]] || { echo "bad duration '$d'" >&2; return 1; }
  case "$unit" in
    ""|s) echo $((n > 0 ? n : 1)) ;;
    m) echo $((n * 60)) ;;
    h) echo $((n * 3600)) ;;
    *) echo "bad duration unit in '$d'" >&2; return 1 ;;
  esac
}

# wait_http_bounded <url> <seconds> [pid]: poll (1 s per try max) until the URL answers 2xx;
# gives up early when <pid> (the server we started) has exited.
wait_http_bounded() {
  local url=$1 secs=$2 pid=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -sf --max-time 1 -o /dev/null "$url" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "server pid $pid exited while waiting for $url" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timeout (${secs}s) waiting for $url" >&2
  return 1
}

# port_busy <port>: true when something listens on 127.0.0.1:<port> (or any address)
port_busy() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]
  else
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null
  fi
}

# stop_pid_rc <pid> [seconds=15]: TERM, wait (bounded), KILL if it lingers; the exit status
# is left in STOP_RC. Only for children of the calling shell (uses `wait` to reap and read
# the status), so never call it inside $(...).
STOP_RC=
stop_pid_rc() {
  local pid=$1 secs=${2:-15} i rc=0
  STOP_RC=
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pid $pid still alive ${secs}s after SIGTERM: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  STOP_RC=$rc
}

# proc_cpu_ticks <pid>: utime+stime (all threads) in clock ticks, or empty
proc_cpu_ticks() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }   # drop "pid (comm) "
  # fields now start at 3 (state); utime=14, stime=15 -> positions 12 and 13 here
  awk '{ print $12 + $13 }' <<<"$s"
}

# wrk_bounded <seconds-of-run> <wrk args...>: wrk with a hard wall-clock bound. --foreground
# keeps wrk in the caller's process group, so a TERM to the whole stage (bench/run.sh runs
# each stage under `timeout`) reaches wrk at once.
wrk_bounded() {
  local secs=$1; shift
  timeout --foreground -k 5 $((secs + 30)) wrk "$@"
}
