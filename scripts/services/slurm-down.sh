#!/usr/bin/env bash
# Stops what slurm-up.sh started, by pid file (no pkill/killall). Cancels every job first:
# a stopped slurmd leaves slurmstepd and the job's processes running otherwise.
# Idempotent: daemons that are not running are skipped.
set -u
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if alive /run/slurm/slurmctld.pid; then
  ids=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${ids// /}" ]; then
    # shellcheck disable=SC2086
    scancel $ids 2>/dev/null
    for _ in $(seq 1 50); do
      [ -z "$(squeue -h -t running,completing,pending -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi
for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid; do
  if alive "$f"; then
    kill "$(cat "$f")"
    for _ in $(seq 1 50); do alive "$f" || break; sleep 0.1; done
  fi
done
if alive /run/munge/munged.pid; then
  kill "$(cat /run/munge/munged.pid)"
fi
echo "slurm-down.sh: stopped"
exit 0
