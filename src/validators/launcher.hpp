#ifndef RTGW_VALIDATORS_LAUNCHER_HPP_
#define RTGW_VALIDATORS_LAUNCHER_HPP_

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::validators {

// What one execution of a validator needs. The job gets exactly the small env
// INPUT_URI, CALLBACK_URL, CALLBACK_ID, RUN_ID, VALIDATOR_VERSION (plus what
// its launcher needs to authenticate, see each backend); everything else is in
// the envelope at INPUT_URI.
struct LaunchSpec {
  std::string run_id;
  std::string callback_id;
  std::string validator;  // label validator=<name>
  std::string version;    // label version=<version>; VALIDATOR_VERSION
  std::string input_uri;
  std::string callback_url;
  std::chrono::seconds timeout{600};  // callback deadline, from launch
  // The execution's runtime job (tenant and job id).
  std::string tenant_id;
  std::string job_id;
  // Backend-specific target: local -> argv; cloud-run -> "projects/P/locations/L/jobs/J".
  std::vector<std::string> command;
  std::string cloud_run_job;
};

// Execution status as the launcher sees it: PENDING/RUNNING/SUCCEEDED/
// FAILED/CANCELLED (storage/validator_run_store.hpp), `detail` says why
// (exit code, Cloud Run condition). An execution the launcher no longer
// knows (a local child of a previous process) is FAILED "execution lost".
struct ExecutionStatus {
  std::string status;
  std::string detail;
  // False when this launcher cannot see the execution at all (a local child
  // started by another process, which may still run and call back to it): the
  // poller acts on such an answer only at the callback deadline. True for what
  // the launcher observed, including an execution its backend says is gone.
  bool observed = true;
};

// Starts validator jobs and answers for them. Every call BLOCKS (process
// spawn, HTTP): only the validation service's threads call it.
// Thread-safety: implementations are safe for concurrent use.
class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual std::string_view name() const = 0;  // "local" | "cloud-run" | "slurm"
  // True when the execution's runtime job runs on a management node (slurm):
  // the service then submits that job to the validator's node and queue only
  // after the execution is stored, and posts no job events itself (the node's
  // agent reports the job's lifecycle). False: the job is the service's own
  // record of the execution ("validator-launcher:<name>") and it posts
  // running/terminal events.
  virtual bool runs_on_agent() const { return false; }
  // Starts one execution; returns its execution name.
  virtual Result<std::string> Launch(const LaunchSpec& spec) = 0;
  // The execution's status now (the poller asks every poll interval while it
  // is open). An error means the backend could not answer (retried).
  virtual Result<ExecutionStatus> Poll(const std::string& execution_name) = 0;
  // Best effort: stops a running execution.
  virtual Status Cancel(const std::string& execution_name) = 0;
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_LAUNCHER_HPP_
