#ifndef RTGW_AGENT_EXECUTOR_LOCAL_EXECUTOR_HPP_
#define RTGW_AGENT_EXECUTOR_LOCAL_EXECUTOR_HPP_

// Executor that runs jobs as child processes on this machine, for development
// and the README walk-through (no Slurm needed). Each job gets a directory
// <work_dir>/rtgw-<submission_id>/ (the backend id is that name):
//   script.sh  the rendered script (no #SBATCH lines needed; resources are not enforced)
//   out        stdout+stderr
//   pid        pid of the job's process group leader (written by the wrapper itself)
//   status     exit status, written atomically when the job ends
//   cancelled  marker written before a cancel's SIGTERM
// The job is detached (process::SpawnDetached: double fork, new session), so it survives an agent
// restart and the restarted agent finds it by its directory: the same duplicate safety as Slurm's
// tag lookup. Thread-safe: all state is in the file system.

#include <atomic>

#include "agent/executor/batch_script.hpp"
#include "agent/executor/executor.hpp"

namespace rtgw::agent {

class LocalExecutor final : public Executor {
 public:
  LocalExecutor(std::string work_dir, RenderOptions render);

  std::string name() const override { return "local"; }
  SubmitOutcome Submit(const JobSpec& spec) override;
  Result<BackendSnapshot> Snapshot() override;
  Status Cancel(const std::string& backend_id) override;
  Result<std::optional<slurm::ClusterInfo>> Describe() override {
    return std::optional<slurm::ClusterInfo>();
  }
  std::chrono::seconds visibility_window() const override { return std::chrono::hours(24 * 365); }
  std::uint64_t backend_calls() const override { return calls_.load(); }

 private:
  std::string work_dir_;
  RenderOptions render_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_EXECUTOR_LOCAL_EXECUTOR_HPP_
