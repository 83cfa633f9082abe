#ifndef RTGW_STORAGE_JOB_STORE_HPP_
#define RTGW_STORAGE_JOB_STORE_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::storage {

// Completion callback. Called exactly once, usually on a store-owned thread;
// a read served from memory (GetJob on a cache hit) completes inline on the
// caller's thread before the call returns. Either way it must not block.
template <class T>
using Callback = std::function<void(Result<T>)>;

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
  std::string submission_id;  // fresh UUID; ignored on replay
  std::string accepted_at;    // RFC 3339
  std::string trace_id;
  std::string response_json;  // exact 202 body, stored and replayed byte for byte
};

struct SubmitOutcome {
  bool replayed = false;      // true: an earlier submit with this key; response is the original
  std::string response_json;  // the body to send (original bytes on replay)
};

// A validated execution event.
struct EventRecord {
  std::string tenant_id;
  std::string job_id;
  std::string event_id;
  std::string workspace_id;
  std::string submission_id;
  std::string execution_id;
  jobs::JobState state = jobs::JobState::kQueued;
  std::string occurred_at;  // RFC 3339 as sent
  std::string received_at;  // RFC 3339, gateway clock
  std::string trace_id;
  std::optional<std::string> result_ref_json;  // canonical JSON object or nullopt
  std::optional<std::string> error_json;       // canonical JSON object or nullopt
  std::string fingerprint;                     // hex SHA-256 of the canonical event
};

struct EventOutcome {
  bool idempotent = false;  // true: same event_id and payload seen before; nothing changed
  bool applied = false;     // true: this event moved the job's state
  jobs::JobState state = jobs::JobState::kSubmitted;  // job state after the call
  std::int64_t projection_version = 0;                // after the call
};

struct JobRecord {
  std::string tenant_id;
  std::string job_id;
  std::string workspace_id;
  std::string submission_id;
  std::string management_node_id;
  jobs::JobState state = jobs::JobState::kSubmitted;
  std::string spec_json;
  std::optional<std::string> result_ref_json;
  std::optional<std::string> error_json;
  std::string accepted_at;
  std::string updated_at;
  std::string trace_id;
  std::int64_t projection_version = 1;  // 1 at submit, +1 per applied state change
};

struct EventView {
  std::int64_t seq = 0;  // order of arrival at the gateway, per job ascending
  std::string event_id;
  std::string execution_id;
  jobs::JobState state = jobs::JobState::kQueued;
  std::string occurred_at;
  std::string received_at;
  std::string trace_id;
  std::optional<std::string> result_ref_json;
  std::optional<std::string> error_json;
  bool applied = false;
};

struct JobDetail {
  JobRecord job;
  std::vector<EventView> events;  // ascending seq
};

struct StoreHealth {
  bool reachable = false;
  bool writable = false;
  std::string backend;  // "sqlite" | "postgresql"
  std::string detail;   // human-readable, empty when healthy
};

// The gateway's durable store. Every write is acknowledged (callback with a
// value) only after it is durable. Implementations batch concurrent writes
// (group commit) and never block the caller: every method returns at once and
// completes through its callback on a store thread.
//
// Errors: Submit -> Conflict("...", "idempotency_conflict") for the same key
// with another fingerprint, Conflict("...", "job_id_conflict") for a job_id
// already taken in the tenant. AppendEvent -> NotFound for an unknown job (or
// another tenant's), Conflict(.., "event_conflict") for a reused event_id with
// another fingerprint, Conflict(.., "submission_mismatch") when the event's
// submission_id is not the job's. Unavailable(..) when the store cannot be
// reached or written; nothing is changed then.
//
// Thread-safety: safe for concurrent use. Lifetime: Close() (or the
// destructor) drains queued work, calls every pending callback, and joins.
class JobStore {
 public:
  virtual ~JobStore() = default;

  virtual void Submit(SubmitRecord record, Callback<SubmitOutcome> done) = 0;
  virtual void AppendEvent(EventRecord record, Callback<EventOutcome> done) = 0;
  virtual void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) = 0;
  virtual void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) = 0;
  virtual void CheckHealth(Callback<StoreHealth> done) = 0;
  virtual void Close() = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_STORE_HPP_
