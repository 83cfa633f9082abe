#include "storage/sqlite/job_reader.hpp"

#include <utility>

#include <sqlite3.h>

#include "storage/record_rows.hpp"

namespace rtgw::storage::sqlite {

Result<std::unique_ptr<JobReader>> JobReader::Create(Database db) {
  std::unique_ptr<JobReader> reader(new JobReader(std::move(db)));
  if (Status s = reader->PrepareAll(); !s) return std::move(s).error();
  auto nodes = NodeReader::Create(reader->db_);
  if (!nodes) return std::move(nodes).error();
  reader->nodes_ = std::move(nodes).value();
  return reader;
}

Status JobReader::PrepareAll() {
  return db_.PrepareAll({
      // Deferred: the read transaction (and its snapshot) starts at the first SELECT.
      {&begin_, "BEGIN"},
      {&commit_, "COMMIT"},
      {&get_job_, "SELECT " RTGW_JOB_COLUMNS("") " FROM jobs WHERE tenant_id = ?1 AND job_id = ?2"},
      {&list_events_, "SELECT " RTGW_EVENT_COLUMNS
                      " FROM job_events WHERE tenant_id = ?1 AND job_id = ?2 ORDER BY seq"},
      {&ping_, "SELECT MAX(version) FROM schema_migrations"},
  });
}

Result<JobRecord> JobReader::GetJob(const std::string& tenant_id, const std::string& job_id) {
  return ReadJob(tenant_id, job_id);
}

Result<JobRecord> JobReader::ReadJob(const std::string& tenant_id, const std::string& job_id) {
  ResetGuard reset(get_job_);
  Result<bool> row = get_job_.FirstRow("read job", tenant_id, job_id);
  if (!row) return std::move(row).error();
  if (!*row) return NotFound("job not found");
  return ReadJobRow(get_job_);
}

Result<JobDetail> JobReader::GetDetail(const std::string& tenant_id, const std::string& job_id) {
  if (Status s = begin_.Run("begin read"); !s) return std::move(s).error();
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
  list_events_.Bind(tenant_id, job_id);
  Status read = list_events_.ForEachRow("read events", [&](const Statement& row) -> Status {
    Result<EventView> event = ReadEventRow(row);
    if (!event) return std::move(event).error();
    detail.events.push_back(std::move(event).value());
    return Ok{};
  });
  if (!read) return std::move(read).error();
  return detail;
}

Status JobReader::Ping() {
  ResetGuard reset(ping_);
  const int rc = ping_.Step();
  if (rc != SQLITE_ROW) return SqliteError(rc, ping_.db(), "health read");
  return Ok{};
}

}  // namespace rtgw::storage::sqlite
