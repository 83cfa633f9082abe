#include "storage/sqlite/sqlite_db.hpp"

#include <utility>

#include <sqlite3.h>

namespace rtgw::storage::sqlite {

Error SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string message = "sqlite: ";
  message.append(what);
  message.append(": ");
  // sqlite3_errmsg describes the most recent failure on `db`; without a
  // connection (failed open) fall back to the generic text for the code.
  message.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_INTERRUPT:
      return Unavailable(std::move(message), "store_unavailable");
    default:
      return Internal(std::move(message));
  }
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_rc_(std::exchange(other.bind_rc_, 0)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_rc_ = std::exchange(other.bind_rc_, 0);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::KeepBindError(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindText(int index, std::string_view value) {
  // A non-null pointer even for "" so the value is an empty string, not NULL.
  const char* data = value.empty() ? "" : value.data();
  KeepBindError(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void Statement::BindOptionalText(int index, const std::optional<std::string>& value) {
  if (!value) {
    KeepBindError(sqlite3_bind_null(stmt_, index));
    return;
  }
  BindText(index, *value);
}

void Statement::BindInt64(int index, std::int64_t value) {
  KeepBindError(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::BindValues(const std::vector<std::variant<std::string, std::int64_t>>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (const auto* text = std::get_if<std::string>(&values[i])) {
      BindText(index, *text);
    } else {
      BindInt64(index, std::get<std::int64_t>(values[i]));
    }
  }
}

int Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_);
}

Status Statement::StepDone(std::string_view what) {
  const int rc = Step();
  if (rc != SQLITE_DONE) return SqliteError(rc, db_, what);
  return Ok{};
}

Result<bool> Statement::StepRow(std::string_view what) {
  const int rc = Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db_, what);
}

int Statement::Changes() const { return sqlite3_changes(db_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

std::string Statement::ColumnText(int index) const {
  // Text first, then bytes: the documented order that avoids a conversion.
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (text == nullptr || size <= 0) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::optional<std::string> Statement::ColumnOptionalText(int index) const {
  if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nullopt;
  return ColumnText(index);
}

std::int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

// ---- Database ----

Result<Database> Database::Open(const std::string& path, Mode mode, int busy_timeout_ms,
                                const char* vfs) {
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |=
      mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  Database db(raw);  // owns `raw` even when the open failed (SQLite allocates it anyway)
  if (rc != SQLITE_OK) {
    Error error = SqliteError(rc, raw, "open " + path);
    // A database that cannot be opened is an environment problem for the
    // caller, whatever SQLite's code says.
    error.code = ErrorCode::kUnavailable;
    return error;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(const std::string& sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text is available through sqlite3_errmsg
  if (rc != SQLITE_OK) return SqliteError(rc, db_, what);
  return Ok{};
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, db_, "prepare " + std::string(sql.substr(0, 60)));
  }
  return Statement(db_, stmt);
}

Status Database::PrepareAll(std::initializer_list<StatementSql> entries) {
  for (const StatementSql& e : entries) {
    Result<Statement> stmt = Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return Ok{};
}

Result<std::string> Database::QueryText(std::string_view sql, std::string_view what) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt) return std::move(stmt).error();
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return SqliteError(rc, db_, what);
  return stmt->ColumnText(0);
}

bool Database::InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

}  // namespace rtgw::storage::sqlite
