// JobRetentionStore of a SqliteDatabase (db_stores.hpp). ReadPrunable and
// CountPrunable run on the reader threads (each job's detail in its own read
// transaction, as GetDetail); DeletePruned is ONE write of the group commit,
// in its own savepoint, so a batch is gone entirely or not at all and the
// submits queued beside it commit in the same transaction. After the commit the
// deleted jobs leave the job cache (a reader's fill that started before is
// refused by the generation bump); the rest of the cache stays warm. The
// SQL is shared with PostgreSQL (job_retention_sql.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/job_cache.hpp"
#include "storage/job_retention_sql.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage {

using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::ResetGuard;
using sqlite::SqliteDatabase;
using sqlite::Statement;

namespace {

Result<Statement> PrepareRetention(sqlite::Database& db, const char* sql) {
  return db.Prepare(RetentionSql(sql, '?'));
}

Result<PrunableBatch> ReadBatch(JobReader& r, const PruneFilter& f,
                                const std::optional<PruneKey>& after, int limit) {
  Result<Statement> keys = PrepareRetention(r.db(), kRetentionKeys);
  if (!keys) return std::move(keys).error();
  std::vector<PruneKey> found;
  {
    ResetGuard reset(*keys);
    const std::string tenant = after ? after->tenant_id : "";
    const std::string job = after ? after->job_id : "";
    keys->Bind(tenant, job, f.cutoff, f.keep_undelivered ? 1 : 0, limit);
    Status s = keys->ForEachRow("find prunable jobs", [&](const Statement& row) {
      found.push_back(PruneKey{row.ColumnText(0), row.ColumnText(1)});
    });
    if (!s) return std::move(s).error();
  }
  PrunableBatch batch;
  if (static_cast<int>(found.size()) == limit) batch.next = found.back();
  for (const PruneKey& k : found) {
    Result<JobDetail> detail = r.GetDetail(k.tenant_id, k.job_id);
    if (!detail) {
      if (detail.error().code == ErrorCode::kNotFound) continue;  // deleted meanwhile
      return std::move(detail).error();
    }
    batch.jobs.push_back(PrunableJob{std::move(detail).value()});
  }
  return batch;
}

// The write: runs on the writer thread; AfterCommit drops its jobs from the
// job cache (one that the re-check kept is only a cache miss later).
struct DeleteWrite {
  PruneFilter filter;
  std::vector<PrunableJob> jobs;
  JobCache* cache;

  Result<PruneDeleted> operator()(JobWriter& w) const {
    sqlite::Database& db = w.db();
    Statement st[7];
    const char* sql[7] = {kRetentionRecheck,      kRetentionDeleteEvents,
                          kRetentionDeleteOutbox, kRetentionDeleteLease,
                          kRetentionDeleteCancel, kRetentionDeleteUnappliedCount,
                          kRetentionDeleteJob};
    for (int i = 0; i < 7; ++i) {
      Result<Statement> p = PrepareRetention(db, sql[i]);
      if (!p) return std::move(p).error();
      st[i] = std::move(p).value();
    }
    PruneDeleted out;
    const int keep = filter.keep_undelivered ? 1 : 0;
    for (const PrunableJob& j : jobs) {
      const std::string& t = j.detail.job.tenant_id;
      const std::string& id = j.detail.job.job_id;
      {
        ResetGuard reset(st[0]);
        Result<bool> row =
            st[0].FirstRow("re-check prunable job", t, id, j.detail.job.projection_version,
                           filter.cutoff, keep, static_cast<std::int64_t>(j.detail.events.size()));
        if (!row) return std::move(row).error();
        if (!*row) continue;  // changed since it was read: stays
      }
      for (int i = 1; i < 7; ++i) {
        if (Status s = st[i].Run("delete pruned job", t, id); !s) return std::move(s).error();
        if (i == 1) out.events += st[i].Changes();
        if (i == 2) out.outbox_rows += st[i].Changes();
        if (i == 6) out.jobs += st[i].Changes();
      }
    }
    return out;
  }
  void AfterCommit(const PruneDeleted& deleted) const noexcept {
    if (deleted.jobs == 0) return;
    try {
      for (const PrunableJob& j : jobs) {
        cache->EraseCommitted(j.detail.job.tenant_id, j.detail.job.job_id);
      }
    } catch (...) {
      cache->Clear();  // out of memory building a key: drop everything instead
    }
  }
};

}  // namespace

template <>
void DbJobRetentionStore<SqliteDatabase>::ReadPrunable(PruneFilter filter,
                                                       std::optional<PruneKey> after, int limit,
                                                       Callback<PrunableBatch> done) {
  db_.Read<PrunableBatch>([f = std::move(filter), a = std::move(after),
                           limit](JobReader& r) { return ReadBatch(r, f, a, limit); },
                          std::move(done));
}

template <>
void DbJobRetentionStore<SqliteDatabase>::DeletePruned(PruneFilter filter,
                                                       std::vector<PrunableJob> jobs,
                                                       Callback<PruneDeleted> done) {
  db_.Write<PruneDeleted>(DeleteWrite{std::move(filter), std::move(jobs), &db_.cache()},
                          std::move(done));
}

template <>
void DbJobRetentionStore<SqliteDatabase>::CountPrunable(PruneFilter filter,
                                                        Callback<PruneCounts> done) {
  db_.Read<PruneCounts>(
      [f = std::move(filter)](JobReader& r) -> Result<PruneCounts> {
        Result<Statement> count = PrepareRetention(r.db(), kRetentionCount);
        if (!count) return std::move(count).error();
        ResetGuard reset(*count);
        Result<bool> row =
            count->FirstRow("count prunable jobs", f.cutoff, f.keep_undelivered ? 1 : 0);
        if (!row) return std::move(row).error();
        PruneCounts c;
        if (*row) {
          c.jobs = count->ColumnInt64(0);
          c.events = count->ColumnInt64(1);
          c.kept_undelivered = count->ColumnInt64(2);
        }
        return c;
      },
      std::move(done));
}

}  // namespace rtgw::storage
