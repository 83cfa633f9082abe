#ifndef RTGW_AGENT_CORE_JOB_RUNNER_HPP_
#define RTGW_AGENT_CORE_JOB_RUNNER_HPP_

// The part of the agent that needs no gateway: journal + executor.
//   Submit(sid)   intent (fsync'd) -> backend submit -> backend id; or, when an
//                 earlier attempt's outcome is unknown (crash, timeout), a lookup
//                 by tag first. One submission is at most one backend job.
//   Reconcile()   ONE executor snapshot, then every active job's events are
//                 journaled up to what the snapshot shows (queued -> running ->
//                 terminal); a job the backend no longer knows is `lost`.
//   Cancel(sid)   records the request and asks the backend; repeated by
//                 Reconcile until the job is terminal.
// Events go into the journal only; the agent's sender delivers them.
//
// Thread-safe: a submission is handled by one caller at a time (busy set);
// the journal and executor are thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "agent/executor/executor.hpp"
#include "agent/journal/journal.hpp"

namespace rtgw::agent {

class JobRunner {
 public:
  enum class SubmitResult {
    kDone,     // submitted (or found by tag) or refused for good: the lease can be dropped
    kPending,  // outcome unknown or backend unavailable: keep the lease, retry later
    kSkipped,  // another thread is on it, or nothing to do in this phase
  };

  struct Options {
    std::string work_dir;  // absolute; for result_ref.output_uri
    // Test hook: "after-sbatch" SIGKILLs the process right after a successful submit.
    std::string crash_point;
  };

  JobRunner(Journal* journal, std::shared_ptr<Executor> executor, Options options,
            std::function<void()> on_event);

  SubmitResult Submit(const std::string& submission_id);
  // A lease from the gateway: journals it and submits. A submission the journal does not
  // know yet is journaled directly as the intent (one commit before sbatch, one after).
  SubmitResult SubmitLease(const JobSpec& spec, const std::string& lease_id);
  // Refuses a leased job without submitting it (partition not served, ...).
  void Refuse(const JobSpec& spec, const std::string& error_code, const std::string& message);
  void Reconcile();
  void Cancel(const std::string& submission_id);
  int in_flight() const;

 private:
  using Clock = std::chrono::steady_clock;
  SubmitResult SubmitLocked(JournalJob job, bool intent_recorded);
  void Apply(const JournalJob& job, const JobObservation& obs);
  // `submitted`: also records backend_id as the job's Slurm id (same commit).
  void Record(const JobSpec& spec, const std::string& state, const std::string& backend_id,
              const JobObservation* obs, bool terminal, bool submitted = false);
  std::string OutputUri(const std::string& submission_id) const;
  bool TryBusy(const std::string& sid);
  void ReleaseBusy(const std::string& sid);

  Journal* journal_;  // not owned
  std::shared_ptr<Executor> executor_;
  Options options_;
  std::function<void()> on_event_;

  mutable std::mutex mu_;
  std::set<std::string> busy_;
  std::unordered_map<std::string, Clock::time_point> sbatch_started_;
  int in_flight_ = 0;
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_JOB_RUNNER_HPP_
