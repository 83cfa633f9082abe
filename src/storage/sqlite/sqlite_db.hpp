#ifndef RTGW_STORAGE_SQLITE_SQLITE_DB_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_DB_HPP_

// Private to storage/sqlite: thin RAII owners of a SQLite connection and of a
// prepared statement. Keeps <sqlite3.h> out of every other header.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace rtgw::storage::sqlite {

// Maps a SQLite result code to our Error. Environmental failures (busy,
// locked, I/O, disk full, cannot open, read-only, out of memory, corruption)
// become Unavailable; anything else (constraint, misuse, schema) is Internal.
// `what` names the operation, e.g. "insert job".
Error SqliteError(int rc, sqlite3* db, std::string_view what);

// One prepared statement. Not thread-safe: used by the thread that owns its
// connection. Move-only; finalizes on destruction. Bound text is not copied
// (SQLITE_STATIC), so bound strings must outlive the Step() calls, which they
// do because every use runs bind/step/reset inside one function.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based, as in SQLite. A failed bind (value too big, out of
  // memory) is remembered and returned by the next Step(), which then does not
  // run, so a half-bound statement can never store a NULL by accident.
  void BindText(int index, std::string_view value);
  void BindOptionalText(int index, const std::optional<std::string>& value);
  void BindInt64(int index, std::int64_t value);
  // Binds a built statement's values (the list SQL's SqlWithParams::params)
  // to ?1, ?2, ... in order: strings as TEXT (not copied), integers as INTEGER.
  void BindValues(const std::vector<std::variant<std::string, std::int64_t>>& values);
  // Binds `values` to ?1, ?2, ... in order: integers (bool as 0/1) as INTEGER,
  // std::optional<std::string> as TEXT or NULL, anything else as TEXT (not
  // copied, as above). No allocation.
  template <class... T>
  void Bind(const T&... values) {
    int index = 0;
    (BindAt(++index, values), ...);
  }

  // Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  // Steps a statement that returns no row: Ok on SQLITE_DONE, else the
  // SqliteError naming `what`.
  Status StepDone(std::string_view what);
  // Steps to the next row: true on a row, false when there is none left, else
  // the SqliteError naming `what`.
  Result<bool> StepRow(std::string_view what);
  // Binds `values` and steps to the first row, as StepRow. The caller resets
  // (ResetGuard) once it has read the row.
  template <class... T>
  Result<bool> FirstRow(std::string_view what, const T&... values) {
    Bind(values...);
    return StepRow(what);
  }
  // Binds `values`, steps to SQLITE_DONE and resets: one write that returns no rows.
  template <class... T>
  Status Run(std::string_view what, const T&... values) {
    Bind(values...);
    Status done = StepDone(what);
    Reset();
    return done;
  }
  // Steps through every row, calling `on_row(*this)` for each; `on_row`
  // returns void, or a Status that stops the loop when it is an error. Does
  // not reset.
  template <class F>
  Status ForEachRow(std::string_view what, F&& on_row) {
    for (;;) {
      Result<bool> row = StepRow(what);
      if (!row) return std::move(row).error();
      if (!*row) return Ok{};
      if constexpr (std::is_void_v<decltype(on_row(*this))>) {
        on_row(*this);
      } else if (Status s = on_row(*this); !s) {
        return s;
      }
    }
  }
  // Rows changed by the latest INSERT, UPDATE or DELETE on this connection.
  int Changes() const;
  // Resets the statement and clears its bindings; releases any read lock the
  // statement held. Always call it (or use a ResetGuard) after stepping.
  void Reset();

  std::string ColumnText(int index) const;
  std::optional<std::string> ColumnOptionalText(int index) const;
  std::int64_t ColumnInt64(int index) const;

  // The current row as the shared record mappers read it (storage/record_rows.hpp).
  std::string Text(int index) const { return ColumnText(index); }
  std::optional<std::string> OptText(int index) const { return ColumnOptionalText(index); }
  std::int64_t Int(int index) const { return ColumnInt64(index); }
  bool Bool(int index) const { return ColumnInt64(index) != 0; }

  sqlite3* db() const { return db_; }

 private:
  void KeepBindError(int rc);
  template <class T>
  void BindAt(int index, const T& value) {
    if constexpr (std::is_integral_v<T>) {
      BindInt64(index, static_cast<std::int64_t>(value));
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      BindOptionalText(index, value);
    } else {
      BindText(index, value);
    }
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first failed bind since the last Reset, 0 (SQLITE_OK) if none
};

// Resets a statement when leaving scope, whatever the path.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& stmt) : stmt_(stmt) {}
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;
  ~ResetGuard() { stmt_.Reset(); }

 private:
  Statement& stmt_;
};

// One SQLite connection in multi-thread mode (SQLITE_OPEN_NOMUTEX): one thread
// at a time. Move-only; closes on destruction (statements must be destroyed
// first, which the owners guarantee by member order).
class Database {
 public:
  enum class Mode { kReadWriteCreate, kReadOnly };

  // `vfs`: a registered SQLite VFS by name, nullptr for the default one.
  static Result<Database> Open(const std::string& path, Mode mode, int busy_timeout_ms,
                               const char* vfs = nullptr);

  Database() = default;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows we need.
  Status Exec(const std::string& sql, std::string_view what);
  // Prepares a statement kept for the connection's lifetime.
  Result<Statement> Prepare(std::string_view sql);
  // Prepares each entry's SQL into its statement; stops at the first failure.
  struct StatementSql {
    Statement* stmt;
    std::string sql;
  };
  Status PrepareAll(std::initializer_list<StatementSql> entries);
  // Runs a single-row, single-column query and returns the text value (empty
  // when there is no row or the value is NULL).
  Result<std::string> QueryText(std::string_view sql, std::string_view what);
  // True when a transaction is open (SQLite is not in autocommit mode).
  bool InTransaction() const;

  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_DB_HPP_
