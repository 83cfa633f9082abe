#ifndef RTGW_AGENT_EXECUTOR_SLURM_EXECUTOR_HPP_
#define RTGW_AGENT_EXECUTOR_SLURM_EXECUTOR_HPP_

// Executor on real Slurm. Submit renders the batch script and runs sbatch,
// after a pre-check of the walltime against the mapping's
// max_walltime_minutes and the partition's MaxTime from the last Describe()
// (so a job over the limit never reaches sbatch). Snapshot is one
// `scontrol show job -o`. Thread-safe (the cached catalogue is under a mutex).

#include <memory>
#include <mutex>

#include "agent/executor/batch_script.hpp"
#include "agent/executor/executor.hpp"

namespace rtgw::agent {

class SlurmExecutor final : public Executor {
 public:
  SlurmExecutor(std::shared_ptr<slurm::SlurmClient> client, RenderOptions render,
                std::string output_dir);

  std::string name() const override { return "slurm"; }
  SubmitOutcome Submit(const JobSpec& spec) override;
  Result<BackendSnapshot> Snapshot() override;
  Status Cancel(const std::string& backend_id) override;
  Result<std::optional<slurm::ClusterInfo>> Describe() override;
  std::chrono::seconds visibility_window() const override;
  std::uint64_t backend_calls() const override { return client_->calls(); }

  // The pre-check alone (pure given the catalogue): error message when over a limit.
  static std::optional<std::string> WalltimeViolation(
      const JobSpec& spec, const std::optional<slurm::ClusterInfo>& info);

 private:
  std::shared_ptr<slurm::SlurmClient> client_;
  RenderOptions render_;
  std::string output_dir_;
  mutable std::mutex mu_;
  std::optional<slurm::ClusterInfo> catalogue_;  // guarded by mu_
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_EXECUTOR_SLURM_EXECUTOR_HPP_
