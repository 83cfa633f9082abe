#!/usr/bin/env bash
# Starts a single-node Slurm 22.05 cluster on localhost (munged, slurmctld, slurmd) as root,
# without systemd. Verified recipe: ../shared/recipes/slurm-postgres-local.md (Debian 12).
# Idempotent: installs the packages when missing, writes /etc/slurm/slurm.conf only when it is
# absent or was written by this script, and starts only the daemons that are not running.
#
# Partitions (used by the agent tests and the README):
#   debug  Default=YES  MaxTime=01:00:00
#   long                MaxTime=1-00:00:00
# EnforcePartLimits=ALL makes sbatch refuse a --time above the partition's MaxTime (instead of a
# job that pends for ever). MinJobAge=600 keeps finished jobs visible to `scontrol show job` for
# 10 minutes (there is no slurmdbd, so no sacct): the agent polls well within that window.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MARK="# written by rtgw scripts/services/slurm-up.sh"

if [ "$(id -u)" -ne 0 ]; then echo "slurm-up.sh: must run as root" >&2; exit 1; fi
"$ROOT/scripts/install-deps.sh" --slurm

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---- munge ----
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
if ! alive /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged --force
fi
for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
munge -n | unmunge >/dev/null

# ---- slurm.conf ----
H=$(hostname -s)
install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
if [ ! -s /etc/slurm/slurm.conf ] || grep -qF "$MARK" /etc/slurm/slurm.conf; then
  MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  MEM=$((MEM * 9 / 10))
  CPUS=$(nproc)
  cat >/etc/slurm/slurm.conf.new <<CONF
$MARK
ClusterName=rtgw
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
ReturnToService=2
MinJobAge=600
KillWait=5
MaxJobCount=20000
EnforcePartLimits=ALL
MailProg=/bin/true
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=${H} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=${H} Default=YES MaxTime=01:00:00 State=UP
PartitionName=long  Nodes=${H} Default=NO  MaxTime=1-00:00:00 State=UP
CONF
  if ! cmp -s /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf; then
    mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf
    # A changed config needs the daemons restarted (auth and node settings are not reloaded).
    for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid; do
      if alive "$f"; then kill "$(cat "$f")"; for _ in $(seq 1 50); do alive "$f" || break; sleep 0.1; done; fi
    done
  else
    rm -f /etc/slurm/slurm.conf.new
  fi
else
  echo "slurm-up.sh: /etc/slurm/slurm.conf was not written by this script; using it as is" >&2
fi

# ---- daemons (both daemonize and write pid files) ----
alive /run/slurm/slurmctld.pid || slurmctld
alive /run/slurm/slurmd.pid || slurmd
for _ in $(seq 1 60); do
  if scontrol ping 2>/dev/null | grep -q UP &&
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    break
  fi
  sleep 0.5
done
# A node left DOWN/DRAIN by an earlier unclean stop comes back with ReturnToService=2, but
# resume it explicitly in case it is still marked.
if sinfo -h -N -o '%T' | grep -qE 'down|drain'; then
  scontrol update NodeName="$H" State=RESUME 2>/dev/null || true
  sleep 1
fi
scontrol ping | grep -q UP || { echo "slurm-up.sh: slurmctld is not UP" >&2; exit 1; }
sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)' || {
  echo "slurm-up.sh: node is not usable:" >&2; sinfo -N -l >&2; exit 1; }
echo "slurm-up.sh: slurm is up ($(sinfo -V)); partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
