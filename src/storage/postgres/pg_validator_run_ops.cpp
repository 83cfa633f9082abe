#include "storage/postgres/pg_validator_run_ops.hpp"

#include <utility>

#include "storage/postgres/pg_conn.hpp"

namespace rtgw::storage::postgres {
namespace {

// Run columns then execution columns, in the order ReadRun expects.
#define RTGW_RUN_COLUMNS                                                                 \
  "r.run_id, r.tenant_id, r.workspace_id, r.validator, r.version, r.launcher,"           \
  " r.requested_by, r.created_at,"                                                       \
  " e.callback_id, e.attempt, e.job_id, e.submission_id, e.execution_name, e.status,"    \
  " e.input_uri, e.result_uri, e.findings_json, e.error, e.receipt_json, e.finished_at," \
  " e.trace_id, e.deadline_us, e.event_synced, e.created_at"

constexpr const char* kInsertRun =
    "INSERT INTO validator_runs (run_id, tenant_id, workspace_id, validator, version,"
    " launcher, requested_by, created_at, current_callback_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING run_id";

constexpr const char* kInsertExecution =
    "INSERT INTO validator_executions (callback_id, run_id, attempt, job_id, submission_id,"
    " execution_name, status, input_uri, trace_id, deadline_us, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT DO NOTHING RETURNING callback_id";

constexpr const char* kLockRun =
    "SELECT current_callback_id FROM validator_runs WHERE run_id = $1 FOR UPDATE";

constexpr const char* kLockExecutionStatus =
    "SELECT status FROM validator_executions WHERE callback_id = $1 FOR UPDATE";

constexpr const char* kSetCurrent =
    "UPDATE validator_runs SET current_callback_id = $2 WHERE run_id = $1";

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
    " WHERE (e.status IN ('PENDING', 'RUNNING') AND e.deadline_us <= $1)"
    "    OR (e.status NOT IN ('PENDING', 'RUNNING') AND NOT e.event_synced)"
    " ORDER BY e.deadline_us LIMIT $2";

ValidatorRun ReadRun(const PgResult& s, int row) {
  ValidatorRun r;
  r.run_id = s.Text(row, 0);
  r.tenant_id = s.Text(row, 1);
  r.workspace_id = s.Text(row, 2);
  r.validator = s.Text(row, 3);
  r.version = s.Text(row, 4);
  r.launcher = s.Text(row, 5);
  r.requested_by = s.Text(row, 6);
  r.created_at = s.Text(row, 7);
  ValidatorExecution& e = r.current;
  e.run_id = r.run_id;
  e.callback_id = s.Text(row, 8);
  e.attempt = s.Int(row, 9);
  e.job_id = s.Text(row, 10);
  e.submission_id = s.Text(row, 11);
  e.execution_name = s.Text(row, 12);
  e.status = s.Text(row, 13);
  e.input_uri = s.Text(row, 14);
  e.result_uri = s.Text(row, 15);
  e.findings_json = s.OptText(row, 16);
  e.error = s.OptText(row, 17);
  e.receipt_json = s.OptText(row, 18);
  e.finished_at = s.Text(row, 19);
  e.trace_id = s.Text(row, 20);
  e.deadline_us = s.Int(row, 21);
  e.event_synced = s.Text(row, 22) == "t";
  e.created_at = s.Text(row, 23);
  return r;
}

Status InsertExecution(PgConn& conn, const ValidatorExecution& e) {
  Result<PgResult> r = conn.QueryPrepared("vr_insert_execution", kInsertExecution,
                                          Params()
                                              .Text(e.callback_id)
                                              .Text(e.run_id)
                                              .Int(e.attempt)
                                              .Text(e.job_id)
                                              .Text(e.submission_id)
                                              .Text(e.execution_name)
                                              .Text(e.status)
                                              .Text(e.input_uri)
                                              .Text(e.trace_id)
                                              .Int(e.deadline_us)
                                              .Text(e.created_at),
                                          "insert execution");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return Conflict("execution " + e.callback_id + " exists", "run_conflict");
  return Ok{};
}

}  // namespace

Status PgCreateRun(PgConn& conn, const ValidatorRun& run) {
  Result<PgResult> r = conn.QueryPrepared("vr_insert_run", kInsertRun,
                                          Params()
                                              .Text(run.run_id)
                                              .Text(run.tenant_id)
                                              .Text(run.workspace_id)
                                              .Text(run.validator)
                                              .Text(run.version)
                                              .Text(run.launcher)
                                              .Text(run.requested_by)
                                              .Text(run.created_at)
                                              .Text(run.current.callback_id),
                                          "insert run");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return Conflict("run " + run.run_id + " exists", "run_conflict");
  ValidatorExecution e = run.current;
  e.run_id = run.run_id;
  return InsertExecution(conn, e);
}

Status PgAddExecution(PgConn& conn, const ValidatorExecution& execution) {
  Result<PgResult> run =
      conn.QueryPrepared("vr_lock_run", kLockRun, Params().Text(execution.run_id), "lock run");
  if (!run) return std::move(run).error();
  if (run->rows() == 0) return NotFound("validation run not found");
  const std::string current = run->Text(0, 0);
  Result<PgResult> status = conn.QueryPrepared("vr_lock_execution", kLockExecutionStatus,
                                               Params().Text(current), "lock current execution");
  if (!status) return std::move(status).error();
  if (status->rows() == 0) return Internal("run " + execution.run_id + " has no current execution");
  if (!IsTerminalRunStatus(status->Text(0, 0))) {
    return Conflict("the run's current execution has not finished", "run_not_finished");
  }
  if (Status s = InsertExecution(conn, execution); !s) return s;
  Result<PgResult> set = conn.QueryPrepared(
      "vr_set_current", kSetCurrent, Params().Text(execution.run_id).Text(execution.callback_id),
      "set current execution");
  if (!set) return std::move(set).error();
  return Ok{};
}

Result<bool> PgMarkLaunched(PgConn& conn, const std::string& callback_id,
                            const std::string& execution_name, const std::string& status) {
  Result<PgResult> r = conn.QueryPrepared(
      "vr_mark_launched", kMarkLaunched,
      Params().Text(callback_id).Text(execution_name).Text(status), "mark launched");
  if (!r) return std::move(r).error();
  return r->Affected() > 0;
}

Result<bool> PgFinishWithoutCallback(PgConn& conn, const std::string& callback_id,
                                     const std::string& status, const std::string& error,
                                     const std::string& finished_at) {
  Result<PgResult> r = conn.QueryPrepared(
      "vr_finish", kFinish, Params().Text(callback_id).Text(status).Text(error).Text(finished_at),
      "finish execution");
  if (!r) return std::move(r).error();
  return r->Affected() > 0;
}

Result<CallbackOutcome> PgApplyCallback(PgConn& conn, const CallbackApply& apply) {
  CallbackOutcome out;
  // Which run: a callback_id never moves between runs, so an unlocked read is
  // enough to find the row to lock.
  Result<PgResult> owner = conn.QueryPrepared("vr_run_of_callback", kRunOfCallback,
                                              Params().Text(apply.callback_id), "find execution");
  if (!owner) return std::move(owner).error();
  if (owner->rows() == 0 || owner->Text(0, 0) != apply.run_id) return out;  // kUnknown
  Result<PgResult> run =
      conn.QueryPrepared("vr_lock_run", kLockRun, Params().Text(apply.run_id), "lock run");
  if (!run) return std::move(run).error();
  if (run->rows() == 0) return out;
  Result<PgResult> locked = conn.QueryPrepared("vr_lock_execution", kLockExecutionStatus,
                                               Params().Text(apply.callback_id), "lock execution");
  if (!locked) return std::move(locked).error();
  // Under both locks: a fresh read of the execution and the run's current one.
  Result<PgResult> row = conn.QueryPrepared("vr_by_callback", kByCallback,
                                            Params().Text(apply.callback_id), "read execution");
  if (!row) return std::move(row).error();
  if (row->rows() == 0) return out;
  out.run = ReadRun(*row, 0);
  const std::string current_callback_id = row->Text(0, 24);
  ValidatorRun& r = *out.run;
  if (r.current.receipt_json) {
    out.disposition = CallbackDisposition::kReplay;
    out.receipt_json = *r.current.receipt_json;
    return out;
  }
  if (r.current.callback_id != current_callback_id) {
    out.disposition = CallbackDisposition::kSuperseded;
    return out;
  }
  if (IsTerminalRunStatus(r.current.status)) {
    out.disposition = CallbackDisposition::kFinished;
    return out;
  }
  Result<PgResult> applied = conn.QueryPrepared("vr_apply", kApply,
                                                Params()
                                                    .Text(apply.callback_id)
                                                    .Text(apply.status)
                                                    .Text(apply.result_uri)
                                                    .OptText(apply.findings_json)
                                                    .OptText(apply.error)
                                                    .Text(apply.receipt_json)
                                                    .Text(apply.finished_at),
                                                "apply callback");
  if (!applied) return std::move(applied).error();
  if (applied->rows() != 1) {
    return Unavailable("postgresql: the execution changed while applying its callback; retry",
                       "store_unavailable");
  }
  out.disposition = CallbackDisposition::kApplied;
  out.receipt_json = apply.receipt_json;
  r.current.status = apply.status;
  r.current.result_uri = apply.result_uri;
  r.current.findings_json = apply.findings_json;
  r.current.error = apply.error;
  r.current.receipt_json = apply.receipt_json;
  r.current.finished_at = apply.finished_at;
  return out;
}

Status PgMarkEventSynced(PgConn& conn, const std::string& callback_id) {
  Result<PgResult> r =
      conn.QueryPrepared("vr_synced", kSynced, Params().Text(callback_id), "mark event synced");
  if (!r) return std::move(r).error();
  return Ok{};
}

Result<ValidatorRun> PgGetRun(PgConn& conn, const std::optional<std::string>& tenant_id,
                              const std::string& run_id) {
  Result<PgResult> r = conn.QueryPrepared("vr_get_run", kGetRun,
                                          Params().Text(run_id).OptText(tenant_id), "read run");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return NotFound("validation run not found");
  return ReadRun(*r, 0);
}

Result<std::vector<ValidatorRun>> PgListDue(PgConn& conn, std::int64_t now_us, int limit) {
  Result<PgResult> r = conn.QueryPrepared("vr_list_due", kListDue, Params().Int(now_us).Int(limit),
                                          "list due executions");
  if (!r) return std::move(r).error();
  std::vector<ValidatorRun> runs;
  runs.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) runs.push_back(ReadRun(*r, i));
  return runs;
}

}  // namespace rtgw::storage::postgres
