#ifndef RTGW_AGENT_SLURM_SLURM_CLIENT_HPP_
#define RTGW_AGENT_SLURM_SLURM_CLIENT_HPP_

// The agent's view of Slurm: submit a rendered batch script, list every job
// slurmctld still holds in ONE call, cancel, and describe the cluster.
// Implementations must be thread-safe (the agent's loops call concurrently).
// The CLI implementation (cli_slurm_client.hpp) is the one we ship; see
// docs/contracts/slurm-states.md for why the client commands and not slurmrestd.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/slurm/slurm_parse.hpp"
#include "common/error.hpp"

namespace rtgw::agent::slurm {

struct SubmitResult {
  enum class Kind {
    kSubmitted,  // job_id is set
    kRejected,   // Slurm refused the job for good (bad partition, limits): message says why
    kUnknown,    // the outcome is not known (timeout, controller unreachable): look the job
                 // up by its tag before trying again
  };
  Kind kind = Kind::kUnknown;
  std::string job_id;
  std::string message;
};

struct ClusterInfo {
  SlurmConfig config;
  std::vector<SlurmPartition> partitions;
};

class SlurmClient {
 public:
  virtual ~SlurmClient() = default;
  // `script` is a complete batch script (#SBATCH lines included), given to sbatch on stdin.
  virtual SubmitResult Submit(const std::string& script) = 0;
  // Every job slurmctld holds (running, pending, and finished within MinJobAge). One call.
  virtual Result<std::vector<SlurmJob>> ListJobs() = 0;
  // scancel; cancelling a finished or unknown job is not an error.
  virtual Status Cancel(const std::string& job_id) = 0;
  virtual Result<ClusterInfo> Describe() = 0;
  // Number of Slurm commands run so far (for the "one query per cycle" tests and bench).
  virtual std::uint64_t calls() const = 0;
};

}  // namespace rtgw::agent::slurm

#endif  // RTGW_AGENT_SLURM_SLURM_CLIENT_HPP_
