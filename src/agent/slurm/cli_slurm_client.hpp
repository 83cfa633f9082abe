#ifndef RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_
#define RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_

// SlurmClient over the Slurm client commands (sbatch, scontrol, scancel,
// sinfo), run as child processes with a timeout each (process/). Thread-safe.
//
// Commands (Slurm 22.05):
//   submit:   sbatch --parsable            (script on stdin)
//   list:     scontrol show job -o         (all jobs in one call; no sacct without slurmdbd)
//   cancel:   scancel <id>
//   describe: scontrol show config + sinfo -h -o '%P|%a|%l|%F|%C'
//
// The commands run through CliSlurmOptions::run when it is set: tests plug an in-memory
// slurmctld there (FakeSlurmCluster, fake_slurm_cluster.hpp), so everything this client
// reads (parsers, failure classification, call counts) is the code that runs in production.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agent/slurm/slurm_client.hpp"

namespace rtgw::agent::slurm {

// What one Slurm command did, as the client reads it.
struct SlurmCommandResult {
  int exit_code = -1;      // -1 when it did not exit normally
  bool timed_out = false;  // killed at the deadline: what it did is not known
  std::string out;
  std::string err;
};

// Runs argv (argv[0] is "sbatch", "scontrol", "scancel" or "sinfo", prefixed by bin_dir when
// set) with `stdin_data`, bounded by `timeout`. An Error when the command could not start.
// Called concurrently.
using SlurmCommandRunner = std::function<Result<SlurmCommandResult>(
    const std::vector<std::string>& argv, const std::string& stdin_data,
    std::chrono::milliseconds timeout)>;

struct CliSlurmOptions {
  std::string bin_dir;  // directory of sbatch etc.; empty: PATH
  std::chrono::milliseconds timeout{30'000};
  SlurmCommandRunner run;  // empty: child processes (process::Run)
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
  // Runs one command and counts it.
  Result<SlurmCommandResult> Run(std::vector<std::string> argv, const std::string& stdin_data);

  CliSlurmOptions options_;
  std::atomic<std::uint64_t> calls_{0};
};

// Classifies a failed sbatch (exit code, stderr) as a definitive rejection or
// an unknown outcome. Pure; exposed for tests.
SubmitResult::Kind ClassifySbatchFailure(int exit_code, bool timed_out, const std::string& err);

}  // namespace rtgw::agent::slurm

#endif  // RTGW_AGENT_SLURM_CLI_SLURM_CLIENT_HPP_
