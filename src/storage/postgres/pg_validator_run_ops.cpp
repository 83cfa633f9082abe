#include "storage/postgres/pg_validator_run_ops.hpp"

#include <algorithm>
#include <utility>

#include "storage/postgres/pg_conn.hpp"
#include "storage/record_rows.hpp"
#include "storage/validator_run_list_sql.hpp"

namespace rtgw::storage::postgres {
namespace {

constexpr const char* kInsertRun =
    "INSERT INTO validator_runs (run_id, tenant_id, workspace_id, validator, version,"
    " launcher, requested_by, created_at, current_callback_id, current_status)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING run_id";

constexpr const char* kInsertExecution =
    "INSERT INTO validator_executions (callback_id, run_id, attempt, job_id, submission_id,"
    " execution_name, status, input_uri, trace_id, deadline_us, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT DO NOTHING RETURNING callback_id";

constexpr const char* kLockRun =
    "SELECT current_callback_id FROM validator_runs WHERE run_id = $1 FOR UPDATE";

// The run of execution $1, locked: MarkLaunched and FinishWithoutCallback take
// the run's lock before the execution's, as AddExecution and ApplyCallback do,
// so two replicas' writes to one run never wait on each other in a cycle.
constexpr const char* kLockRunOfCallback =
    "SELECT run_id FROM validator_runs"
    " WHERE run_id = (SELECT run_id FROM validator_executions WHERE callback_id = $1) FOR UPDATE";

constexpr const char* kLockExecutionStatus =
    "SELECT status FROM validator_executions WHERE callback_id = $1 FOR UPDATE";

constexpr const char* kSetCurrent =
    "UPDATE validator_runs SET current_callback_id = $2, current_status = $3 WHERE run_id = $1";

constexpr const char* kMarkLaunched =
    "UPDATE validator_executions SET execution_name = $2, status = $3"
    " WHERE callback_id = $1 AND status IN ('PENDING', 'RUNNING')";

constexpr const char* kFinish =
    "UPDATE validator_executions SET status = $2, error = $3, finished_at = $4"
    " WHERE callback_id = $1 AND status IN ('PENDING', 'RUNNING')";

constexpr const char* kRunOfCallback =
    "SELECT run_id FROM validator_executions WHERE callback_id = $1";

// The execution `callback_id` with its run, and the run's current callback_id.
constexpr const char* kByCallback = "SELECT " RTGW_RUN_COLUMNS
                                    ", r.current_callback_id"
                                    " FROM validator_executions AS e JOIN validator_runs AS r"
                                    " ON r.run_id = e.run_id WHERE e.callback_id = $1";

constexpr const char* kApply =
    "UPDATE validator_executions SET status = $2, result_uri = $3, findings_json = $4,"
    " error = $5, receipt_json = $6, finished_at = $7"
    " WHERE callback_id = $1 AND receipt_json IS NULL AND status IN ('PENDING', 'RUNNING')"
    " RETURNING callback_id";

constexpr const char* kSynced =
    "UPDATE validator_executions SET event_synced = true WHERE callback_id = $1";

constexpr const char* kGetRun = "SELECT " RTGW_RUN_COLUMNS
                                " FROM validator_runs AS r JOIN validator_executions AS e"
                                " ON e.callback_id = r.current_callback_id"
                                " WHERE r.run_id = $1 AND ($2::text IS NULL OR r.tenant_id = $2)";

constexpr const char* kListDue =
    "SELECT " RTGW_RUN_COLUMNS
    " FROM validator_executions AS e JOIN validator_runs AS r ON r.run_id = e.run_id"
    " WHERE ((e.status IN ('PENDING', 'RUNNING') AND e.deadline_us <= $1)"
    "    OR (e.status NOT IN ('PENDING', 'RUNNING') AND NOT e.event_synced))"
    "   AND (e.deadline_us, e.callback_id COLLATE \"C\") > ($2::bigint, $3::text COLLATE \"C\")"
    " ORDER BY e.deadline_us, e.callback_id COLLATE \"C\" LIMIT $4";

Status InsertExecution(PgConn& conn, const ValidatorExecution& e) {
  Result<PgResult> r = conn.QueryPrepared(
      "vr_insert_execution", kInsertExecution,
      Params::Of(e.callback_id, e.run_id, e.attempt, e.job_id, e.submission_id, e.execution_name,
                 e.status, e.input_uri, e.trace_id, e.deadline_us, e.created_at),
      "insert execution");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return Conflict("execution " + e.callback_id + " exists", "run_conflict");
  return Ok{};
}

Status LockRunOf(PgConn& conn, const std::string& callback_id) {
  return conn.ExecPrepared("vr_lock_run_of_callback", kLockRunOfCallback, Params::Of(callback_id),
                           "lock run");
}

// validator_runs.current_status after its current execution's status changed.
Status SyncRunStatus(PgConn& conn, const std::string& callback_id, const std::string& status) {
  static const std::string kSync = SyncRunStatusSql('$');
  return conn.ExecPrepared("vr_sync_status", kSync.c_str(), Params::Of(callback_id, status),
                           "record the run's status");
}

}  // namespace

Status PgCreateRun(PgConn& conn, const ValidatorRun& run) {
  Result<PgResult> r =
      conn.QueryPrepared("vr_insert_run", kInsertRun,
                         Params::Of(run.run_id, run.tenant_id, run.workspace_id, run.validator,
                                    run.version, run.launcher, run.requested_by, run.created_at,
                                    run.current.callback_id, run.current.status),
                         "insert run");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return Conflict("run " + run.run_id + " exists", "run_conflict");
  ValidatorExecution e = run.current;
  e.run_id = run.run_id;
  return InsertExecution(conn, e);
}

Status PgAddExecution(PgConn& conn, const ValidatorExecution& execution) {
  Result<PgResult> run =
      conn.QueryPrepared("vr_lock_run", kLockRun, Params::Of(execution.run_id), "lock run");
  if (!run) return std::move(run).error();
  if (run->rows() == 0) return NotFound("validation run not found");
  const std::string current = run->Text(0, 0);
  Result<PgResult> status = conn.QueryPrepared("vr_lock_execution", kLockExecutionStatus,
                                               Params::Of(current), "lock current execution");
  if (!status) return std::move(status).error();
  if (status->rows() == 0) return Internal("run " + execution.run_id + " has no current execution");
  if (!IsTerminalRunStatus(status->Text(0, 0))) {
    return Conflict("the run's current execution has not finished", "run_not_finished");
  }
  if (Status s = InsertExecution(conn, execution); !s) return s;
  return conn.ExecPrepared("vr_set_current", kSetCurrent,
                           Params::Of(execution.run_id, execution.callback_id, execution.status),
                           "set current execution");
}

Result<bool> PgMarkLaunched(PgConn& conn, const std::string& callback_id,
                            const std::string& execution_name, const std::string& status) {
  if (Status s = LockRunOf(conn, callback_id); !s) return s.error();
  Result<bool> changed =
      conn.ExecPreparedChanged("vr_mark_launched", kMarkLaunched,
                               Params::Of(callback_id, execution_name, status), "mark launched");
  if (!changed || !*changed) return changed;
  if (Status s = SyncRunStatus(conn, callback_id, status); !s) return s.error();
  return true;
}

Result<bool> PgFinishWithoutCallback(PgConn& conn, const std::string& callback_id,
                                     const std::string& status, const std::string& error,
                                     const std::string& finished_at) {
  if (Status s = LockRunOf(conn, callback_id); !s) return s.error();
  Result<bool> changed = conn.ExecPreparedChanged(
      "vr_finish", kFinish, Params::Of(callback_id, status, error, finished_at),
      "finish execution");
  if (!changed || !*changed) return changed;
  if (Status s = SyncRunStatus(conn, callback_id, status); !s) return s.error();
  return true;
}

Result<CallbackOutcome> PgApplyCallback(PgConn& conn, const CallbackApply& apply) {
  CallbackOutcome out;
  // Which run: a callback_id never moves between runs, so an unlocked read is
  // enough to find the row to lock.
  Result<PgResult> owner = conn.QueryPrepared("vr_run_of_callback", kRunOfCallback,
                                              Params::Of(apply.callback_id), "find execution");
  if (!owner) return std::move(owner).error();
  if (owner->rows() == 0 || owner->Text(0, 0) != apply.run_id) return out;  // kUnknown
  Result<PgResult> run =
      conn.QueryPrepared("vr_lock_run", kLockRun, Params::Of(apply.run_id), "lock run");
  if (!run) return std::move(run).error();
  if (run->rows() == 0) return out;
  Result<PgResult> locked = conn.QueryPrepared("vr_lock_execution", kLockExecutionStatus,
                                               Params::Of(apply.callback_id), "lock execution");
  if (!locked) return std::move(locked).error();
  // Under both locks: a fresh read of the execution and the run's current one.
  Result<PgResult> row = conn.QueryPrepared("vr_by_callback", kByCallback,
                                            Params::Of(apply.callback_id), "read execution");
  if (!row) return std::move(row).error();
  if (row->rows() == 0) return out;
  out.run = ReadRunRow(PgRow(*row, 0));
  if (!DecideCallback(out, row->Text(0, 24))) return out;
  Result<PgResult> applied = conn.QueryPrepared(
      "vr_apply", kApply,
      Params::Of(apply.callback_id, apply.status, apply.result_uri, apply.findings_json,
                 apply.error, apply.receipt_json, apply.finished_at),
      "apply callback");
  if (!applied) return std::move(applied).error();
  if (applied->rows() != 1) {
    return Unavailable("postgresql: the execution changed while applying its callback; retry",
                       "store_unavailable");
  }
  if (Status s = SyncRunStatus(conn, apply.callback_id, apply.status); !s) return s.error();
  RecordAppliedCallback(out, apply);
  return out;
}

Status PgMarkEventSynced(PgConn& conn, const std::string& callback_id) {
  return conn.ExecPrepared("vr_synced", kSynced, Params::Of(callback_id), "mark event synced");
}

Result<ValidatorRun> PgGetRun(PgConn& conn, const std::optional<std::string>& tenant_id,
                              const std::string& run_id) {
  Result<PgResult> r =
      conn.QueryPrepared("vr_get_run", kGetRun, Params::Of(run_id, tenant_id), "read run");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return NotFound("validation run not found");
  return ReadRunRow(PgRow(*r, 0));
}

Result<std::vector<ValidatorRun>> PgListDue(PgConn& conn, std::int64_t now_us,
                                            const std::optional<DueKey>& after, int limit) {
  const DueKey from = after.value_or(DueKey{});
  Result<PgResult> r = conn.QueryPrepared(
      "vr_list_due_after", kListDue, Params::Of(now_us, from.deadline_us, from.callback_id, limit),
      "list due executions");
  if (!r) return std::move(r).error();
  return MapRows(*r, ReadRunRow<PgRow>);
}

Result<RunPage> PgListRuns(PgConn& conn, const RunListQuery& query) {
  const SqlWithParams list = BuildRunListSql(query, '$');
  const Params p = Params::OfValues(list.params);
  // Not prepared, as the job list: a custom plan per call suits the ranges.
  Result<PgResult> r = conn.Query(list.sql, p, "list validation runs");
  if (!r) return std::move(r).error();
  RunPage page;
  const int rows = std::min(r->rows(), query.limit);
  page.more = r->rows() > query.limit;
  page.runs.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) page.runs.push_back(ReadRunRow(PgRow(*r, i)));
  return page;
}

}  // namespace rtgw::storage::postgres
