// JobRetentionStore of a PgDatabase (db_stores.hpp). ReadPrunable and
// CountPrunable are read tasks (each job's detail in one snapshot, as
// GetDetail). DeletePruned is a task with its own short transaction, never
// part of a group-commit batch: it locks each job row (FOR UPDATE, in key
// order) before re-checking it, as an event locks its job, so an event that
// arrives meanwhile either commits first (the re-check then sees the extra
// event and keeps the job) or waits and then finds no job. Running it again
// after a lost connection is harmless (the re-check). No job cache on
// PostgreSQL. The SQL is shared with SQLite (job_retention_sql.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/job_retention_sql.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_job_ops.hpp"

namespace rtgw::storage {

using postgres::Params;
using postgres::PgConn;
using postgres::PgDatabase;
using postgres::PgResult;

namespace {

Result<PrunableBatch> ReadBatch(PgConn& c, const PruneFilter& f,
                                const std::optional<PruneKey>& after, int limit) {
  static const std::string kKeys = RetentionSql(kRetentionKeys, '$');
  const std::string tenant = after ? after->tenant_id : "";
  const std::string job = after ? after->job_id : "";
  Result<PgResult> keys = c.QueryPrepared(
      "retention_keys", kKeys.c_str(),
      Params::Of(tenant, job, f.cutoff, f.keep_undelivered ? 1 : 0, limit), "find prunable jobs");
  if (!keys) return std::move(keys).error();
  PrunableBatch batch;
  if (keys->rows() == limit) {
    batch.next = PruneKey{keys->Text(limit - 1, 0), keys->Text(limit - 1, 1)};
  }
  for (int i = 0; i < keys->rows(); ++i) {
    Result<JobDetail> detail = postgres::PgGetDetail(c, keys->Text(i, 0), keys->Text(i, 1));
    if (!detail) {
      if (detail.error().code == ErrorCode::kNotFound) continue;  // deleted meanwhile
      return std::move(detail).error();
    }
    batch.jobs.push_back(PrunableJob{std::move(detail).value()});
  }
  return batch;
}

Result<PruneDeleted> DeleteInTransaction(PgConn& c, const PruneFilter& f,
                                         const std::vector<PrunableJob>& jobs) {
  static const std::string kRecheck = RetentionSql(kRetentionRecheck, '$') + " FOR UPDATE OF j";
  struct Named {
    const char* name;
    const char* sql;
  };
  static const Named kDeletes[] = {
      {"retention_del_events", kRetentionDeleteEvents},
      {"retention_del_outbox", kRetentionDeleteOutbox},
      {"retention_del_lease", kRetentionDeleteLease},
      {"retention_del_cancel", kRetentionDeleteCancel},
      {"retention_del_unapplied", kRetentionDeleteUnappliedCount},
      {"retention_del_job", kRetentionDeleteJob},
  };
  PruneDeleted out;
  const int keep = f.keep_undelivered ? 1 : 0;
  for (const PrunableJob& j : jobs) {
    const std::string& t = j.detail.job.tenant_id;
    const std::string& id = j.detail.job.job_id;
    Result<PgResult> still =
        c.QueryPrepared("retention_recheck", kRecheck.c_str(),
                        Params::Of(t, id, j.detail.job.projection_version, f.cutoff, keep,
                                   static_cast<std::int64_t>(j.detail.events.size())),
                        "re-check prunable job");
    if (!still) return std::move(still).error();
    if (still->rows() == 0) continue;  // changed since it was read: stays
    for (std::size_t i = 0; i < std::size(kDeletes); ++i) {
      Result<PgResult> del = c.QueryPrepared(kDeletes[i].name, kDeletes[i].sql, Params::Of(t, id),
                                             "delete pruned job");
      if (!del) return std::move(del).error();
      if (i == 0) out.events += del->Affected();
      if (i == 1) out.outbox_rows += del->Affected();
      if (i == 5) out.jobs += del->Affected();
    }
  }
  return out;
}

}  // namespace

template <>
void DbJobRetentionStore<PgDatabase>::ReadPrunable(PruneFilter filter,
                                                   std::optional<PruneKey> after, int limit,
                                                   Callback<PrunableBatch> done) {
  db_.Task<PrunableBatch>([f = std::move(filter), a = std::move(after),
                           limit](PgConn& c) { return ReadBatch(c, f, a, limit); },
                          std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobRetentionStore<PgDatabase>::DeletePruned(PruneFilter filter,
                                                   std::vector<PrunableJob> jobs,
                                                   Callback<PruneDeleted> done) {
  db_.Task<PruneDeleted>(
      [f = std::move(filter), js = std::move(jobs)](PgConn& c) -> Result<PruneDeleted> {
        if (Status s = c.Exec("BEGIN", "begin"); !s) return std::move(s).error();
        Result<PruneDeleted> out = DeleteInTransaction(c, f, js);
        Status end = c.Exec(out ? "COMMIT" : "ROLLBACK", "end transaction");
        if (out && !end) return std::move(end).error();
        return out;
      },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobRetentionStore<PgDatabase>::CountPrunable(PruneFilter filter,
                                                    Callback<PruneCounts> done) {
  db_.Task<PruneCounts>(
      [f = std::move(filter)](PgConn& c) -> Result<PruneCounts> {
        static const std::string kCount = RetentionSql(kRetentionCount, '$');
        Result<PgResult> r = c.QueryPrepared("retention_count", kCount.c_str(),
                                             Params::Of(f.cutoff, f.keep_undelivered ? 1 : 0),
                                             "count prunable jobs");
        if (!r) return std::move(r).error();
        PruneCounts counts;
        if (r->rows() > 0) {
          counts.jobs = r->Int(0, 0);
          counts.events = r->Int(0, 1);
          counts.kept_undelivered = r->Int(0, 2);
        }
        return counts;
      },
      std::move(done), /*rerunnable=*/true);
}

}  // namespace rtgw::storage
