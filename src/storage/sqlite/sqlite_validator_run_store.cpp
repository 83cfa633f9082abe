// ValidatorRunStore of a SqliteDatabase (db_stores.hpp): every call (reads
// too) is a write task on the database's single writer thread, so it joins the
// same group commit and sees every job write queued before it.
#include <memory>
#include <utility>

#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/validator_run_writer.hpp"

namespace rtgw::storage {

using sqlite::JobWriter;
using sqlite::SqliteDatabase;
using sqlite::ValidatorRunWriter;

namespace {

// Runs `fn(ValidatorRunWriter&) -> Result<T>` as a write of the group commit.
template <class T, class Fn>
void Run(SqliteDatabase& db, Fn fn, Callback<T> done) {
  db.Write<T>([fn = std::move(fn)](JobWriter& w) { return fn(w.validator_runs()); },
              std::move(done));
}

}  // namespace

template <>
void DbValidatorRunStore<SqliteDatabase>::CreateRun(ValidatorRun run, Callback<Ok> done) {
  Run<Ok>(
      db_, [run = std::move(run)](ValidatorRunWriter& w) { return w.CreateRun(run); },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::AddExecution(ValidatorExecution execution,
                                                       Callback<Ok> done) {
  Run<Ok>(
      db_, [e = std::move(execution)](ValidatorRunWriter& w) { return w.AddExecution(e); },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::MarkLaunched(std::string callback_id,
                                                       std::string execution_name,
                                                       std::string status, Callback<bool> done) {
  Run<bool>(
      db_,
      [id = std::move(callback_id), name = std::move(execution_name),
       st = std::move(status)](ValidatorRunWriter& w) { return w.MarkLaunched(id, name, st); },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::FinishWithoutCallback(std::string callback_id,
                                                                std::string status,
                                                                std::string error,
                                                                std::string finished_at,
                                                                Callback<bool> done) {
  Run<bool>(
      db_,
      [id = std::move(callback_id), st = std::move(status), err = std::move(error),
       at = std::move(finished_at)](ValidatorRunWriter& w) {
        return w.FinishWithoutCallback(id, st, err, at);
      },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::ApplyCallback(CallbackApply apply,
                                                        Callback<CallbackOutcome> done) {
  Run<CallbackOutcome>(
      db_, [a = std::move(apply)](ValidatorRunWriter& w) { return w.ApplyCallback(a); },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::MarkEventSynced(std::string callback_id,
                                                          Callback<Ok> done) {
  Run<Ok>(
      db_, [id = std::move(callback_id)](ValidatorRunWriter& w) { return w.MarkEventSynced(id); },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::GetRun(std::optional<std::string> tenant_id,
                                                 std::string run_id, Callback<ValidatorRun> done) {
  Run<ValidatorRun>(
      db_,
      [t = std::move(tenant_id), id = std::move(run_id)](ValidatorRunWriter& w) {
        return w.GetRun(t, id);
      },
      std::move(done));
}

template <>
void DbValidatorRunStore<SqliteDatabase>::ListDue(std::int64_t now_us, std::optional<DueKey> after,
                                                  int limit,
                                                  Callback<std::vector<ValidatorRun>> done) {
  Run<std::vector<ValidatorRun>>(
      db_,
      [now_us, a = std::move(after), limit](ValidatorRunWriter& w) {
        return w.ListDue(now_us, a, limit);
      },
      std::move(done));
}

// A page of at most 5 x (limit + 1) index entries (validator_run_list_sql.hpp), short next to a
// batch of writes, so it stays a task of the writer like GetRun: the list sees every write
// acknowledged before it.
template <>
void DbValidatorRunStore<SqliteDatabase>::ListRuns(RunListQuery query, Callback<RunPage> done) {
  Run<RunPage>(
      db_, [q = std::move(query)](ValidatorRunWriter& w) { return w.ListRuns(q); },
      std::move(done));
}

}  // namespace rtgw::storage
