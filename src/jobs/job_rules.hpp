#ifndef RTGW_JOBS_JOB_RULES_HPP_
#define RTGW_JOBS_JOB_RULES_HPP_

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "jobs/job_records.hpp"
#include "jobs/job_state.hpp"

// The rules of writing a job, decided once for every store backend. Pure:
// each function gets what the backend read and says what to write (or what
// to answer); the backends only read and write rows. No I/O, no clock.
namespace rtgw::jobs {

// ---- Submit ----

// The row a submit inserts: state submitted, projection_version 1, updated_at
// = accepted_at, no result or error.
JobRecord JobAfterSubmit(const SubmitRecord& r);

// What a submit finds under its unique keys. `by_key` is the job stored under
// (tenant, idempotency_key), when there is one.
struct SubmitFinding {
  struct ByKey {
    std::string request_fingerprint;
    std::string response_json;
  };
  std::optional<ByKey> by_key;
  bool job_id_taken = false;  // (tenant, job_id) exists
};

// A submit that could not insert its row: the key decides first (same
// fingerprint: replay with the stored bytes; another: idempotency_conflict),
// then the job id (job_id_conflict). With nothing found the insert proceeds:
// SubmitOutcome{replayed = false, response_json = r.response_json}.
Result<SubmitOutcome> DecideSubmit(const SubmitFinding& found, const SubmitRecord& r);

// The active jobs (submitted, queued, running) a new submit finds, read in the
// insert's transaction, each only when the record carries its quota. A count
// may stop at the quota (SQL LIMIT): only "below it or not" matters.
struct ActiveJobCounts {
  std::int64_t tenant = 0;
  std::int64_t user = 0;  // of r.requested_by in the tenant
};

// A submit DecideSubmit lets through, against the record's quotas (checked
// after the idempotency lookup: a replay never gets here). Ok below both;
// else TooManyRequests(.., "quota_exceeded") naming the limit and its value,
// the tenant's first.
Status CheckSubmitQuota(const SubmitRecord& r, const ActiveJobCounts& active);

// ---- Execution events ----

// The stored job row an event is checked against (read under the row's
// write lock).
struct JobHead {
  JobState state = JobState::kSubmitted;
  std::string submission_id;
  std::int64_t projection_version = 0;
  std::int64_t unapplied_events = 0;  // stored, never applied (job_unapplied_events)
};

enum class EventVerdict {
  kApply,               // store the event (applied) and move the job: JobAfterEvent
  kKeep,                // store the event in history only (late or stale state)
  kReplay,              // same event_id, same payload: change nothing, answer idempotent
  kEventConflict,       // same event_id, other payload: 409 event_conflict
  kSubmissionMismatch,  // not the job's current submission: 409 submission_mismatch
};

// In this order: a known event_id decides first (replay or conflict, whatever
// else the event says); then the submission; then whether the reported state
// moves the job forward (ShouldApply).
// `known_fingerprint`: the fingerprint of the stored event with this
// event_id, nullopt when there is none. A backend may decide optimistically
// with nullopt before looking (its insert of the event then proves the id is
// new); when the insert finds the id taken, or the verdict is
// kSubmissionMismatch, it must look the id up and decide again.
EventVerdict DecideEvent(const JobHead& job, const std::optional<std::string>& known_fingerprint,
                         const EventRecord& e);

// What the store answers for `verdict` (conflicts as errors): kApply -> the
// new state and projection_version + 1; kKeep and kReplay -> the job as it is.
Result<EventOutcome> EventOutcomeFor(EventVerdict verdict, const JobHead& job,
                                     const EventRecord& e);

// A kKeep event (stored, never applied) when the job already stores
// `stored_unapplied` such events: Conflict(.., "event_limit") at
// e.max_unapplied_events, nothing is written then; Ok below it. A backend asks
// only for kKeep events whose event_id is new (a replay or a conflict decides
// first), so applied events and replays are never refused by the cap.
// `stored_unapplied` is the job row's counter (JobHead::unapplied_events).
Status CheckUnappliedLimit(std::int64_t stored_unapplied, const EventRecord& e);

// The job row after an applied event: the reported state, updated_at =
// received_at, projection_version + 1; a result_ref/error the event carries
// replaces the stored one, an absent one keeps it.
void ApplyEvent(JobRecord& job, const EventRecord& e);

// ---- Cancel requests ----

// What a cancel request finds, read under the job row's lock.
struct CancelFacts {
  JobState state = JobState::kSubmitted;
  std::string management_node_id;
  bool cancel_recorded = false;  // a cancel request is stored already
  bool ever_leased = false;      // an agent has leased the job at some time
};

enum class CancelVerdict {
  kAlreadyRequested,   // cancelled, or a request is stored: change nothing
  kRecord,             // store the request; the agent delivers it
  kRecordAndCancelNow  // store it and apply the gateway's cancel event now (no agent has it)
};

// A request from a management node (`requesting_node`) for another node's job
// -> node_mismatch (403); a completed or failed job -> job_terminal (409).
Result<CancelVerdict> DecideCancel(const CancelFacts& facts,
                                   const std::optional<std::string>& requesting_node,
                                   const std::string& job_id);

}  // namespace rtgw::jobs

#endif  // RTGW_JOBS_JOB_RULES_HPP_
