#ifndef RTGW_AGENT_SLURM_JOB_OBSERVATION_HPP_
#define RTGW_AGENT_SLURM_JOB_OBSERVATION_HPP_

// What an executor saw of one job, in the gateway's vocabulary
// (docs/contracts/slurm-states.md). Pure values; no I/O. Thread-safe.

#include <string>
#include <string_view>

#include "agent/slurm/slurm_parse.hpp"

namespace rtgw::agent {

enum class JobPhase {
  kQueued,     // accepted by the backend, not started (PENDING, CONFIGURING, REQUEUED, ...)
  kRunning,    // started, not final (RUNNING, COMPLETING, SUSPENDED, ...)
  kCompleted,  // ended with exit code 0
  kFailed,     // ended otherwise (error_code says how)
  kCancelled,  // cancelled (scancel, or a cancel request we executed)
  kLost,       // the backend no longer knows the job and never told us how it ended
  kUnknown,    // a state we do not recognise: reported to logs, never guessed
};

struct JobObservation {
  JobPhase phase = JobPhase::kUnknown;
  int exit_code = 0;
  int signal = 0;
  std::string error_code;  // for kFailed/kLost:
                           // exit_code|timeout|node_fail|preempted|boot_fail|out_of_memory|lost
  std::string
      message;  // human-readable, e.g. "JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0"
  std::string raw_state;  // backend's own state word
};

// "queued", "running", "completed", "failed", "cancelled" (the event state);
// kLost -> "failed" (with error_code "lost"); kUnknown -> "" (no event).
std::string_view EventState(JobPhase phase);
bool IsTerminal(JobPhase phase);

// Slurm JobState (+ Reason, ExitCode) -> observation.
JobObservation MapSlurmJob(const slurm::SlurmJob& job);

// A job we submitted that the backend no longer lists.
JobObservation VanishedJob(std::string_view backend_id);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_SLURM_JOB_OBSERVATION_HPP_
