#include "storage/sqlite/job_reader.hpp"

#include <optional>
#include <utility>
#include <variant>

#include <sqlite3.h>

#include "storage/job_list_sql.hpp"
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
      {&read_head_, ReadHeadSql('?')},
      {&read_changes_, ReadChangesSql('?')},
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

template <class T, class Fn>
Result<T> JobReader::InReadTransaction(Fn&& read) {
  if (Status s = begin_.Run("begin read"); !s) return std::move(s).error();
  Result<T> out = read();
  // COMMIT of a read transaction only ends the snapshot. If it fails, make
  // sure the transaction is closed so the next read sees new data.
  const int rc = commit_.Step();
  if (rc != SQLITE_DONE) {
    Error error = SqliteError(rc, commit_.db(), "end read");
    commit_.Reset();
    if (db_.InTransaction()) (void)db_.Exec("ROLLBACK", "rollback read");
    if (out) return error;
    return out;
  }
  commit_.Reset();
  return out;
}

Result<JobDetail> JobReader::GetDetail(const std::string& tenant_id, const std::string& job_id) {
  return InReadTransaction<JobDetail>([&] { return ReadDetail(tenant_id, job_id); });
}

Result<ChangeHead> JobReader::ReadHead(const std::string& tenant_id) {
  ResetGuard reset(read_head_);
  Result<bool> row = read_head_.FirstRow("read change head", tenant_id);
  if (!row) return std::move(row).error();
  if (!*row) return ChangeHead{};
  return ChangeHead{.last_seq = read_head_.ColumnInt64(0),
                    .pruned_through = read_head_.ColumnInt64(1)};
}

Result<Statement*> JobReader::ListStatement(const std::string& sql) {
  if (auto it = list_statements_.find(sql); it != list_statements_.end()) return &it->second;
  // Bounded: the shapes are finite, but a cache must not grow without limit.
  if (list_statements_.size() >= 256) list_statements_.clear();
  Result<Statement> prepared = db_.Prepare(sql);
  if (!prepared) return std::move(prepared).error();
  return &list_statements_.emplace(sql, std::move(prepared).value()).first->second;
}

Result<JobPage> JobReader::ReadPage(const JobListQuery& query) {
  const SqlWithParams list = BuildJobListSql(query, '?');
  Result<Statement*> stmt = ListStatement(list.sql);
  if (!stmt) return std::move(stmt).error();
  Statement& st = **stmt;
  ResetGuard reset(st);
  st.BindValues(list.params);
  JobPage page;
  Status read = st.ForEachRow("list jobs", [&](const Statement& row) -> Status {
    Result<JobRecord> job = ReadJobRow(row);
    if (!job) return std::move(job).error();
    page.jobs.push_back(std::move(job).value());
    return Ok{};
  });
  if (!read) return std::move(read).error();
  if (page.jobs.size() > static_cast<std::size_t>(query.limit)) {
    page.jobs.resize(static_cast<std::size_t>(query.limit));
    page.more = true;
  }
  return page;
}

Result<JobPage> JobReader::ListJobs(const JobListQuery& query) {
  return InReadTransaction<JobPage>([&]() -> Result<JobPage> {
    std::optional<ChangeHead> head;
    if (query.with_head) {
      Result<ChangeHead> h = ReadHead(query.tenant_id);
      if (!h) return std::move(h).error();
      head = *h;
    }
    Result<JobPage> page = ReadPage(query);
    if (page) page->head = head;
    return page;
  });
}

Result<ChangePage> JobReader::ReadChanges(const std::string& tenant_id, std::int64_t after_seq,
                                          int limit) {
  return InReadTransaction<ChangePage>([&]() -> Result<ChangePage> {
    ChangePage page;
    Result<ChangeHead> head = ReadHead(tenant_id);
    if (!head) return std::move(head).error();
    page.head = *head;
    ResetGuard reset(read_changes_);
    read_changes_.Bind(tenant_id, after_seq, limit);
    Status read = read_changes_.ForEachRow(
        "read changes", [&](const Statement& row) { page.changes.push_back(ReadChangeRow(row)); });
    if (!read) return std::move(read).error();
    return page;
  });
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
