#ifndef RTGW_STORAGE_JOB_STORE_HPP_
#define RTGW_STORAGE_JOB_STORE_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "jobs/job_records.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::storage {

// Completion callback. Called exactly once, usually on a store-owned thread;
// a read served from memory (GetJob on a cache hit) completes inline on the
// caller's thread before the call returns. Either way it must not block.
template <class T>
using Callback = std::function<void(Result<T>)>;

// The records the store keeps are the job domain's (jobs/job_records.hpp).
using jobs::EventOutcome;
using jobs::EventRecord;
using jobs::EventView;
using jobs::JobDetail;
using jobs::JobRecord;
using jobs::SubmitOutcome;
using jobs::SubmitRecord;

struct StoreHealth {
  bool reachable = false;
  bool writable = false;
  std::string backend;  // "sqlite" | "postgresql"
  std::string detail;   // human-readable, empty when healthy
};

// The outcome of JobStore::CheckIntegrity.
struct StoreIntegrity {
  bool ok = false;
  std::string detail;  // the store's own text: for the log, never shown to clients
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
// submission_id is not the job's, Conflict(.., "event_limit") for a new event
// that would not be applied when the job already holds
// record.max_unapplied_events such events (jobs::CheckUnappliedLimit; applied
// events and replays are never refused by it). Unavailable(..) when the store
// cannot be reached or written; nothing is changed then.
//
// CheckIntegrity (GET /api/health?deep=1) always completes with a value: the
// backend's own consistency check of its files, or ok with a detail saying why
// there is none. It may read the whole database: not for frequent probes.
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
  virtual void CheckIntegrity(Callback<StoreIntegrity> done) = 0;
  virtual void Close() = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_STORE_HPP_
