// PostgresJobStore's ValidatorRunStore half (storage/validator_run_store.hpp).
// Writes join the group-commit batches, reads are tasks (a read follows every
// write that was acknowledged before it: acks come after COMMIT). The SQL is
// in pg_validator_run_ops.cpp.
#include <utility>

#include "storage/postgres/pg_ops.hpp"
#include "storage/postgres/pg_validator_run_ops.hpp"
#include "storage/postgres/postgres_job_store.hpp"

namespace rtgw::storage::postgres {
namespace {
// Batch order key: validator writes sort apart from job writes.
constexpr const char* kTenantKey = "\x7fvalidator";
}  // namespace

void PostgresJobStore::CreateRun(ValidatorRun run, Callback<Ok> done) {
  std::string key = run.run_id;
  PgOps::Write<Ok>(
      *this, kTenantKey, std::move(key),
      [run = std::move(run)](PgConn& c) -> Status { return PgCreateRun(c, run); }, std::move(done));
}

void PostgresJobStore::AddExecution(ValidatorExecution execution, Callback<Ok> done) {
  std::string key = execution.run_id;
  PgOps::Write<Ok>(
      *this, kTenantKey, std::move(key),
      [e = std::move(execution)](PgConn& c) -> Status { return PgAddExecution(c, e); },
      std::move(done));
}

void PostgresJobStore::MarkLaunched(std::string callback_id, std::string execution_name,
                                    std::string status, Callback<bool> done) {
  std::string key = callback_id;
  PgOps::Write<bool>(
      *this, kTenantKey, std::move(key),
      [id = std::move(callback_id), name = std::move(execution_name),
       st = std::move(status)](PgConn& c) { return PgMarkLaunched(c, id, name, st); },
      std::move(done));
}

void PostgresJobStore::FinishWithoutCallback(std::string callback_id, std::string status,
                                             std::string error, std::string finished_at,
                                             Callback<bool> done) {
  std::string key = callback_id;
  PgOps::Write<bool>(
      *this, kTenantKey, std::move(key),
      [id = std::move(callback_id), st = std::move(status), err = std::move(error),
       at = std::move(finished_at)](PgConn& c) {
        return PgFinishWithoutCallback(c, id, st, err, at);
      },
      std::move(done));
}

void PostgresJobStore::ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) {
  std::string key = apply.run_id;
  PgOps::Write<CallbackOutcome>(
      *this, kTenantKey, std::move(key),
      [a = std::move(apply)](PgConn& c) { return PgApplyCallback(c, a); }, std::move(done));
}

void PostgresJobStore::MarkEventSynced(std::string callback_id, Callback<Ok> done) {
  std::string key = callback_id;
  PgOps::Write<Ok>(
      *this, kTenantKey, std::move(key),
      [id = std::move(callback_id)](PgConn& c) -> Status { return PgMarkEventSynced(c, id); },
      std::move(done));
}

void PostgresJobStore::GetRun(std::optional<std::string> tenant_id, std::string run_id,
                              Callback<ValidatorRun> done) {
  PgOps::Read<ValidatorRun>(
      *this,
      [t = std::move(tenant_id), id = std::move(run_id)](PgConn& c) { return PgGetRun(c, t, id); },
      std::move(done));
}

void PostgresJobStore::ListDue(std::int64_t now_us, int limit,
                               Callback<std::vector<ValidatorRun>> done) {
  PgOps::Read<std::vector<ValidatorRun>>(
      *this, [now_us, limit](PgConn& c) { return PgListDue(c, now_us, limit); }, std::move(done));
}

}  // namespace rtgw::storage::postgres
