// NodeStore of a SqliteDatabase (db_stores.hpp): its writes join the job
// writes' group commit on the single writer thread (a gateway cancel's event
// and outbox row commit with the cancel request), its reads run on the reader
// threads (SqliteDatabase::Write / Read). Tables of migration 3 (node_schema.hpp).
#include <optional>
#include <utility>

#include "jobs/job_rules.hpp"
#include "storage/job_cache.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage {

using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::SqliteDatabase;

namespace {

struct CancelResult {
  CancelOutcome outcome;
  std::optional<EventRecord> event;     // set when the gateway cancelled it itself
  std::int64_t projection_version = 0;  // after that event
};

// A cancel request; cancelling a job no agent has leased yet applies the
// cancel event at once (and keeps the cache in step, like an event write).
struct CancelWrite {
  CancelRequest r;
  JobCache* cache;
  Result<CancelResult> operator()(JobWriter& w) const {
    auto target = w.nodes().FindCancelTarget(r.tenant_id, r.job_id);
    if (!target) return std::move(target).error();
    Result<jobs::CancelVerdict> verdict =
        jobs::DecideCancel(jobs::CancelFacts{.state = target->state,
                                             .management_node_id = target->management_node_id,
                                             .cancel_recorded = target->cancel_recorded,
                                             .ever_leased = target->ever_leased},
                           r.node_id, r.job_id);
    if (!verdict) return std::move(verdict).error();
    CancelResult out;
    out.outcome.state = target->state;
    out.outcome.management_node_id = target->management_node_id;
    if (*verdict == jobs::CancelVerdict::kAlreadyRequested) {
      out.outcome.already_requested = true;
      return out;
    }
    if (Status s = w.nodes().InsertCancel(r, target->management_node_id); !s) {
      return std::move(s).error();
    }
    if (*verdict == jobs::CancelVerdict::kRecordAndCancelNow) {
      EventRecord event = GatewayCancelEvent(r, target->workspace_id, target->submission_id);
      auto applied = w.AppendEvent(event);
      if (!applied) return std::move(applied).error();
      out.outcome.state = applied->state;
      out.outcome.cancelled_now = applied->applied;
      out.projection_version = applied->projection_version;
      if (applied->applied) out.event = std::move(event);
    }
    return out;
  }
  void AfterCommit(const CancelResult& result) const {
    if (!result.event) return;
    try {
      cache->ApplyCommitted(*result.event, result.projection_version);
    } catch (...) {
      cache->Clear();  // out of memory: the cached row may be stale
    }
  }
};

}  // namespace

template <>
void DbNodeStore<SqliteDatabase>::RecordHeartbeat(NodeHeartbeat hb, Callback<Ok> done) {
  db_.Write<Ok>([hb = std::move(hb)](JobWriter& w) -> Status { return w.nodes().UpsertNode(hb); },
                std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::GetNode(std::string tenant_id, std::string node_id,
                                          Callback<NodeRecord> done) {
  db_.Read<NodeRecord>([t = std::move(tenant_id),
                        n = std::move(node_id)](JobReader& r) { return r.nodes().GetNode(t, n); },
                       std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::ListNodes(std::optional<std::string> tenant_id,
                                            Callback<std::vector<NodeRecord>> done) {
  db_.Read<std::vector<NodeRecord>>(
      [t = std::move(tenant_id)](JobReader& r) { return r.nodes().ListNodes(t); }, std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::AcquireLeases(LeaseRequest request,
                                                Callback<AcquireResult> done) {
  db_.Write<AcquireResult>(
      [req = std::move(request)](JobWriter& w) -> Result<AcquireResult> {
        AcquireResult out;
        auto leases = w.nodes().GrantLeases(req);
        if (!leases) return std::move(leases).error();
        out.leases = std::move(leases).value();
        auto fresh = w.nodes().MarkCancelsDelivered(req.tenant_id, req.node_id, req.now);
        if (!fresh) return std::move(fresh).error();
        out.new_cancellations = *fresh;
        auto cancels = w.nodes().ListCancellations(req.tenant_id, req.node_id);
        if (!cancels) return std::move(cancels).error();
        out.cancellations = std::move(cancels).value();
        return out;
      },
      std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::RenewLease(std::string tenant_id, std::string node_id,
                                             std::string lease_id, std::chrono::seconds lease,
                                             SystemTime now, Callback<SystemTime> done) {
  db_.Write<SystemTime>(
      [t = std::move(tenant_id), n = std::move(node_id), l = std::move(lease_id),
       expires = now + lease](JobWriter& w) { return w.nodes().RenewLease(t, n, l, expires); },
      std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::ReleaseLease(std::string tenant_id, std::string node_id,
                                               std::string lease_id, Callback<Ok> done) {
  db_.Write<Ok>(
      [t = std::move(tenant_id), n = std::move(node_id),
       l = std::move(lease_id)](JobWriter& w) -> Status {
        auto released = w.nodes().ReleaseLease(t, n, l);
        if (!released) return std::move(released).error();
        return Ok{};
      },
      std::move(done));
}

template <>
void DbNodeStore<SqliteDatabase>::RequestCancel(CancelRequest request,
                                                Callback<CancelOutcome> done) {
  db_.Write<CancelResult>(CancelWrite{std::move(request), &db_.cache()},
                          [done = std::move(done)](Result<CancelResult> r) mutable {
                            if (!r) return done(std::move(r).error());
                            done(r->outcome);
                          });
}

template <>
void DbNodeStore<SqliteDatabase>::FindSubmit(std::string tenant_id, std::string idempotency_key,
                                             Callback<std::optional<StoredSubmit>> done) {
  db_.Read<std::optional<StoredSubmit>>([t = std::move(tenant_id), k = std::move(idempotency_key)](
                                            JobReader& r) { return r.nodes().FindSubmit(t, k); },
                                        std::move(done));
}

}  // namespace rtgw::storage
