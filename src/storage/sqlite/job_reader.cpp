#include "storage/sqlite/job_reader.hpp"

#include <utility>

#include <sqlite3.h>

#include "jobs/job_state.hpp"

namespace rtgw::storage::sqlite {
namespace {

Result<jobs::JobState> ParseStoredState(const std::string& text, bool allow_submitted) {
  std::optional<jobs::JobState> state = jobs::ParseJobState(text, allow_submitted);
  if (!state) return Internal("stored state is not a known state: '" + text + "'");
  return *state;
}

}  // namespace

Result<std::unique_ptr<JobReader>> JobReader::Create(Database db) {
  std::unique_ptr<JobReader> reader(new JobReader(std::move(db)));
  if (Status s = reader->PrepareAll(); !s) return std::move(s).error();
  auto nodes = NodeReader::Create(reader->db_);
  if (!nodes) return std::move(nodes).error();
  reader->nodes_ = std::move(nodes).value();
  return reader;
}

Status JobReader::PrepareAll() {
  struct Entry {
    Statement* stmt;
    const char* sql;
  };
  const Entry entries[] = {
      // Deferred: the read transaction (and its snapshot) starts at the first SELECT.
      {&begin_, "BEGIN"},
      {&commit_, "COMMIT"},
      {&get_job_,
       "SELECT tenant_id, job_id, workspace_id, submission_id, management_node_id, state,"
       " spec_json, result_ref_json, error_json, accepted_at, updated_at, trace_id,"
       " projection_version FROM jobs WHERE tenant_id = ?1 AND job_id = ?2"},
      {&list_events_,
       "SELECT seq, event_id, execution_id, state, occurred_at, received_at, trace_id,"
       " result_ref_json, error_json, applied FROM job_events"
       " WHERE tenant_id = ?1 AND job_id = ?2 ORDER BY seq"},
      {&ping_, "SELECT MAX(version) FROM schema_migrations"},
  };
  for (const Entry& e : entries) {
    Result<Statement> stmt = db_.Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return Ok{};
}

Result<JobRecord> JobReader::GetJob(const std::string& tenant_id, const std::string& job_id) {
  return ReadJob(tenant_id, job_id);
}

Result<JobRecord> JobReader::ReadJob(const std::string& tenant_id, const std::string& job_id) {
  ResetGuard reset(get_job_);
  get_job_.BindText(1, tenant_id);
  get_job_.BindText(2, job_id);
  const int rc = get_job_.Step();
  if (rc == SQLITE_DONE) return NotFound("job not found");
  if (rc != SQLITE_ROW) return SqliteError(rc, get_job_.db(), "read job");
  Result<jobs::JobState> state = ParseStoredState(get_job_.ColumnText(5), true);
  if (!state) return std::move(state).error();
  JobRecord job;
  job.tenant_id = get_job_.ColumnText(0);
  job.job_id = get_job_.ColumnText(1);
  job.workspace_id = get_job_.ColumnText(2);
  job.submission_id = get_job_.ColumnText(3);
  job.management_node_id = get_job_.ColumnText(4);
  job.state = *state;
  job.spec_json = get_job_.ColumnText(6);
  job.result_ref_json = get_job_.ColumnOptionalText(7);
  job.error_json = get_job_.ColumnOptionalText(8);
  job.accepted_at = get_job_.ColumnText(9);
  job.updated_at = get_job_.ColumnText(10);
  job.trace_id = get_job_.ColumnText(11);
  job.projection_version = get_job_.ColumnInt64(12);
  return job;
}

Result<JobDetail> JobReader::GetDetail(const std::string& tenant_id, const std::string& job_id) {
  {
    ResetGuard reset(begin_);
    if (const int rc = begin_.Step(); rc != SQLITE_DONE) {
      return SqliteError(rc, begin_.db(), "begin read");
    }
  }
  Result<JobDetail> detail = ReadDetail(tenant_id, job_id);
  // COMMIT of a read transaction only ends the snapshot. If it fails, make
  // sure the transaction is closed so the next read sees new data.
  const int rc = commit_.Step();
  if (rc != SQLITE_DONE) {
    Error error = SqliteError(rc, commit_.db(), "end read");
    commit_.Reset();
    if (db_.InTransaction()) (void)db_.Exec("ROLLBACK", "rollback read");
    if (detail) return error;
    return detail;
  }
  commit_.Reset();
  return detail;
}

Result<JobDetail> JobReader::ReadDetail(const std::string& tenant_id, const std::string& job_id) {
  Result<JobRecord> job = ReadJob(tenant_id, job_id);
  if (!job) return std::move(job).error();
  JobDetail detail;
  detail.job = std::move(job).value();
  ResetGuard reset(list_events_);
  list_events_.BindText(1, tenant_id);
  list_events_.BindText(2, job_id);
  for (;;) {
    const int rc = list_events_.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, list_events_.db(), "read events");
    Result<jobs::JobState> state = ParseStoredState(list_events_.ColumnText(3), false);
    if (!state) return std::move(state).error();
    EventView event;
    event.seq = list_events_.ColumnInt64(0);
    event.event_id = list_events_.ColumnText(1);
    event.execution_id = list_events_.ColumnText(2);
    event.state = *state;
    event.occurred_at = list_events_.ColumnText(4);
    event.received_at = list_events_.ColumnText(5);
    event.trace_id = list_events_.ColumnText(6);
    event.result_ref_json = list_events_.ColumnOptionalText(7);
    event.error_json = list_events_.ColumnOptionalText(8);
    event.applied = list_events_.ColumnInt64(9) != 0;
    detail.events.push_back(std::move(event));
  }
  return detail;
}

Status JobReader::Ping() {
  ResetGuard reset(ping_);
  const int rc = ping_.Step();
  if (rc != SQLITE_ROW) return SqliteError(rc, ping_.db(), "health read");
  return Ok{};
}

}  // namespace rtgw::storage::sqlite
