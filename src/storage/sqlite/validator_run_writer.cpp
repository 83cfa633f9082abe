#include "storage/sqlite/validator_run_writer.hpp"

#include <utility>

#include <sqlite3.h>

#include "storage/record_rows.hpp"

namespace rtgw::storage::sqlite {
namespace {

Result<std::optional<ValidatorRun>> StepOne(Statement& stmt, std::string_view what) {
  Result<bool> row = stmt.StepRow(what);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<ValidatorRun>();
  return std::optional<ValidatorRun>(ReadRunRow(stmt));
}

}  // namespace

Result<ValidatorRunWriter> ValidatorRunWriter::Create(Database& db) {
  ValidatorRunWriter w;
  Status prepared = db.PrepareAll({
      {&w.insert_run_,
       "INSERT INTO validator_runs (run_id, tenant_id, workspace_id, validator, version,"
       " launcher, requested_by, created_at, current_callback_id, current_status)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&w.insert_execution_,
       "INSERT INTO validator_executions (callback_id, run_id, attempt, job_id, submission_id,"
       " execution_name, status, input_uri, trace_id, deadline_us, created_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&w.set_current_,
       "UPDATE validator_runs SET current_callback_id = ?2, current_status = ?3 WHERE run_id = ?1"},
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
      {&w.get_run_,
       "SELECT " RTGW_RUN_COLUMNS " FROM validator_runs AS r JOIN validator_executions AS e"
       " ON e.callback_id = r.current_callback_id"
       " WHERE r.run_id = ?1 AND (?2 IS NULL OR r.tenant_id = ?2)"},
      {&w.by_callback_, "SELECT " RTGW_RUN_COLUMNS ", r.current_callback_id"
                        " FROM validator_executions AS e JOIN validator_runs AS r"
                        " ON r.run_id = e.run_id WHERE e.callback_id = ?1"},
      {&w.list_due_,
       "SELECT " RTGW_RUN_COLUMNS " FROM validator_executions AS e JOIN validator_runs AS r"
       " ON r.run_id = e.run_id"
       " WHERE ((e.status IN ('PENDING', 'RUNNING') AND e.deadline_us <= ?1)"
       "    OR (e.status NOT IN ('PENDING', 'RUNNING') AND e.event_synced = 0))"
       "   AND (e.deadline_us, e.callback_id) > (?2, ?3)"
       " ORDER BY e.deadline_us, e.callback_id LIMIT ?4"},
      {&w.sync_status_, SyncRunStatusSql('?')},
  });
  if (!prepared) return std::move(prepared).error();
  // One statement per shape of the list's SQL (validator_run_list_sql.hpp).
  for (int shape = 0; shape < kRunListShapes; ++shape) {
    RunListQuery q;
    if ((shape & 2) != 0) q.validator = "";
    if ((shape & 1) != 0) q.after = RunListQuery::Key{};
    Result<Statement> list = db.Prepare(BuildRunListSql(q, '?').sql);
    if (!list) return std::move(list).error();
    w.list_runs_[static_cast<std::size_t>(RunListShape(q))] = std::move(list).value();
  }
  return w;
}

Status ValidatorRunWriter::InsertExecution(const ValidatorExecution& e) {
  ResetGuard reset(insert_execution_);
  insert_execution_.Bind(e.callback_id, e.run_id, e.attempt, e.job_id, e.submission_id,
                         e.execution_name, e.status, e.input_uri, e.trace_id, e.deadline_us,
                         e.created_at);
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
    insert_run_.Bind(run.run_id, run.tenant_id, run.workspace_id, run.validator, run.version,
                     run.launcher, run.requested_by, run.created_at, run.current.callback_id,
                     run.current.status);
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
    Result<bool> row = current_of_run_.FirstRow("read current execution", execution.run_id);
    if (!row) return std::move(row).error();
    if (!*row) return NotFound("validation run not found");
    if (!IsTerminalRunStatus(current_of_run_.ColumnText(0))) {
      return Conflict("the run's current execution has not finished", "run_not_finished");
    }
  }
  if (Status s = InsertExecution(execution); !s) return s;
  return set_current_.Run("set current execution", execution.run_id, execution.callback_id,
                          execution.status);
}

Result<bool> ValidatorRunWriter::MarkLaunched(const std::string& callback_id,
                                              const std::string& execution_name,
                                              const std::string& status) {
  if (Status s = mark_launched_.Run("mark launched", callback_id, execution_name, status); !s) {
    return s.error();
  }
  if (mark_launched_.Changes() == 0) return false;
  if (Status s = SyncRunStatus(callback_id, status); !s) return s.error();
  return true;
}

Result<bool> ValidatorRunWriter::FinishWithoutCallback(const std::string& callback_id,
                                                       const std::string& status,
                                                       const std::string& error,
                                                       const std::string& finished_at) {
  if (Status s = finish_.Run("finish execution", callback_id, status, error, finished_at); !s) {
    return s.error();
  }
  if (finish_.Changes() == 0) return false;
  if (Status s = SyncRunStatus(callback_id, status); !s) return s.error();
  return true;
}

Result<std::optional<ValidatorRun>> ValidatorRunWriter::RunByCallback(
    const std::string& callback_id) {
  ResetGuard reset(by_callback_);
  by_callback_.Bind(callback_id);
  return StepOne(by_callback_, "read execution");
}

Result<CallbackOutcome> ValidatorRunWriter::ApplyCallback(const CallbackApply& apply) {
  CallbackOutcome out;
  std::string current_callback_id;
  {
    ResetGuard reset(by_callback_);
    by_callback_.Bind(apply.callback_id);
    Result<std::optional<ValidatorRun>> run = StepOne(by_callback_, "read execution");
    if (!run) return std::move(run).error();
    out.run = std::move(run).value();
    if (!out.run) return out;  // kUnknown
    current_callback_id = by_callback_.ColumnText(24);
  }
  if (out.run->run_id != apply.run_id) {
    out.run.reset();
    return out;  // kUnknown: a callback_id never moves between runs
  }
  if (!DecideCallback(out, current_callback_id)) return out;
  if (Status s =
          apply_.Run("apply callback", apply.callback_id, apply.status, apply.result_uri,
                     apply.findings_json, apply.error, apply.receipt_json, apply.finished_at);
      !s) {
    return s.error();
  }
  if (Status s = SyncRunStatus(apply.callback_id, apply.status); !s) return s.error();
  RecordAppliedCallback(out, apply);
  return out;
}

Status ValidatorRunWriter::SyncRunStatus(const std::string& callback_id,
                                         const std::string& status) {
  return sync_status_.Run("record the run's status", callback_id, status);
}

Status ValidatorRunWriter::MarkEventSynced(const std::string& callback_id) {
  return synced_.Run("mark event synced", callback_id);
}

Result<ValidatorRun> ValidatorRunWriter::GetRun(const std::optional<std::string>& tenant_id,
                                                const std::string& run_id) {
  ResetGuard reset(get_run_);
  get_run_.Bind(run_id, tenant_id);
  Result<std::optional<ValidatorRun>> r = StepOne(get_run_, "read run");
  if (!r) return std::move(r).error();
  if (!*r) return NotFound("validation run not found");
  return std::move(**r);
}

Result<std::vector<ValidatorRun>> ValidatorRunWriter::ListDue(std::int64_t now_us,
                                                              const std::optional<DueKey>& after,
                                                              int limit) {
  ResetGuard reset(list_due_);
  const DueKey from = after.value_or(DueKey{});
  list_due_.Bind(now_us, from.deadline_us, from.callback_id, limit);
  std::vector<ValidatorRun> runs;
  Status read = list_due_.ForEachRow(
      "list due executions", [&](const Statement& row) { runs.push_back(ReadRunRow(row)); });
  if (!read) return std::move(read).error();
  return runs;
}

Result<RunPage> ValidatorRunWriter::ListRuns(const RunListQuery& query) {
  const SqlWithParams list = BuildRunListSql(query, '?');
  Statement& st = list_runs_[static_cast<std::size_t>(RunListShape(query))];
  ResetGuard reset(st);
  st.BindValues(list.params);
  RunPage page;
  Status read = st.ForEachRow("list validation runs",
                              [&](const Statement& row) { page.runs.push_back(ReadRunRow(row)); });
  if (!read) return std::move(read).error();
  if (page.runs.size() > static_cast<std::size_t>(query.limit)) {
    page.runs.resize(static_cast<std::size_t>(query.limit));
    page.more = true;
  }
  return page;
}

}  // namespace rtgw::storage::sqlite
