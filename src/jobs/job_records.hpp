#ifndef RTGW_JOBS_JOB_RECORDS_HPP_
#define RTGW_JOBS_JOB_RECORDS_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_state.hpp"

// The job domain's records: what the API layer builds from a request, what a
// store keeps and returns. Plain values; no I/O. The rules that turn one into
// another live in jobs/job_rules.hpp.
namespace rtgw::jobs {

// A validated, accepted submit, ready to persist. The API layer builds it;
// the store only enforces uniqueness and stores it.
struct SubmitRecord {
  std::string tenant_id;
  std::string workspace_id;
  std::string job_id;
  std::string idempotency_key;
  std::string management_node_id;
  std::string request_fingerprint;  // hex SHA-256 of the canonical request
  std::string spec_json;      // canonical JSON: execution_profile, resource_shape, payload_ref,
                              // requested_by
  std::string requested_by;   // requested_by.user_id of the body (also in spec_json)
  std::string submitted_by;   // the token's sub: who submitted (actor trail)
  std::string submission_id;  // fresh UUID; ignored on replay
  std::string accepted_at;    // RFC 3339
  std::string trace_id;
  std::string response_json;  // exact 202 body, stored and replayed byte for byte
  // Active-job quotas of the limits file (docs/contracts/limits.md "Active-job quotas"), checked
  // by the store in the insert's transaction, after the idempotency lookup. Absent: not counted.
  std::optional<std::int64_t> max_active_jobs;           // of the tenant
  std::optional<std::int64_t> max_active_jobs_per_user;  // of requested_by
};

struct SubmitOutcome {
  bool replayed = false;      // true: an earlier submit with this key; response is the original
  std::string response_json;  // the body to send (original bytes on replay)
};

// Who made a change (actor trail, docs/contracts/jwt.md): the token's sub,
// and node_id for node tokens. Empty sub: recorded before the trail existed.
struct Actor {
  std::string sub;
  std::optional<std::string> node_id;
};

// Never-applied events a job may hold unless configured otherwise
// (--max-unapplied-events-per-job).
inline constexpr std::int64_t kMaxUnappliedEventsPerJobDefault = 1'000;

// A validated execution event.
struct EventRecord {
  std::string tenant_id;
  std::string job_id;
  std::string event_id;
  std::string workspace_id;
  std::string submission_id;
  std::string execution_id;
  JobState state = JobState::kQueued;
  std::string occurred_at;  // RFC 3339 as sent
  std::string received_at;  // RFC 3339, gateway clock
  std::string trace_id;
  std::optional<std::string> result_ref_json;  // canonical JSON object or nullopt
  std::optional<std::string> error_json;       // canonical JSON object or nullopt
  std::string fingerprint;                     // hex SHA-256 of the canonical event
  Actor actor;                                 // who posted it (not part of the fingerprint)
  // The cap on the job's stored never-applied events (late or stale states):
  // such an event finding this many is refused (jobs::CheckUnappliedLimit).
  // --max-unapplied-events-per-job; not part of the fingerprint.
  std::int64_t max_unapplied_events = kMaxUnappliedEventsPerJobDefault;
};

struct EventOutcome {
  bool idempotent = false;  // true: same event_id and payload seen before; nothing changed
  bool applied = false;     // true: this event moved the job's state
  JobState state = JobState::kSubmitted;  // job state after the call
  std::int64_t projection_version = 0;    // after the call
};

struct JobRecord {
  std::string tenant_id;
  std::string job_id;
  std::string workspace_id;
  std::string submission_id;
  std::string management_node_id;
  JobState state = JobState::kSubmitted;
  std::string spec_json;
  std::optional<std::string> result_ref_json;
  std::optional<std::string> error_json;
  std::string accepted_at;
  std::string updated_at;
  std::string trace_id;
  std::int64_t projection_version = 1;  // 1 at submit, +1 per applied state change
  std::string submitted_by;             // the submitting token's sub ("" before the trail)
};

struct EventView {
  std::int64_t seq = 0;  // order of arrival at the gateway, per job ascending
  std::string event_id;
  std::string execution_id;
  JobState state = JobState::kQueued;
  std::string occurred_at;
  std::string received_at;
  std::string trace_id;
  std::optional<std::string> result_ref_json;
  std::optional<std::string> error_json;
  bool applied = false;
  Actor actor;
};

struct JobDetail {
  JobRecord job;
  std::vector<EventView> events;  // ascending seq
};

}  // namespace rtgw::jobs

#endif  // RTGW_JOBS_JOB_RECORDS_HPP_
