// JobFeedStore of a SqliteDatabase (db_stores.hpp; sqlite_database.hpp has
// the threading model). ListJobs and ReadChanges run on a reader thread, each
// in one read transaction (a page and the head read before it come from one
// snapshot). PruneChanges is a write of the group commit. The change listener
// is called on the writer thread after each commit, once per tenant whose
// changes it added; the changes themselves are written by the job writes
// (job_writer.cpp) and numbered right before COMMIT (change_batch.hpp), on
// the one writer, so seqs are commit-ordered trivially.
#include <cstdint>
#include <utility>

#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage {

using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::SqliteDatabase;

template <>
void DbJobFeedStore<SqliteDatabase>::ListJobs(JobListQuery query, Callback<JobPage> done) {
  db_.Read<JobPage>([q = std::move(query)](JobReader& r) { return r.ListJobs(q); },
                    std::move(done));
}

template <>
void DbJobFeedStore<SqliteDatabase>::ReadChanges(std::string tenant_id, std::int64_t after_seq,
                                                 int limit, Callback<ChangePage> done) {
  db_.Read<ChangePage>([t = std::move(tenant_id), after_seq,
                        limit](JobReader& r) { return r.ReadChanges(t, after_seq, limit); },
                       std::move(done));
}

template <>
void DbJobFeedStore<SqliteDatabase>::PruneChanges(std::int64_t older_than_us, int max_rows,
                                                  Callback<std::int64_t> done) {
  db_.Write<std::int64_t>(
      [older_than_us, max_rows](JobWriter& w) { return w.PruneChanges(older_than_us, max_rows); },
      std::move(done));
}

template <>
void DbJobFeedStore<SqliteDatabase>::SetChangeListener(
    std::function<void(const std::string& tenant_id)> listener) {
  db_.SetChangeListener(std::move(listener));
}

}  // namespace rtgw::storage
