#ifndef RTGW_STORAGE_SQLITE_JOB_READER_HPP_
#define RTGW_STORAGE_SQLITE_JOB_READER_HPP_

// Private to storage/sqlite: the read side, synchronous and single-threaded.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/error.hpp"
#include "storage/job_feed_store.hpp"
#include "storage/job_store.hpp"
#include "storage/sqlite/node_sql.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {

// One read-only connection and its cached statements. Every read is scoped by
// tenant: another tenant's job is NotFound("job not found"), like a missing one.
//
// Thread-safety: not thread-safe; one thread at a time (its reader thread).
class JobReader {
 public:
  // `db` should be opened read-only. Prepares every statement up front.
  static Result<std::unique_ptr<JobReader>> Create(Database db);

  Result<JobRecord> GetJob(const std::string& tenant_id, const std::string& job_id);
  // Job and its events (ascending seq) from one read transaction, so the two
  // agree: a concurrent applied event is either in both or in neither.
  Result<JobDetail> GetDetail(const std::string& tenant_id, const std::string& job_id);
  // A cheap real read of the database file (reachability check).
  Status Ping();
  // JobFeedStore reads, each in one read transaction (so a page and the head
  // read with it, or changes and their head, agree).
  Result<JobPage> ListJobs(const JobListQuery& query);
  Result<ChangePage> ReadChanges(const std::string& tenant_id, std::int64_t after_seq, int limit);
  // The NodeStore read statements on this same connection (node_sql.hpp).
  NodeReader& nodes() { return *nodes_; }
  // The connection itself (rare reads that keep no cached statement).
  Database& db() { return db_; }

 private:
  explicit JobReader(Database db) : db_(std::move(db)) {}
  Status PrepareAll();
  Result<JobRecord> ReadJob(const std::string& tenant_id, const std::string& job_id);
  Result<JobDetail> ReadDetail(const std::string& tenant_id, const std::string& job_id);
  // Runs `read` between BEGIN and COMMIT (a read snapshot).
  template <class T, class Fn>
  Result<T> InReadTransaction(Fn&& read);
  Result<ChangeHead> ReadHead(const std::string& tenant_id);
  Result<JobPage> ReadPage(const JobListQuery& query);
  // A list statement for `sql`, prepared once (the shapes are few: one per
  // combination of filters, states and keyset).
  Result<Statement*> ListStatement(const std::string& sql);

  // Member order matters: statements are finalized before the connection closes.
  Database db_;
  Statement begin_;
  Statement commit_;
  Statement get_job_;
  Statement list_events_;
  Statement ping_;
  Statement read_head_;
  Statement read_changes_;
  std::unordered_map<std::string, Statement> list_statements_;
  std::unique_ptr<NodeReader> nodes_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_JOB_READER_HPP_
