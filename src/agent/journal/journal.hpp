#ifndef RTGW_AGENT_JOURNAL_JOURNAL_HPP_
#define RTGW_AGENT_JOURNAL_JOURNAL_HPP_

// The agent's durable memory: one local SQLite file (WAL, synchronous=FULL),
// so nothing the agent promised is lost across kill -9.
//
// jobs: one row per submission the agent leased, with its phase:
//   leased     -> spec stored, sbatch not attempted (can be released)
//   submitting -> the INTENT: committed before sbatch runs; after a crash in
//                 this phase the job is looked up in the backend by its tag
//                 before any new sbatch
//   submitted  -> backend id known
//   terminal   -> its final event is journaled
//   released   -> handed back to the gateway unsubmitted
// events: every event the agent will post, with a deterministic id
//   "<submission_id>:<state>", the exact body (so a resend is byte-identical
//   and the gateway answers idempotent), attempts and next attempt time.
//
// Thread-safe: one connection behind a mutex (the agent's loops share it).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor/job_spec.hpp"
#include "common/error.hpp"

namespace rtgw::agent {

enum class JournalPhase { kLeased, kSubmitting, kSubmitted, kTerminal, kReleased };
std::string_view ToString(JournalPhase phase);

struct JournalJob {
  JobSpec spec;
  std::string lease_id;
  JournalPhase phase = JournalPhase::kLeased;
  std::string backend_id;
  std::int64_t intent_at_ms = 0;  // when the phase became submitting (unix ms)
  std::string last_state;         // last event state journaled ("" = none)
  bool cancel_requested = false;
};

struct JournalEvent {
  std::int64_t seq = 0;
  std::string event_id;
  std::string submission_id;
  std::string job_id;
  std::string body;  // JSON sent as is
  int attempts = 0;
};

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const std::string& path);
  ~Journal();

  Result<std::optional<JournalJob>> Get(const std::string& submission_id);
  // New lease: inserts the job as leased. An existing row keeps its phase (a re-lease
  // of a job already submitted must not submit again) and gets the new lease id; a
  // released row becomes leased again. Returns the row as stored.
  Result<JournalJob> RecordLease(const JobSpec& spec, const std::string& lease_id);
  // The intent, committed BEFORE sbatch. Only from leased/submitting.
  Status MarkSubmitting(const std::string& submission_id, std::int64_t now_ms);
  // A fresh lease that goes straight to sbatch: inserts the job already in phase submitting
  // (one commit instead of RecordLease + MarkSubmitting). kConflict if the row exists.
  Status RecordIntent(const JobSpec& spec, const std::string& lease_id, std::int64_t now_ms);
  Status MarkSubmitted(const std::string& submission_id, const std::string& backend_id);
  Status MarkReleased(const std::string& submission_id);
  Status MarkCancelRequested(const std::string& submission_id);
  // One transaction: the event (ignored if its id exists), last_state, and
  // phase=terminal when `terminal`. With `backend_id`, also phase=submitted and the id
  // (from leased/submitting): the sbatch result and its `queued` event in one commit.
  Status RecordEvent(const std::string& submission_id, const std::string& state,
                     const std::string& body, bool terminal, const std::string& backend_id = {});
  // Jobs in leased, submitting or submitted.
  Result<std::vector<JournalJob>> Active();

  // Events to send now, oldest first, at most one per submission: the oldest undelivered
  // one, and only once its retry time has come. So a job's events reach the gateway in the
  // order they happened, whatever the retries (a `completed` never overtakes a `running`).
  Result<std::vector<JournalEvent>> DueEvents(std::int64_t now_ms, int limit);
  // Every event of one submission, in the order they were journaled (tests, inspection).
  Result<std::vector<JournalEvent>> EventsOf(const std::string& submission_id);
  Status MarkDelivered(const std::string& event_id, std::int64_t now_ms);
  Status MarkRetry(const std::string& event_id, int attempts, std::int64_t next_attempt_ms);
  Status MarkDead(const std::string& event_id, const std::string& reason);
  // Re-announce after a restart: every delivered event of a non-terminal job is
  // due again (its resend is idempotent at the gateway).
  Status ReannounceInFlight();
  Result<std::int64_t> UndeliveredCount();
  // Retention: deletes events delivered before `delivered_before_ms` of terminal jobs, then
  // terminal or released jobs that have no event left. Undelivered and refused ("dead")
  // events, and every non-terminal job, are kept. Returns the number of jobs deleted.
  Result<std::int64_t> Prune(std::int64_t delivered_before_ms);

  struct Impl;

 private:
  explicit Journal(std::unique_ptr<Impl> impl);
  std::mutex mu_;
  std::unique_ptr<Impl> impl_;
};

// Deterministic event id: "<submission_id>:<state>".
inline std::string EventId(const std::string& submission_id, const std::string& state) {
  return submission_id + ":" + state;
}

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_JOURNAL_JOURNAL_HPP_
