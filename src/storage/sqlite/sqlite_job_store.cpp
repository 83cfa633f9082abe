// JobStore of a SqliteDatabase (db_stores.hpp; sqlite_database.hpp has the
// threading model). Submits and events are writes of the group commit; the job
// cache is kept in step after each commit. GetJob is first looked up in the
// cache: a hit completes at once on the CALLER'S thread. AppendEvent replaying
// a known event (idempotent=true) reports applied=false: the call changed
// nothing; state/projection_version are the job's current ones.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jobs/job_rules.hpp"
#include "storage/job_cache.hpp"
#include "storage/sqlite/integrity_check.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage {

using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::ResetGuard;
using sqlite::SqliteDatabase;
using sqlite::Statement;

namespace {

// Brings the cache in line with a committed change. Out of memory while
// updating it: the row it holds for this job may now be stale, so drop
// everything (Clear does not allocate).
template <class Fn>
void UpdateCache(JobCache& cache, Fn fn) noexcept {
  try {
    fn();
  } catch (...) {
    cache.Clear();
  }
}

// The writes whose commit changes a job row, and what that does to the cache.
struct SubmitWrite {
  SubmitRecord r;
  JobCache* cache;
  Result<SubmitOutcome> operator()(JobWriter& w) const { return w.Submit(r); }
  void AfterCommit(const SubmitOutcome& outcome) const {
    if (outcome.replayed) return;
    UpdateCache(*cache, [&] { cache->PutCommitted(jobs::JobAfterSubmit(r)); });
  }
};

struct EventWrite {
  EventRecord r;
  JobCache* cache;
  Result<EventOutcome> operator()(JobWriter& w) const { return w.AppendEvent(r); }
  void AfterCommit(const EventOutcome& outcome) const {
    if (!outcome.applied) return;  // the job row did not change
    UpdateCache(*cache, [&] { cache->ApplyCommitted(r, outcome.projection_version); });
  }
};

// PRAGMA quick_check's rows kept in `detail` when it finds problems.
constexpr int kQuickCheckRowsMax = 10;

// On a reader thread. Problems in the file (also an error of the statement
// itself, e.g. SQLITE_CORRUPT) are a value with ok=false, never an Error.
StoreIntegrity QuickCheck(JobReader& r) {
  Result<Statement> check =
      r.db().Prepare("PRAGMA quick_check(" + std::to_string(kQuickCheckRowsMax) + ")");
  if (!check) return StoreIntegrity{.ok = false, .detail = check.error().message};
  ResetGuard reset(*check);
  std::vector<std::string> rows;
  Status read = check->ForEachRow("integrity check",
                                  [&](const Statement& row) { rows.push_back(row.ColumnText(0)); });
  if (!read) return StoreIntegrity{.ok = false, .detail = read.error().message};
  if (rows.size() == 1 && rows[0] == "ok") return StoreIntegrity{.ok = true, .detail = {}};
  std::string detail = "quick_check:";
  for (const std::string& row : rows) detail += " " + row + ";";
  return StoreIntegrity{.ok = false, .detail = std::move(detail)};
}

StoreHealth Unhealthy(bool reachable, std::string detail) {
  return StoreHealth{
      .reachable = reachable, .writable = false, .backend = "sqlite", .detail = std::move(detail)};
}

}  // namespace

template <>
void DbJobStore<SqliteDatabase>::Submit(SubmitRecord record, Callback<SubmitOutcome> done) {
  db_.Write<SubmitOutcome>(SubmitWrite{std::move(record), &db_.cache()}, std::move(done));
}

template <>
void DbJobStore<SqliteDatabase>::AppendEvent(EventRecord record, Callback<EventOutcome> done) {
  db_.Write<EventOutcome>(EventWrite{std::move(record), &db_.cache()}, std::move(done));
}

// A hit completes at once on the caller's thread; a miss reads on a reader
// thread and fills the cache unless a commit raced the read.
template <>
void DbJobStore<SqliteDatabase>::GetJob(std::string tenant_id, std::string job_id,
                                        Callback<JobRecord> done) {
  JobCache& cache = db_.cache();
  if (std::shared_ptr<const JobRecord> hit = cache.Find(tenant_id, job_id)) {
    db_.CountCacheLookup(true);
    if (!db_.executor().Accepting()) {
      InvokeNoThrow<JobRecord>(done, StoreClosed());
      return;
    }
    InvokeNoThrow<JobRecord>(done, JobRecord(*hit));
    return;
  }
  db_.CountCacheLookup(false);
  db_.Read<JobRecord>(
      [&cache, t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) -> Result<JobRecord> {
        const std::uint64_t generation = cache.Generation();
        Result<JobRecord> job = r.GetJob(t, j);
        if (job) cache.FillIfUnchanged(generation, *job);
        return job;
      },
      std::move(done));
}

template <>
void DbJobStore<SqliteDatabase>::GetDetail(std::string tenant_id, std::string job_id,
                                           Callback<JobDetail> done) {
  JobCache& cache = db_.cache();
  db_.Read<JobDetail>(
      [&cache, t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) -> Result<JobDetail> {
        const std::uint64_t generation = cache.Generation();
        Result<JobDetail> detail = r.GetDetail(t, j);
        if (detail) cache.FillIfUnchanged(generation, detail->job);
        return detail;
      },
      std::move(done));
}

template <>
void DbJobStore<SqliteDatabase>::CheckHealth(Callback<StoreHealth> done) {
  // Phase 1, a real read on a reader thread; its callback (still on that
  // thread) queues phase 2, a real write through the writer queue. Every
  // failure becomes an unhealthy StoreHealth with a detail, so `done` always
  // gets a value.
  SqliteDatabase* db = &db_;
  Callback<Ok> after_read = [db, done = std::move(done)](const Status& read) mutable {
    if (!read) {
      InvokeNoThrow<StoreHealth>(done,
                                 Unhealthy(false, "read check failed: " + read.error().message));
      return;
    }
    Callback<Ok> after_write = [done = std::move(done)](const Status& written) mutable {
      InvokeNoThrow<StoreHealth>(
          done,
          written
              ? StoreHealth{.reachable = true, .writable = true, .backend = "sqlite", .detail = {}}
              : Unhealthy(true, "write check failed: " + written.error().message));
    };
    db->Write<Ok>([](JobWriter& w) { return w.TouchHealth(); }, std::move(after_write),
                  /*internal=*/true);
  };
  db_.Read<Ok>([](JobReader& r) { return r.Ping(); }, std::move(after_read));
}

template <>
void DbJobStore<SqliteDatabase>::CheckIntegrity(Callback<StoreIntegrity> done) {
  SqliteDatabase* db = &db_;
  db_.integrity().Check(
      [db](Callback<StoreIntegrity> ran) {
        db->Read<StoreIntegrity>(
            [](JobReader& r) -> Result<StoreIntegrity> { return QuickCheck(r); }, std::move(ran));
      },
      std::move(done));
}

}  // namespace rtgw::storage
