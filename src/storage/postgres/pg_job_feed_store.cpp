// JobFeedStore of a PgDatabase (db_stores.hpp; pg_database.hpp has the
// threading model, the change flush and the LISTEN connection). ListJobs and
// ReadChanges are reads (tasks); PruneChanges is a task with its own
// transaction, never part of a group-commit batch, so it locks nothing but
// head rows, in the flush's tenant order. The SQL is in pg_job_ops.cpp.
#include <cstdint>
#include <utility>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_job_ops.hpp"

namespace rtgw::storage {

using postgres::PgConn;
using postgres::PgDatabase;

template <>
void DbJobFeedStore<PgDatabase>::ListJobs(JobListQuery query, Callback<JobPage> done) {
  db_.Task<JobPage>([q = std::move(query)](PgConn& c) { return postgres::PgListJobs(c, q); },
                    std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobFeedStore<PgDatabase>::ReadChanges(std::string tenant_id, std::int64_t after_seq,
                                             int limit, Callback<ChangePage> done) {
  db_.Task<ChangePage>([t = std::move(tenant_id), after_seq, limit](
                           PgConn& c) { return postgres::PgReadChanges(c, t, after_seq, limit); },
                       std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobFeedStore<PgDatabase>::PruneChanges(std::int64_t older_than_us, int max_rows,
                                              Callback<std::int64_t> done) {
  // Running it twice is harmless (the second deletes what the first left).
  db_.Task<std::int64_t>(
      [older_than_us, max_rows](PgConn& c) {
        return postgres::PgPruneChanges(c, older_than_us, max_rows);
      },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobFeedStore<PgDatabase>::SetChangeListener(
    std::function<void(const std::string& tenant_id)> listener) {
  db_.SetChangeListener(std::move(listener));
}

}  // namespace rtgw::storage
