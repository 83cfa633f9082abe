#include "agent/slurm/job_observation.hpp"

#include <array>
#include <utility>

namespace rtgw::agent {
namespace {

// What the signal in a cancelled job's ExitCode says happened. Slurm's scancel sends SIGCONT
// and SIGTERM, then SIGKILL after KillWait to a job that has not ended; a job cancelled while
// pending gets no signal. The event carries Slurm's number as it is (`error.signal`).
std::string CancelledHow(int signal) {
  switch (signal) {
    case 0:
      return "; cancelled with no signal delivered (it had not started, or ended before one "
             "arrived)";
    case 15:
      return "; stopped by SIGTERM (15)";
    case 9:
      return "; killed by SIGKILL (9) after KillWait: it had not ended on SIGTERM (a job "
             "cancelled as it starts can miss the SIGTERM before its script runs)";
    default:
      return "; ended by signal " + std::to_string(signal);
  }
}

}  // namespace

std::string_view EventState(JobPhase phase) {
  switch (phase) {
    case JobPhase::kQueued:
      return "queued";
    case JobPhase::kRunning:
      return "running";
    case JobPhase::kCompleted:
      return "completed";
    case JobPhase::kFailed:
      return "failed";
    case JobPhase::kCancelled:
      return "cancelled";
    case JobPhase::kLost:
      return "failed";
    case JobPhase::kUnknown:
      return "";
  }
  return "";
}

bool IsTerminal(JobPhase phase) {
  return phase == JobPhase::kCompleted || phase == JobPhase::kFailed ||
         phase == JobPhase::kCancelled || phase == JobPhase::kLost;
}

JobObservation MapSlurmJob(const slurm::SlurmJob& job) {
  JobObservation o;
  o.raw_state = job.state;
  o.exit_code = job.exit_code;
  o.signal = job.signal;
  o.message = "JobState=" + job.state + " Reason=" + job.reason +
              " ExitCode=" + std::to_string(job.exit_code) + ":" + std::to_string(job.signal);
  struct Row {
    std::string_view state;
    JobPhase phase;
    std::string_view error_code;
  };
  // Slurm 22.05 job states (slurm.h job_states + flags as scontrol prints them).
  static constexpr std::array<Row, 22> kTable = {{
      {"PENDING", JobPhase::kQueued, ""},
      {"CONFIGURING", JobPhase::kQueued, ""},
      {"REQUEUED", JobPhase::kQueued, ""},
      {"REQUEUE_HOLD", JobPhase::kQueued, ""},
      {"REQUEUE_FED", JobPhase::kQueued, ""},
      {"RESV_DEL_HOLD", JobPhase::kQueued, ""},
      {"RUNNING", JobPhase::kRunning, ""},
      {"COMPLETING", JobPhase::kRunning, ""},  // exit code not final yet
      {"SUSPENDED", JobPhase::kRunning, ""},
      {"STOPPED", JobPhase::kRunning, ""},
      {"SIGNALING", JobPhase::kRunning, ""},
      {"STAGE_OUT", JobPhase::kRunning, ""},
      {"RESIZING", JobPhase::kRunning, ""},
      {"COMPLETED", JobPhase::kCompleted, ""},
      {"FAILED", JobPhase::kFailed, "exit_code"},
      {"CANCELLED", JobPhase::kCancelled, ""},
      {"TIMEOUT", JobPhase::kFailed, "timeout"},
      {"DEADLINE", JobPhase::kFailed, "timeout"},
      {"NODE_FAIL", JobPhase::kFailed, "node_fail"},
      {"PREEMPTED", JobPhase::kFailed, "preempted"},
      {"BOOT_FAIL", JobPhase::kFailed, "boot_fail"},
      {"OUT_OF_MEMORY", JobPhase::kFailed, "out_of_memory"},
  }};
  for (const Row& row : kTable) {
    if (row.state == job.state) {
      o.phase = row.phase;
      o.error_code = std::string(row.error_code);
      // COMPLETED with a non-zero exit cannot happen in Slurm; never report it as success.
      if (o.phase == JobPhase::kCompleted && (job.exit_code != 0 || job.signal != 0)) {
        o.phase = JobPhase::kFailed;
        o.error_code = "exit_code";
      }
      if (o.phase == JobPhase::kCancelled) o.message += CancelledHow(job.signal);
      return o;
    }
  }
  o.phase = JobPhase::kUnknown;  // REVOKED, SPECIAL_EXIT, future states: do not guess
  return o;
}

JobObservation VanishedJob(std::string_view backend_id) {
  JobObservation o;
  o.phase = JobPhase::kLost;
  o.error_code = "lost";
  o.raw_state = "";
  o.message = "job " + std::string(backend_id) +
              " is no longer known to the backend and its end was not observed";
  return o;
}

}  // namespace rtgw::agent
