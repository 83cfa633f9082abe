#ifndef RTGW_STORAGE_POSTGRES_PG_JOB_STORE_HPP_
#define RTGW_STORAGE_POSTGRES_PG_JOB_STORE_HPP_

#include <string>

#include "storage/job_store.hpp"

namespace rtgw::storage::postgres {

class PgDatabase;

// JobStore of a PgDatabase (pg_database.hpp has the threading model and the
// outage behaviour). No job cache: another replica may change a row at any
// time, so every read goes to PostgreSQL. CheckHealth always completes with a
// value (a read, then a write, on one connection). Close() closes the whole
// database. Thread-safety: safe for concurrent use.
class PgJobStore final : public JobStore {
 public:
  explicit PgJobStore(PgDatabase& db) : db_(db) {}

  void Submit(SubmitRecord record, Callback<SubmitOutcome> done) override;
  void AppendEvent(EventRecord record, Callback<EventOutcome> done) override;
  void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) override;
  void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) override;
  void CheckHealth(Callback<StoreHealth> done) override;
  void Close() override;

 private:
  PgDatabase& db_;
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_JOB_STORE_HPP_
