#ifndef RTGW_AGENT_EXECUTOR_EXECUTOR_HPP_
#define RTGW_AGENT_EXECUTOR_EXECUTOR_HPP_

// Where jobs run. Two implementations: SlurmExecutor (real Slurm through a
// SlurmClient) and LocalExecutor (child processes on this machine). The agent
// core only talks to this interface. Implementations are thread-safe.
//
// Duplicate safety rests on two calls: Submit() tags the job with
// BackendTag(submission_id), and Snapshot() returns every job the backend
// still knows with its tag, so after a crash the agent finds a job it may have
// submitted before submitting it again.

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/executor/job_spec.hpp"
#include "agent/slurm/job_observation.hpp"
#include "agent/slurm/slurm_client.hpp"
#include "common/error.hpp"

namespace rtgw::agent {

struct SubmitOutcome {
  enum class Kind {
    kSubmitted,  // backend_id set
    kRejected,   // will never run; error_code/message say why (posted as a `failed` event)
    kUnknown,    // outcome unknown or backend unavailable: look up by tag, then retry
  };
  Kind kind = Kind::kUnknown;
  std::string backend_id;
  std::string error_code;  // for kRejected: walltime_exceeds_limit, submit_rejected,
                           // unsupported_payload, ...
  std::string message;
};

// Everything the backend knows, from ONE query.
struct BackendSnapshot {
  std::unordered_map<std::string, JobObservation> by_id;   // backend id -> observation
  std::unordered_map<std::string, std::string> id_by_tag;  // BackendTag -> backend id (newest)
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;  // "slurm" | "local"
  virtual SubmitOutcome Submit(const JobSpec& spec) = 0;
  virtual Result<BackendSnapshot> Snapshot() = 0;
  // Asks the backend to stop the job; the end shows up in a later Snapshot.
  virtual Status Cancel(const std::string& backend_id) = 0;
  // Heartbeat catalogue; nullopt for backends without one (local). Refreshes
  // the cached catalogue the walltime pre-check uses.
  virtual Result<std::optional<slurm::ClusterInfo>> Describe() = 0;
  // How long a finished job stays visible in Snapshot() (Slurm: MinJobAge). A
  // job with an intent older than this that is not found cannot be told apart
  // from one that finished and was purged: the agent reports it lost.
  virtual std::chrono::seconds visibility_window() const = 0;
  // Backend commands run so far (Slurm calls; the local executor counts directory scans).
  virtual std::uint64_t backend_calls() const = 0;
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_EXECUTOR_EXECUTOR_HPP_
