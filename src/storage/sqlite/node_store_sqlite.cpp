// SqliteJobStore's NodeStore half (storage/node_store.hpp). Every write runs on
// the store's single writer thread inside its group-commit transaction, every
// read on its reader threads; see SqliteJobStore::RunWrite / RunRead.
#include <memory>
#include <optional>
#include <utility>

#include "jobs/job_state.hpp"
#include "storage/job_cache.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_job_store.hpp"

namespace rtgw::storage::sqlite {

// Typed wrappers over the type-erased RunWrite/RunRead: the value an op
// produces on the store thread is kept in a shared slot and handed to `done`
// only once the op's transaction is durable.
struct NodeOps {
  template <class T>
  static void Write(SqliteJobStore& store, std::function<Result<T>(JobWriter&)> fn,
                    Callback<T> done,
                    std::function<void(const T&, JobCache&)> after_commit = nullptr) {
    auto slot = std::make_shared<std::optional<T>>();
    std::function<void(JobCache&)> after;
    if (after_commit) {
      after = [slot, after_commit = std::move(after_commit)](JobCache& cache) {
        if (*slot) after_commit(**slot, cache);
      };
    }
    store.RunWrite(
        [slot, fn = std::move(fn)](JobWriter& w) -> Status {
          Result<T> r = fn(w);
          if (!r) return std::move(r).error();
          slot->emplace(std::move(r).value());
          return Ok{};
        },
        std::move(after),
        [slot, done = std::move(done)](Status s) mutable {
          if (!s) return done(std::move(s).error());
          done(std::move(**slot));
        });
  }

  template <class T>
  static void Read(SqliteJobStore& store, std::function<Result<T>(JobReader&)> fn,
                   Callback<T> done) {
    auto slot = std::make_shared<std::optional<T>>();
    store.RunRead(
        [slot, fn = std::move(fn)](JobReader& r) -> Status {
          Result<T> v = fn(r);
          if (!v) return std::move(v).error();
          slot->emplace(std::move(v).value());
          return Ok{};
        },
        [slot, done = std::move(done)](Status s) mutable {
          if (!s) return done(std::move(s).error());
          done(std::move(**slot));
        });
  }
};

namespace {

struct CancelResult {
  CancelOutcome outcome;
  std::optional<EventRecord> event;     // set when the gateway cancelled it itself
  std::int64_t projection_version = 0;  // after that event
};

}  // namespace

void SqliteJobStore::RecordHeartbeat(NodeHeartbeat hb, Callback<Ok> done) {
  NodeOps::Write<Ok>(
      *this, [hb = std::move(hb)](JobWriter& w) -> Status { return w.nodes().UpsertNode(hb); },
      std::move(done));
}

void SqliteJobStore::GetNode(std::string tenant_id, std::string node_id,
                             Callback<NodeRecord> done) {
  NodeOps::Read<NodeRecord>(
      *this,
      [t = std::move(tenant_id), n = std::move(node_id)](JobReader& r) {
        return r.nodes().GetNode(t, n);
      },
      std::move(done));
}

void SqliteJobStore::ListNodes(std::optional<std::string> tenant_id,
                               Callback<std::vector<NodeRecord>> done) {
  NodeOps::Read<std::vector<NodeRecord>>(
      *this, [t = std::move(tenant_id)](JobReader& r) { return r.nodes().ListNodes(t); },
      std::move(done));
}

void SqliteJobStore::AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) {
  NodeOps::Write<AcquireResult>(
      *this,
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

void SqliteJobStore::RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                                std::chrono::seconds lease, SystemTime now,
                                Callback<SystemTime> done) {
  NodeOps::Write<SystemTime>(
      *this,
      [t = std::move(tenant_id), n = std::move(node_id), l = std::move(lease_id),
       expires = now + lease](JobWriter& w) { return w.nodes().RenewLease(t, n, l, expires); },
      std::move(done));
}

void SqliteJobStore::ReleaseLease(std::string tenant_id, std::string node_id, std::string lease_id,
                                  Callback<Ok> done) {
  NodeOps::Write<Ok>(
      *this,
      [t = std::move(tenant_id), n = std::move(node_id),
       l = std::move(lease_id)](JobWriter& w) -> Status {
        auto released = w.nodes().ReleaseLease(t, n, l);
        if (!released) return std::move(released).error();
        return Ok{};
      },
      std::move(done));
}

void SqliteJobStore::RequestCancel(CancelRequest request, Callback<CancelOutcome> done) {
  NodeOps::Write<CancelResult>(
      *this,
      [r = std::move(request)](JobWriter& w) -> Result<CancelResult> {
        auto target = w.nodes().FindCancelTarget(r.tenant_id, r.job_id);
        if (!target) return std::move(target).error();
        if (r.node_id && *r.node_id != target->management_node_id) {
          return PermissionDenied("job " + r.job_id + " belongs to another management node",
                                  "node_mismatch");
        }
        CancelResult out;
        out.outcome.state = target->state;
        out.outcome.management_node_id = target->management_node_id;
        if (target->state == jobs::JobState::kCompleted ||
            target->state == jobs::JobState::kFailed) {
          return Conflict("job is already " + std::string(jobs::ToString(target->state)) +
                              "; it can no longer be cancelled",
                          "job_terminal");
        }
        if (target->state == jobs::JobState::kCancelled || target->cancel_recorded) {
          out.outcome.already_requested = true;
          return out;
        }
        if (Status s = w.nodes().InsertCancel(r, target->management_node_id); !s) {
          return std::move(s).error();
        }
        if (target->state == jobs::JobState::kSubmitted && !target->ever_leased) {
          EventRecord event = GatewayCancelEvent(r, target->workspace_id, target->submission_id);
          auto applied = w.AppendEvent(event);
          if (!applied) return std::move(applied).error();
          out.outcome.state = applied->state;
          out.outcome.cancelled_now = applied->applied;
          out.projection_version = applied->projection_version;
          if (applied->applied) out.event = std::move(event);
        }
        return out;
      },
      [done = std::move(done)](Result<CancelResult> r) mutable {
        if (!r) return done(std::move(r).error());
        done(r->outcome);
      },
      [](const CancelResult& r, JobCache& cache) {
        // Mirrors the UPDATE AppendEvent made, like EventWrite::AfterCommit.
        if (!r.event) return;
        cache.ApplyCommitted(r.event->tenant_id, r.event->job_id, r.event->state,
                             r.projection_version, r.event->received_at, std::nullopt,
                             std::nullopt);
      });
}

void SqliteJobStore::FindSubmit(std::string tenant_id, std::string idempotency_key,
                                Callback<std::optional<StoredSubmit>> done) {
  NodeOps::Read<std::optional<StoredSubmit>>(
      *this,
      [t = std::move(tenant_id), k = std::move(idempotency_key)](JobReader& r) {
        return r.nodes().FindSubmit(t, k);
      },
      std::move(done));
}

}  // namespace rtgw::storage::sqlite
