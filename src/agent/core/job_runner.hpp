#ifndef RTGW_AGENT_CORE_JOB_RUNNER_HPP_
#define RTGW_AGENT_CORE_JOB_RUNNER_HPP_

// The part of the agent that needs no gateway: journal + executor.
//   Submit(sid)   intent (fsync'd) -> backend submit -> backend id; or, when an
//                 earlier attempt's outcome is unknown (crash, timeout), a lookup
//                 by tag first. One submission is at most one backend job.
//   Reconcile()   ONE executor snapshot, then every active job's events are
//                 journaled up to what the snapshot shows (queued -> running ->
//                 terminal); a job the backend no longer knows is `lost`.
//   Cancel(sid)   records the request and asks the backend ONCE. A cancel the backend took
//                 is never sent again by this process, however often the gateway lists the
//                 request or Reconcile sees the job still running (Slurm escalates to
//                 SIGKILL after KillWait by itself). A cancel the backend did not take
//                 (scancel failed, a local job still starting) is re-sent by Reconcile with
//                 exponential backoff (Options::cancel_retry_*). After a restart the
//                 journal's cancel_requested makes the new process send it once more.
// Events go into the journal only; the agent's sender delivers them.
//
// Thread-safe: a submission is handled by one caller at a time (busy set);
// the journal and executor are thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
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
    // Backoff between attempts of a cancel the backend did not take (doubling, jittered
    // to [d/2, d], at most cancel_retry_max).
    std::chrono::milliseconds cancel_retry_initial{500};
    std::chrono::milliseconds cancel_retry_max{60'000};
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
  // Releases the busy mark of `sid` (taken with TryBusy) when it goes out of scope.
  struct BusyGuard {
    JobRunner* runner;
    const std::string& sid;
    ~BusyGuard() { runner->ReleaseBusy(sid); }
  };
  // Asks the backend to cancel `job` unless this process already had a cancel of it taken,
  // another thread is sending one, or a failed attempt's backoff has not passed yet.
  void SendCancel(const JournalJob& job);

  // One cancel per request: what this process sent for a submission.
  struct CancelAttempt {
    bool taken = false;    // the backend accepted it: never sent again
    bool sending = false;  // a thread is in executor_->Cancel for it now
    int failures = 0;
    Clock::time_point next_try{};
  };

  Journal* journal_;  // not owned
  std::shared_ptr<Executor> executor_;
  Options options_;
  std::function<void()> on_event_;

  mutable std::mutex mu_;
  std::set<std::string> busy_;
  std::unordered_map<std::string, Clock::time_point> sbatch_started_;
  std::unordered_map<std::string, CancelAttempt> cancels_;  // erased when the job is terminal
  std::mt19937_64 rng_{std::random_device{}()};
  int in_flight_ = 0;
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_JOB_RUNNER_HPP_
