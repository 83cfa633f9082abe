#ifndef RTGW_STORAGE_SQLITE_SQLITE_JOB_STORE_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_JOB_STORE_HPP_

#include <string>

#include "common/metrics.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage::sqlite {

class SqliteDatabase;

// JobStore of a SqliteDatabase (sqlite_database.hpp has the threading model).
// Submits and events are writes of the group commit; the job cache is kept in
// step after each commit. GetJob is first looked up in the cache: a hit
// completes at once on the CALLER'S thread.
//
// Details of the JobStore contract as implemented here:
//  - AppendEvent replaying a known event (idempotent=true) reports
//    applied=false: the call changed nothing. state/projection_version are the
//    job's current ones.
//  - CheckHealth always completes with a StoreHealth value; failures are
//    reachable/writable=false with a `detail`, never an Error. It reads on a
//    reader thread, then writes through the writer.
//  - Close() closes the whole database (every store of it).
//
// Metrics (when given): rtgw_store_job_cache_total{result="hit"|"miss"}.
// Thread-safety: safe for concurrent use.
class SqliteJobStore final : public JobStore {
 public:
  SqliteJobStore(SqliteDatabase& db, MetricsRegistry* metrics);

  void Submit(SubmitRecord record, Callback<SubmitOutcome> done) override;
  void AppendEvent(EventRecord record, Callback<EventOutcome> done) override;
  void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) override;
  void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) override;
  void CheckHealth(Callback<StoreHealth> done) override;
  void Close() override;

 private:
  SqliteDatabase& db_;
  Counter* cache_hits_ = nullptr;
  Counter* cache_misses_ = nullptr;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_JOB_STORE_HPP_
