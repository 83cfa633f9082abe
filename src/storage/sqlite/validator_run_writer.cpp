#include "storage/sqlite/validator_run_writer.hpp"

#include <utility>

#include <sqlite3.h>

namespace rtgw::storage::sqlite {
namespace {

Status StepDone(Statement& stmt, std::string_view what) {
  const int rc = stmt.Step();
  if (rc != SQLITE_DONE) return SqliteError(rc, stmt.db(), what);
  return Ok{};
}

// Run columns then execution columns, in the order ReadRun expects.
constexpr const char* kColumns =
    "r.run_id, r.tenant_id, r.workspace_id, r.validator, r.version, r.launcher,"
    " r.requested_by, r.created_at,"
    " e.callback_id, e.attempt, e.job_id, e.submission_id, e.execution_name, e.status,"
    " e.input_uri, e.result_uri, e.findings_json, e.error, e.receipt_json, e.finished_at,"
    " e.trace_id, e.deadline_us, e.event_synced, e.created_at";

ValidatorRun ReadRun(const Statement& s) {
  ValidatorRun r;
  r.run_id = s.ColumnText(0);
  r.tenant_id = s.ColumnText(1);
  r.workspace_id = s.ColumnText(2);
  r.validator = s.ColumnText(3);
  r.version = s.ColumnText(4);
  r.launcher = s.ColumnText(5);
  r.requested_by = s.ColumnText(6);
  r.created_at = s.ColumnText(7);
  ValidatorExecution& e = r.current;
  e.run_id = r.run_id;
  e.callback_id = s.ColumnText(8);
  e.attempt = s.ColumnInt64(9);
  e.job_id = s.ColumnText(10);
  e.submission_id = s.ColumnText(11);
  e.execution_name = s.ColumnText(12);
  e.status = s.ColumnText(13);
  e.input_uri = s.ColumnText(14);
  e.result_uri = s.ColumnText(15);
  e.findings_json = s.ColumnOptionalText(16);
  e.error = s.ColumnOptionalText(17);
  e.receipt_json = s.ColumnOptionalText(18);
  e.finished_at = s.ColumnText(19);
  e.trace_id = s.ColumnText(20);
  e.deadline_us = s.ColumnInt64(21);
  e.event_synced = s.ColumnInt64(22) != 0;
  e.created_at = s.ColumnText(23);
  return r;
}

Result<std::optional<ValidatorRun>> StepOne(Statement& stmt, std::string_view what) {
  const int rc = stmt.Step();
  if (rc == SQLITE_DONE) return std::optional<ValidatorRun>();
  if (rc != SQLITE_ROW) return SqliteError(rc, stmt.db(), what);
  return std::optional<ValidatorRun>(ReadRun(stmt));
}

}  // namespace

Result<ValidatorRunWriter> ValidatorRunWriter::Create(Database& db) {
  ValidatorRunWriter w;
  const std::string cols = kColumns;
  struct Entry {
    Statement* stmt;
    std::string sql;
  };
  const Entry entries[] = {
      {&w.insert_run_,
       "INSERT INTO validator_runs (run_id, tenant_id, workspace_id, validator, version,"
       " launcher, requested_by, created_at, current_callback_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&w.insert_execution_,
       "INSERT INTO validator_executions (callback_id, run_id, attempt, job_id, submission_id,"
       " execution_name, status, input_uri, trace_id, deadline_us, created_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&w.set_current_, "UPDATE validator_runs SET current_callback_id = ?2 WHERE run_id = ?1"},
      {&w.current_of_run_,
       "SELECT e.status FROM validator_runs AS r JOIN validator_executions AS e"
       " ON e.callback_id = r.current_callback_id WHERE r.run_id = ?1"},
      {&w.mark_launched_,
       "UPDATE validator_executions SET execution_name = ?2, status = ?3"
       " WHERE callback_id = ?1 AND status IN ('PENDING', 'RUNNING')"},
      {&w.finish_,
       "UPDATE validator_executions SET status = ?2, error = ?3, finished_at = ?4"
       " WHERE callback_id = ?1 AND status IN ('PENDING', 'RUNNING')"},
      {&w.apply_,
       "UPDATE validator_executions SET status = ?2, result_uri = ?3, findings_json = ?4,"
       " error = ?5, receipt_json = ?6, finished_at = ?7 WHERE callback_id = ?1"},
      {&w.synced_, "UPDATE validator_executions SET event_synced = 1 WHERE callback_id = ?1"},
      {&w.get_run_, "SELECT " + cols +
                        " FROM validator_runs AS r JOIN validator_executions AS e"
                        " ON e.callback_id = r.current_callback_id"
                        " WHERE r.run_id = ?1 AND (?2 IS NULL OR r.tenant_id = ?2)"},
      {&w.by_callback_, "SELECT " + cols + ", r.current_callback_id" +
                            " FROM validator_executions AS e JOIN validator_runs AS r"
                            " ON r.run_id = e.run_id WHERE e.callback_id = ?1"},
      {&w.list_due_, "SELECT " + cols +
                         " FROM validator_executions AS e JOIN validator_runs AS r"
                         " ON r.run_id = e.run_id"
                         " WHERE (e.status IN ('PENDING', 'RUNNING') AND e.deadline_us <= ?1)"
                         "    OR (e.status NOT IN ('PENDING', 'RUNNING') AND e.event_synced = 0)"
                         " ORDER BY e.deadline_us LIMIT ?2"},
  };
  for (const Entry& e : entries) {
    Result<Statement> stmt = db.Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return w;
}

Status ValidatorRunWriter::InsertExecution(const ValidatorExecution& e) {
  ResetGuard reset(insert_execution_);
  insert_execution_.BindText(1, e.callback_id);
  insert_execution_.BindText(2, e.run_id);
  insert_execution_.BindInt64(3, e.attempt);
  insert_execution_.BindText(4, e.job_id);
  insert_execution_.BindText(5, e.submission_id);
  insert_execution_.BindText(6, e.execution_name);
  insert_execution_.BindText(7, e.status);
  insert_execution_.BindText(8, e.input_uri);
  insert_execution_.BindText(9, e.trace_id);
  insert_execution_.BindInt64(10, e.deadline_us);
  insert_execution_.BindText(11, e.created_at);
  const int rc = insert_execution_.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return Conflict("execution " + e.callback_id + " exists", "run_conflict");
  }
  if (rc != SQLITE_DONE) return SqliteError(rc, insert_execution_.db(), "insert execution");
  return Ok{};
}

Status ValidatorRunWriter::CreateRun(const ValidatorRun& run) {
  {
    ResetGuard reset(insert_run_);
    insert_run_.BindText(1, run.run_id);
    insert_run_.BindText(2, run.tenant_id);
    insert_run_.BindText(3, run.workspace_id);
    insert_run_.BindText(4, run.validator);
    insert_run_.BindText(5, run.version);
    insert_run_.BindText(6, run.launcher);
    insert_run_.BindText(7, run.requested_by);
    insert_run_.BindText(8, run.created_at);
    insert_run_.BindText(9, run.current.callback_id);
    const int rc = insert_run_.Step();
    if (rc == SQLITE_CONSTRAINT) return Conflict("run " + run.run_id + " exists", "run_conflict");
    if (rc != SQLITE_DONE) return SqliteError(rc, insert_run_.db(), "insert run");
  }
  ValidatorExecution e = run.current;
  e.run_id = run.run_id;
  return InsertExecution(e);
}

Status ValidatorRunWriter::AddExecution(const ValidatorExecution& execution) {
  {
    ResetGuard reset(current_of_run_);
    current_of_run_.BindText(1, execution.run_id);
    const int rc = current_of_run_.Step();
    if (rc == SQLITE_DONE) return NotFound("validation run not found");
    if (rc != SQLITE_ROW) return SqliteError(rc, current_of_run_.db(), "read current execution");
    if (!IsTerminalRunStatus(current_of_run_.ColumnText(0))) {
      return Conflict("the run's current execution has not finished", "run_not_finished");
    }
  }
  if (Status s = InsertExecution(execution); !s) return s;
  ResetGuard reset(set_current_);
  set_current_.BindText(1, execution.run_id);
  set_current_.BindText(2, execution.callback_id);
  return StepDone(set_current_, "set current execution");
}

Result<bool> ValidatorRunWriter::MarkLaunched(const std::string& callback_id,
                                              const std::string& execution_name,
                                              const std::string& status) {
  ResetGuard reset(mark_launched_);
  mark_launched_.BindText(1, callback_id);
  mark_launched_.BindText(2, execution_name);
  mark_launched_.BindText(3, status);
  if (Status s = StepDone(mark_launched_, "mark launched"); !s) return s.error();
  return sqlite3_changes(mark_launched_.db()) > 0;
}

Result<bool> ValidatorRunWriter::FinishWithoutCallback(const std::string& callback_id,
                                                       const std::string& status,
                                                       const std::string& error,
                                                       const std::string& finished_at) {
  ResetGuard reset(finish_);
  finish_.BindText(1, callback_id);
  finish_.BindText(2, status);
  finish_.BindText(3, error);
  finish_.BindText(4, finished_at);
  if (Status s = StepDone(finish_, "finish execution"); !s) return s.error();
  return sqlite3_changes(finish_.db()) > 0;
}

Result<std::optional<ValidatorRun>> ValidatorRunWriter::RunByCallback(
    const std::string& callback_id) {
  ResetGuard reset(by_callback_);
  by_callback_.BindText(1, callback_id);
  return StepOne(by_callback_, "read execution");
}

Result<CallbackOutcome> ValidatorRunWriter::ApplyCallback(const CallbackApply& apply) {
  CallbackOutcome out;
  std::string current_callback_id;
  {
    ResetGuard reset(by_callback_);
    by_callback_.BindText(1, apply.callback_id);
    const int rc = by_callback_.Step();
    if (rc == SQLITE_DONE) return out;  // kUnknown
    if (rc != SQLITE_ROW) return SqliteError(rc, by_callback_.db(), "read execution");
    out.run = ReadRun(by_callback_);
    current_callback_id = by_callback_.ColumnText(24);
  }
  ValidatorRun& run = *out.run;
  if (run.run_id != apply.run_id) {
    out.run.reset();
    return out;  // kUnknown: a callback_id never moves between runs
  }
  if (run.current.receipt_json) {
    out.disposition = CallbackDisposition::kReplay;
    out.receipt_json = *run.current.receipt_json;
    return out;
  }
  if (run.current.callback_id != current_callback_id) {
    out.disposition = CallbackDisposition::kSuperseded;
    return out;
  }
  if (IsTerminalRunStatus(run.current.status)) {
    out.disposition = CallbackDisposition::kFinished;
    return out;
  }
  ResetGuard reset(apply_);
  apply_.BindText(1, apply.callback_id);
  apply_.BindText(2, apply.status);
  apply_.BindText(3, apply.result_uri);
  apply_.BindOptionalText(4, apply.findings_json);
  apply_.BindOptionalText(5, apply.error);
  apply_.BindText(6, apply.receipt_json);
  apply_.BindText(7, apply.finished_at);
  if (Status s = StepDone(apply_, "apply callback"); !s) return s.error();
  out.disposition = CallbackDisposition::kApplied;
  out.receipt_json = apply.receipt_json;
  run.current.status = apply.status;
  run.current.result_uri = apply.result_uri;
  run.current.findings_json = apply.findings_json;
  run.current.error = apply.error;
  run.current.receipt_json = apply.receipt_json;
  run.current.finished_at = apply.finished_at;
  return out;
}

Status ValidatorRunWriter::MarkEventSynced(const std::string& callback_id) {
  ResetGuard reset(synced_);
  synced_.BindText(1, callback_id);
  return StepDone(synced_, "mark event synced");
}

Result<ValidatorRun> ValidatorRunWriter::GetRun(const std::optional<std::string>& tenant_id,
                                                const std::string& run_id) {
  ResetGuard reset(get_run_);
  get_run_.BindText(1, run_id);
  get_run_.BindOptionalText(2, tenant_id);
  Result<std::optional<ValidatorRun>> r = StepOne(get_run_, "read run");
  if (!r) return std::move(r).error();
  if (!*r) return NotFound("validation run not found");
  return std::move(**r);
}

Result<std::vector<ValidatorRun>> ValidatorRunWriter::ListDue(std::int64_t now_us, int limit) {
  ResetGuard reset(list_due_);
  list_due_.BindInt64(1, now_us);
  list_due_.BindInt64(2, limit);
  std::vector<ValidatorRun> runs;
  for (;;) {
    const int rc = list_due_.Step();
    if (rc == SQLITE_DONE) return runs;
    if (rc != SQLITE_ROW) return SqliteError(rc, list_due_.db(), "list due executions");
    runs.push_back(ReadRun(list_due_));
  }
}

}  // namespace rtgw::storage::sqlite
