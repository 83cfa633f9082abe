#ifndef RTGW_AGENT_SLURM_FAKE_SLURM_CLUSTER_HPP_
#define RTGW_AGENT_SLURM_FAKE_SLURM_CLUSTER_HPP_

// An in-memory slurmctld and its client commands, for tests of the logic above the Slurm
// client (executor, job runner) without a live cluster. Test support only (library
// rtgw_agent_slurm_fake).
//
// The fake stands in for the commands, not for the client: Client() is the production
// CliSlurmClient with FakeSlurmCluster::Run as its command runner. The fake answers `sbatch
// --parsable`, `scontrol show job -o`, `scancel`, `scontrol show config` and `sinfo` with the
// text Slurm 22.05 prints (testdata/ holds captured real output), so the client's parsers, its
// failure classification and its call count are the ones production runs.
//
// The cluster is the one scripts/services/slurm-up.sh starts: partitions `debug` (default,
// MaxTime 1:00:00) and `long` (1-00:00:00), EnforcePartLimits=ALL (sbatch refuses a --time above
// the partition's MaxTime), MinJobAge 600 s; job ids count up from 1.
//
// Jobs do not move on their own: the test plays the scheduler (Start, Finish, End, Purge).
// scancel ends a pending job at once (CANCELLED, ExitCode 0:0) and a running one with the
// cancel signal (CANCELLED, ExitCode 0:15 by default), as Slurm records them.
//
// Thread-safe. A FakeSlurmCluster must outlive the clients Client() returns.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "agent/slurm/cli_slurm_client.hpp"
#include "agent/slurm/slurm_parse.hpp"

namespace rtgw::agent::slurm {

class FakeSlurmCluster {
 public:
  enum class Command { kSbatch, kShowJob, kScancel, kShowConfig, kSinfo };

  // How the next runs of a command go wrong.
  enum class Fault {
    kUnreachable,         // exits 1: "Unable to contact slurm controller"; nothing happened
    kRefused,             // exits 1 with a definitive refusal (sbatch: "Job violates accounting/QOS
                          // policy"; other commands: "Access/permission denied"); nothing happened
    kTimeout,             // killed at the deadline before slurmctld got the request
    kTimeoutAfterEffect,  // slurmctld acted (job created, cancel delivered), then the
                          // command was killed at the deadline: the caller cannot know
  };

  FakeSlurmCluster() = default;
  FakeSlurmCluster(const FakeSlurmCluster&) = delete;
  FakeSlurmCluster& operator=(const FakeSlurmCluster&) = delete;

  // The production client over this cluster.
  std::shared_ptr<CliSlurmClient> Client();

  // The command runner (SlurmCommandRunner): argv[0]'s base name picks the command; an
  // unknown command or form is an Error, as an exec failure would be.
  Result<SlurmCommandResult> Run(const std::vector<std::string>& argv,
                                 const std::string& stdin_data);

  // The next `times` runs of `command` fail with `fault`.
  void FailNext(Command command, Fault fault, int times = 1);
  // The signal a running job is ended with when scancel reaches it: 15 (SIGTERM stopped it, the
  // default) or 9 (slurmd SIGKILLed it after KillWait: its script ignored or missed SIGTERM).
  // 0: it keeps running after the scancel until the test ends it (End), like a job inside
  // KillWait.
  void set_cancel_signal(int signal);

  // The scheduler's moves; each an Error when the job is unknown or in the wrong state.
  Status Start(const std::string& job_id);  // PENDING -> RUNNING
  // Ends a pending or running job as its script's exit: COMPLETED (0) or FAILED
  // (Reason=NonZeroExitCode, ExitCode=<exit_code>:0).
  Status Finish(const std::string& job_id, int exit_code);
  // Ends a pending or running job in any Slurm state, e.g. ("TIMEOUT", "TimeLimit", 0, 15).
  Status End(const std::string& job_id, const std::string& state, const std::string& reason,
             int exit_code, int signal);
  // slurmctld forgets the job (MinJobAge passed, or the state was lost): no longer listed.
  Status Purge(const std::string& job_id);

  // The job as slurmctld holds it; nullopt when unknown or purged.
  std::optional<SlurmJob> Job(const std::string& job_id) const;
  // Times `command` ran (faulted runs included).
  int runs(Command command) const;

 private:
  struct FakeJob {
    SlurmJob job;
    std::int64_t time_limit_minutes = 0;
  };

  SlurmCommandResult Sbatch(const std::string& script);
  SlurmCommandResult ShowJobs() const;
  SlurmCommandResult Scancel(const std::string& job_id);
  SlurmCommandResult ShowConfig() const;
  SlurmCommandResult Sinfo() const;
  // The job `job_id` if it has not ended; caller holds mu_.
  Result<FakeJob*> Active(const std::string& job_id);

  mutable std::mutex mu_;
  std::map<std::int64_t, FakeJob> jobs_;  // by id, listed in id order like slurmctld
  std::int64_t next_id_ = 1;
  int cancel_signal_ = 15;
  std::map<Command, std::vector<Fault>> faults_;  // queued, first is next
  std::map<Command, int> runs_;
};

// The Slurm a parameterized test runs on: one test body per scenario, run on the fake always and
// on live Slurm when a slurmctld answers (`scontrol ping`, LiveSlurmUp); the live variants skip
// without it. Test names end in /Fake and /Live (SlurmBackendName).
enum class SlurmBackend { kFake, kLive };
bool LiveSlurmUp();
std::string SlurmBackendName(SlurmBackend backend);
inline void PrintTo(SlurmBackend backend, std::ostream* os) { *os << SlurmBackendName(backend); }

}  // namespace rtgw::agent::slurm

#endif  // RTGW_AGENT_SLURM_FAKE_SLURM_CLUSTER_HPP_
