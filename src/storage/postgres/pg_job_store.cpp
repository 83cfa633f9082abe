// JobStore of a PgDatabase (db_stores.hpp; pg_database.hpp has the threading
// model and the outage behaviour). No job cache: another replica may change a
// row at any time, so every read goes to PostgreSQL. CheckHealth: a read, then
// a write, on one connection. The SQL is in pg_job_ops.cpp.
#include <exception>
#include <memory>
#include <utility>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_job_ops.hpp"

namespace rtgw::storage {

using postgres::Params;
using postgres::PgConn;
using postgres::PgDatabase;
using postgres::PgResult;

namespace {

// Health never completes with an Error: failures become an unhealthy value.
class HealthTask final : public StoreRead<PgConn> {
 public:
  // Rerunnable as every read: a pooled connection the server dropped while
  // idle (a PostgreSQL restart) is not "the store cannot serve"; the check runs
  // once more on a fresh connection (PgDatabase's RunTask), and only that
  // answer counts. Its write (PgTouchHealth) is idempotent.
  explicit HealthTask(Callback<StoreHealth> done) : done_(std::move(done)) { rerunnable = true; }
  void Execute(PgConn& conn) noexcept override {
    try {
      Result<PgResult> read = conn.Query("SELECT 1", Params(), "health read");
      if (!read) {
        health_ = Unhealthy(false, "read check failed: " + read.error().message);
        return;
      }
      Status write = PgTouchHealth(conn);
      health_ = write ? StoreHealth{.reachable = true,
                                    .writable = true,
                                    .backend = "postgresql",
                                    .detail = {}}
                      : Unhealthy(true, "write check failed: " + write.error().message);
    } catch (const std::exception& e) {
      health_ = Unhealthy(false, std::string("health check threw: ") + e.what());
    }
  }
  void Fail(Error error) override { health_ = Unhealthy(false, error.message); }
  void Complete() noexcept override { InvokeNoThrow<StoreHealth>(done_, std::move(health_)); }

 private:
  static StoreHealth Unhealthy(bool reachable, std::string detail) {
    return StoreHealth{.reachable = reachable,
                       .writable = false,
                       .backend = "postgresql",
                       .detail = std::move(detail)};
  }
  Callback<StoreHealth> done_;
  StoreHealth health_ = Unhealthy(false, "health check did not run");
};

}  // namespace

template <>
void DbJobStore<PgDatabase>::Submit(SubmitRecord record, Callback<SubmitOutcome> done) {
  std::string tenant = record.tenant_id;
  std::string job = record.job_id;
  const bool quota_lock = record.max_active_jobs || record.max_active_jobs_per_user;
  db_.Write<SubmitOutcome>(
      tenant, job, [r = std::move(record)](PgConn& c) { return PgSubmit(c, r); }, std::move(done),
      quota_lock);
}

template <>
void DbJobStore<PgDatabase>::AppendEvent(EventRecord record, Callback<EventOutcome> done) {
  std::string tenant = record.tenant_id;
  std::string job = record.job_id;
  db_.Write<EventOutcome>(
      tenant, job, [r = std::move(record)](PgConn& c) { return PgAppendEvent(c, r); },
      std::move(done));
}

template <>
void DbJobStore<PgDatabase>::GetJob(std::string tenant_id, std::string job_id,
                                    Callback<JobRecord> done) {
  db_.Task<JobRecord>(
      [t = std::move(tenant_id), j = std::move(job_id)](PgConn& c) { return PgGetJob(c, t, j); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobStore<PgDatabase>::GetDetail(std::string tenant_id, std::string job_id,
                                       Callback<JobDetail> done) {
  db_.Task<JobDetail>(
      [t = std::move(tenant_id), j = std::move(job_id)](PgConn& c) { return PgGetDetail(c, t, j); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbJobStore<PgDatabase>::CheckHealth(Callback<StoreHealth> done) {
  db_.executor().EnqueueRead(std::make_unique<HealthTask>(std::move(done)));
}

// PostgreSQL verifies its pages as it reads them (page headers, and checksums
// when the cluster has them); amcheck would need CREATE EXTENSION by a
// superuser and reads every page of every index, more than a health request
// that needs no token should start. So: ok, saying why.
template <>
void DbJobStore<PgDatabase>::CheckIntegrity(Callback<StoreIntegrity> done) {
  InvokeNoThrow<StoreIntegrity>(
      done,
      StoreIntegrity{.ok = true, .detail = "not applicable: PostgreSQL checks its own pages"});
}

}  // namespace rtgw::storage
