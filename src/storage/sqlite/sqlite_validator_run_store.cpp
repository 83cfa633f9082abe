#include "storage/sqlite/sqlite_validator_run_store.hpp"

#include <memory>
#include <utility>

#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/validator_run_writer.hpp"

namespace rtgw::storage::sqlite {
namespace {

// Runs `fn(ValidatorRunWriter&) -> Result<T>` through SqliteJobStore::RunWrite
// and hands its value to `done` once committed.
template <class T, class Fn>
void Run(SqliteJobStore& store, Fn fn, Callback<T> done) {
  auto slot = std::make_shared<std::optional<T>>();
  store.RunWrite(
      [fn = std::move(fn), slot](JobWriter& w) -> Status {
        Result<T> r = fn(w.validator_runs());
        if (!r) return std::move(r).error();
        slot->emplace(std::move(r).value());
        return Ok{};
      },
      [slot, done = std::move(done)](Result<Ok> r) {
        if (!r) return done(std::move(r).error());
        if (!*slot) return done(Internal("validator run write produced no value"));
        done(std::move(**slot));
      });
}

}  // namespace

void SqliteValidatorRunStore::CreateRun(ValidatorRun run, Callback<Ok> done) {
  Run<Ok>(
      jobs_, [run = std::move(run)](ValidatorRunWriter& w) { return w.CreateRun(run); },
      std::move(done));
}

void SqliteValidatorRunStore::AddExecution(ValidatorExecution execution, Callback<Ok> done) {
  Run<Ok>(
      jobs_, [e = std::move(execution)](ValidatorRunWriter& w) { return w.AddExecution(e); },
      std::move(done));
}

void SqliteValidatorRunStore::MarkLaunched(std::string callback_id, std::string execution_name,
                                           std::string status, Callback<bool> done) {
  Run<bool>(
      jobs_,
      [id = std::move(callback_id), name = std::move(execution_name),
       st = std::move(status)](ValidatorRunWriter& w) { return w.MarkLaunched(id, name, st); },
      std::move(done));
}

void SqliteValidatorRunStore::FinishWithoutCallback(std::string callback_id, std::string status,
                                                    std::string error, std::string finished_at,
                                                    Callback<bool> done) {
  Run<bool>(
      jobs_,
      [id = std::move(callback_id), st = std::move(status), err = std::move(error),
       at = std::move(finished_at)](ValidatorRunWriter& w) {
        return w.FinishWithoutCallback(id, st, err, at);
      },
      std::move(done));
}

void SqliteValidatorRunStore::ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) {
  Run<CallbackOutcome>(
      jobs_, [a = std::move(apply)](ValidatorRunWriter& w) { return w.ApplyCallback(a); },
      std::move(done));
}

void SqliteValidatorRunStore::MarkEventSynced(std::string callback_id, Callback<Ok> done) {
  Run<Ok>(
      jobs_, [id = std::move(callback_id)](ValidatorRunWriter& w) { return w.MarkEventSynced(id); },
      std::move(done));
}

void SqliteValidatorRunStore::GetRun(std::optional<std::string> tenant_id, std::string run_id,
                                     Callback<ValidatorRun> done) {
  Run<ValidatorRun>(
      jobs_,
      [t = std::move(tenant_id), id = std::move(run_id)](ValidatorRunWriter& w) {
        return w.GetRun(t, id);
      },
      std::move(done));
}

void SqliteValidatorRunStore::ListDue(std::int64_t now_us, int limit,
                                      Callback<std::vector<ValidatorRun>> done) {
  Run<std::vector<ValidatorRun>>(
      jobs_, [now_us, limit](ValidatorRunWriter& w) { return w.ListDue(now_us, limit); },
      std::move(done));
}

}  // namespace rtgw::storage::sqlite
