#ifndef RTGW_STORAGE_NODE_STORE_HPP_
#define RTGW_STORAGE_NODE_STORE_HPP_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage {

// Management nodes, leases and cancel requests (docs/contracts/agent-protocol.md),
// persisted next to the jobs of JobStore, in the same database.
//
// Tables (schema: docs/contracts/storage-schema.md, migration 3 on both backends):
//   nodes        (tenant_id, node_id) PK: the last heartbeat of each node.
//   job_leases   (tenant_id, job_id) PK -> jobs: the job's CURRENT lease (one row per
//                job that was ever leased; a new lease overwrites it). lease_id UNIQUE.
//   job_cancels  (tenant_id, job_id) PK -> jobs: a recorded cancel request.
//
// Time: every time-dependent call carries `now` (the gateway's clock); leases
// are compared in epoch milliseconds. Backends must use that `now`, not their
// own clock, so expiry is decided by one clock per call.
//
// Errors: NotFound for another tenant's (or an unknown) job; Unavailable when
// the store cannot be reached or written, nothing changed then. Writes are
// durable before their callback, like JobStore writes (SQLite: they go through
// the same group-commit writer).
//
// Thread-safety and callbacks: as JobStore (callbacks on a store thread; they
// must not block).

// Times as both backends store them: epoch milliseconds.
inline std::int64_t ToEpochMs(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime FromEpochMs(std::int64_t ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

struct NodeHeartbeat {
  std::string tenant_id;
  std::string node_id;
  std::string sub;  // the token's subject that sent it
  std::string agent_version;
  std::string executor;                       // "slurm" | "local"
  std::optional<std::string> catalogue_json;  // canonical Slurm catalogue; nullopt: no Slurm
  std::int64_t in_flight = 0;
  SystemTime now;
};

struct NodeRecord {
  std::string tenant_id;
  std::string node_id;
  std::string sub;
  std::string agent_version;
  std::string executor;
  std::optional<std::string> catalogue_json;
  std::int64_t in_flight = 0;
  SystemTime first_seen;
  SystemTime last_seen;
};

struct LeaseRequest {
  std::string tenant_id;
  std::string node_id;
  int max_jobs = 16;  // 1..256
  std::chrono::seconds lease{60};
  SystemTime now;
};

struct Lease {
  std::string lease_id;  // fresh UUID per grant
  SystemTime expires_at;
  JobRecord job;  // as stored (spec_json carries the boundary record)
};

struct CancelItem {
  std::string job_id;
  std::string submission_id;
  std::optional<std::string> execution_id;  // of the job's latest event that carried one
};

struct AcquireResult {
  std::vector<Lease> leases;  // oldest accepted_at first
  std::vector<CancelItem> cancellations;
  // True when a cancellation is listed for the first time (its delivered_at
  // was set by this call): a long poll answers at once for new work only, not
  // for cancellations it already handed out.
  bool new_cancellations = false;
};

// A cancel request. `node_id` set: the caller is a node token and may only
// cancel its own node's jobs (else PermissionDenied "node_mismatch").
struct CancelRequest {
  std::string tenant_id;
  std::string job_id;
  std::optional<std::string> node_id;
  std::string requested_by;  // token sub
  std::string trace_id;
  SystemTime now;
};

struct CancelOutcome {
  jobs::JobState state = jobs::JobState::kSubmitted;  // after the call
  bool cancelled_now = false;  // the gateway itself moved the job to cancelled
  bool already_requested = false;
  std::string management_node_id;  // the job's node (to wake its long poll)
};

// The event the gateway records when it cancels a job that never reached a
// management node (agent-protocol.md "Cancel"); every backend writes exactly
// this one, through its AppendEvent.
inline EventRecord GatewayCancelEvent(const CancelRequest& r, const std::string& workspace_id,
                                      const std::string& submission_id) {
  const std::string now = FormatRfc3339(r.now);
  EventRecord e;
  e.tenant_id = r.tenant_id;
  e.job_id = r.job_id;
  e.event_id = "cancel:" + submission_id;
  e.workspace_id = workspace_id;
  e.submission_id = submission_id;
  e.execution_id = "gateway";
  e.state = jobs::JobState::kCancelled;
  e.occurred_at = now;
  e.received_at = now;
  e.trace_id = r.trace_id;
  // Not a client payload: a fixed marker, so a client reusing this event_id
  // gets event_conflict.
  e.fingerprint = "gateway-cancel:" + submission_id;
  e.actor = jobs::Actor{.sub = r.requested_by, .node_id = r.node_id};
  return e;
}

class NodeStore {
 public:
  virtual ~NodeStore() = default;

  // Upserts the node's row (first_seen kept, everything else replaced).
  virtual void RecordHeartbeat(NodeHeartbeat heartbeat, Callback<Ok> done) = 0;
  // NotFound when the node never sent a heartbeat in that tenant.
  virtual void GetNode(std::string tenant_id, std::string node_id, Callback<NodeRecord> done) = 0;
  // Every node (tenant_id nullopt) or one tenant's, ordered by (tenant_id, node_id).
  virtual void ListNodes(std::optional<std::string> tenant_id,
                         Callback<std::vector<NodeRecord>> done) = 0;

  // In one transaction: grants up to max_jobs leases on the node's leasable
  // jobs (state 'submitted', management_node_id = node, no cancel request, and
  // no current lease, or one expired (expires <= now) or released), oldest
  // accepted_at first; sets delivered_at on the node's cancel requests not
  // listed before (new_cancellations); then lists the node's cancellations:
  // its non-terminal jobs with a cancel request. Atomic: a job never has two
  // unexpired leases (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED on the
  // candidate jobs).
  virtual void AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) = 0;

  // Sets the lease's expiry to now + lease while it is still the job's current
  // lease (an expired lease that nobody took over yet may be renewed).
  // Conflict(.., "lease_lost") when the lease is not the job's current lease of
  // this node and tenant (regranted, unknown, another node's), was released,
  // the job left 'submitted', or a cancel was requested.
  virtual void RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                          std::chrono::seconds lease, SystemTime now,
                          Callback<SystemTime> done) = 0;

  // Marks the lease released (the job is leasable again at once). Idempotent:
  // an unknown, already released or regranted lease changes nothing and is Ok.
  virtual void ReleaseLease(std::string tenant_id, std::string node_id, std::string lease_id,
                            Callback<Ok> done) = 0;

  // Cancel semantics (agent-protocol.md "Cancel"), decided in one transaction:
  //  - completed / failed: Conflict(.., "job_terminal"); cancelled: Ok.
  //  - a cancel already recorded: Ok, already_requested.
  //  - 'submitted' and never leased (so never handed to Slurm): the gateway
  //    appends the ExecutionEvent {event_id "cancel:<submission_id>", state
  //    cancelled, execution_id "gateway"} exactly as JobStore::AppendEvent
  //    would (history, projection_version, outbox), and records the request.
  //  - otherwise (leased, queued, running): records the request; the node
  //    sees it in its next AcquireLeases and cancels in Slurm.
  virtual void RequestCancel(CancelRequest request, Callback<CancelOutcome> done) = 0;

  // The stored submit for (tenant, idempotency_key): {request_fingerprint,
  // response_json}, or nullopt. Used to answer a replayed submit with its
  // original bytes when the adapter boundary would now refuse it.
  struct StoredSubmit {
    std::string request_fingerprint;
    std::string response_json;
  };
  virtual void FindSubmit(std::string tenant_id, std::string idempotency_key,
                          Callback<std::optional<StoredSubmit>> done) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_NODE_STORE_HPP_
