#ifndef RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_
#define RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_

// SlurmClient over the Slurm client commands (sbatch, scontrol, scancel,
// sinfo), run with fork/exec and a timeout each (agent/proc). Thread-safe.
//
// Commands (Slurm 22.05):
//   submit:   sbatch --parsable            (script on stdin)
//   list:     scontrol show job -o         (all jobs in one call; no sacct without slurmdbd)
//   cancel:   scancel <id>
//   describe: scontrol show config + sinfo -h -o '%P|%a|%l|%F|%C'

#include <atomic>
#include <chrono>
#include <string>

#include "agent/slurm/slurm_client.hpp"

namespace rtgw::agent::slurm {

struct CliSlurmOptions {
  std::string bin_dir;  // directory of sbatch etc.; empty: PATH
  std::chrono::milliseconds timeout{30'000};
};

class CliSlurmClient final : public SlurmClient {
 public:
  explicit CliSlurmClient(CliSlurmOptions options) : options_(std::move(options)) {}

  SubmitResult Submit(const std::string& script) override;
  Result<std::vector<SlurmJob>> ListJobs() override;
  Status Cancel(const std::string& job_id) override;
  Result<ClusterInfo> Describe() override;
  std::uint64_t calls() const override { return calls_.load(); }

 private:
  std::string Bin(const char* name) const;

  CliSlurmOptions options_;
  std::atomic<std::uint64_t> calls_{0};
};

// Classifies a failed sbatch (exit code, stderr) as a definitive rejection or
// an unknown outcome. Pure; exposed for tests.
SubmitResult::Kind ClassifySbatchFailure(int exit_code, bool timed_out, const std::string& err);

}  // namespace rtgw::agent::slurm

#endif  // RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_
