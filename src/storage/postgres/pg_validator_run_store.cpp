// ValidatorRunStore of a PgDatabase (db_stores.hpp): writes join the
// group-commit batches, reads are tasks (a read follows every write that was
// acknowledged before it: acks come after COMMIT). The SQL is in
// pg_validator_run_ops.cpp.
#include <utility>

#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_validator_run_ops.hpp"

namespace rtgw::storage {

using postgres::PgConn;
using postgres::PgDatabase;

namespace {
// Batch order key: validator writes sort apart from job writes.
constexpr const char* kTenantKey = "\x7fvalidator";
}  // namespace

template <>
void DbValidatorRunStore<PgDatabase>::CreateRun(ValidatorRun run, Callback<Ok> done) {
  std::string key = run.run_id;
  db_.Write<Ok>(
      kTenantKey, key, [run = std::move(run)](PgConn& c) -> Status { return PgCreateRun(c, run); },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::AddExecution(ValidatorExecution execution,
                                                   Callback<Ok> done) {
  std::string key = execution.run_id;
  db_.Write<Ok>(
      kTenantKey, key,
      [e = std::move(execution)](PgConn& c) -> Status { return PgAddExecution(c, e); },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::MarkLaunched(std::string callback_id,
                                                   std::string execution_name, std::string status,
                                                   Callback<bool> done) {
  std::string key = callback_id;
  db_.Write<bool>(
      kTenantKey, key,
      [id = std::move(callback_id), name = std::move(execution_name),
       st = std::move(status)](PgConn& c) { return PgMarkLaunched(c, id, name, st); },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::FinishWithoutCallback(std::string callback_id,
                                                            std::string status, std::string error,
                                                            std::string finished_at,
                                                            Callback<bool> done) {
  std::string key = callback_id;
  db_.Write<bool>(
      kTenantKey, key,
      [id = std::move(callback_id), st = std::move(status), err = std::move(error),
       at = std::move(finished_at)](PgConn& c) {
        return PgFinishWithoutCallback(c, id, st, err, at);
      },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::ApplyCallback(CallbackApply apply,
                                                    Callback<CallbackOutcome> done) {
  std::string key = apply.run_id;
  db_.Write<CallbackOutcome>(
      kTenantKey, key, [a = std::move(apply)](PgConn& c) { return PgApplyCallback(c, a); },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::MarkEventSynced(std::string callback_id, Callback<Ok> done) {
  std::string key = callback_id;
  db_.Write<Ok>(
      kTenantKey, key,
      [id = std::move(callback_id)](PgConn& c) -> Status { return PgMarkEventSynced(c, id); },
      std::move(done));
}

template <>
void DbValidatorRunStore<PgDatabase>::GetRun(std::optional<std::string> tenant_id,
                                             std::string run_id, Callback<ValidatorRun> done) {
  db_.Task<ValidatorRun>(
      [t = std::move(tenant_id), id = std::move(run_id)](PgConn& c) { return PgGetRun(c, t, id); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbValidatorRunStore<PgDatabase>::ListDue(std::int64_t now_us, std::optional<DueKey> after,
                                              int limit, Callback<std::vector<ValidatorRun>> done) {
  db_.Task<std::vector<ValidatorRun>>(
      [now_us, a = std::move(after), limit](PgConn& c) { return PgListDue(c, now_us, a, limit); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbValidatorRunStore<PgDatabase>::ListRuns(RunListQuery query, Callback<RunPage> done) {
  db_.Task<RunPage>([q = std::move(query)](PgConn& c) { return PgListRuns(c, q); }, std::move(done),
                    /*rerunnable=*/true);
}

}  // namespace rtgw::storage
