#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "common/time_format.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage::sqlite {
namespace {

// The SQLite outbox keeps its times as integer microseconds (`*_us`, exact
// comparisons); the copy format names them as times (`*_at`) like PostgreSQL.
// Returns the SQLite column holding `column` as micros, or nullptr.
const char* MicrosColumn(std::string_view table, std::string_view column) {
  if (table != "projection_outbox") return nullptr;
  if (column == "next_attempt_at") return "next_attempt_us";
  if (column == "lease_expires_at") return "lease_expires_us";
  if (column == "dead_at") return "dead_us";
  return nullptr;
}

std::string ColumnList(const TableSpec& spec) {
  std::string out;
  for (const Column& c : spec.columns) {
    if (!out.empty()) out += ", ";
    const char* micros = MicrosColumn(spec.name, c.name);
    out += micros != nullptr ? micros : c.name;
  }
  // Stored twice in SQLite (text for the API, micros for comparisons).
  if (std::string_view(spec.name) == "projection_outbox") out += ", created_us";
  return out;
}

std::optional<std::int64_t> RfcToMicros(const std::string& text) {
  std::optional<SystemTime> t = ParseRfc3339(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
}

class SqliteTableIo final : public TableIo {
 public:
  SqliteTableIo(int lock_fd, Database db) : lock_fd_(lock_fd), db_(std::move(db)) {}
  ~SqliteTableIo() override {
    db_ = Database();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // closing drops the flock
  }

  std::string backend() const override { return "sqlite"; }

  Result<int> SchemaVersion() override {
    Result<bool> has = HasTable("schema_migrations");
    if (!has) return std::move(has).error();
    if (!*has) return 0;
    Result<std::string> v =
        db_.QueryText("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "read version");
    if (!v) return std::move(v).error();
    return std::atoi(v->c_str());
  }

  Result<bool> HasTable(const std::string& table) override {
    Result<Statement> st =
        db_.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
    if (!st) return std::move(st).error();
    st->BindText(1, table);
    const int rc = st->Step();
    if (rc != SQLITE_ROW) return SqliteError(rc, db_.handle(), "find table");
    return st->ColumnInt64(0) > 0;
  }

  Result<std::int64_t> Count(const std::string& table) override {
    Result<std::string> n = db_.QueryText("SELECT count(*) FROM " + table, "count rows");
    if (!n) return std::move(n).error();
    return std::strtoll(n->c_str(), nullptr, 10);
  }

  Status ForEachRow(const TableSpec& spec, const std::function<Status(const Row&)>& fn) override {
    Result<Statement> st = db_.Prepare("SELECT " + ColumnList(spec) + " FROM " + spec.name +
                                       " ORDER BY " + spec.order_by);
    if (!st) return std::move(st).error();
    Row row(spec.columns.size());
    for (;;) {
      const int rc = st->Step();
      if (rc == SQLITE_DONE) return Ok{};
      if (rc != SQLITE_ROW) return SqliteError(rc, db_.handle(), "read rows");
      for (std::size_t i = 0; i < spec.columns.size(); ++i) {
        std::optional<std::string> v = st->ColumnOptionalText(static_cast<int>(i));
        if (v && MicrosColumn(spec.name, spec.columns[i].name) != nullptr) {
          const std::int64_t us = st->ColumnInt64(static_cast<int>(i));
          v = FormatRfc3339(SystemTime(std::chrono::microseconds(us)));
        }
        if (v && spec.columns[i].kind == ColumnKind::kTime) v = CanonicalTime(*v);
        row[i] = std::move(v);
      }
      if (Status s = fn(row); !s) return s;
    }
  }

  Status Begin() override { return db_.Exec("BEGIN IMMEDIATE", "begin"); }
  Status Commit() override { return db_.Exec("COMMIT", "commit"); }
  void Rollback() override {
    if (db_.InTransaction()) (void)db_.Exec("ROLLBACK", "rollback");
  }

  Status DeleteAll(const TableSpec& spec) override {
    return db_.Exec(std::string("DELETE FROM ") + spec.name, "delete rows");
  }

  Status Insert(const TableSpec& spec, const Row& row) override {
    const bool outbox = std::string_view(spec.name) == "projection_outbox";
    Statement& st = insert_[spec.name];
    if (st.db() == nullptr) {
      std::string marks;
      for (std::size_t i = 0; i < spec.columns.size() + (outbox ? 1 : 0); ++i) {
        marks += i ? ", ?" : "?";
      }
      Result<Statement> prepared = db_.Prepare(std::string("INSERT INTO ") + spec.name + " (" +
                                               ColumnList(spec) + ") VALUES (" + marks + ")");
      if (!prepared) return std::move(prepared).error();
      st = std::move(prepared).value();
    }
    ResetGuard reset(st);
    for (std::size_t i = 0; i < row.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      const bool micros = MicrosColumn(spec.name, spec.columns[i].name) != nullptr;
      if (row[i] && micros) {
        std::optional<std::int64_t> us = RfcToMicros(*row[i]);
        if (!us) return InvalidArgument("not an RFC 3339 time in " + std::string(spec.name));
        st.BindInt64(idx, *us);
      } else if (row[i] && spec.columns[i].kind != ColumnKind::kText &&
                 spec.columns[i].kind != ColumnKind::kTime) {
        st.BindInt64(idx, std::strtoll(row[i]->c_str(), nullptr, 10));
      } else {
        st.BindOptionalText(idx, row[i]);
      }
    }
    if (outbox) {  // created_us from created_at (the spec's 6th column)
      std::optional<std::int64_t> us;
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (std::string_view(spec.columns[i].name) == "created_at" && row[i]) {
          us = RfcToMicros(*row[i]);
        }
      }
      if (!us) return InvalidArgument("projection_outbox row without a valid created_at");
      st.BindInt64(static_cast<int>(row.size() + 1), *us);
    }
    const int rc = st.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, db_.handle(), "insert row");
    return Ok{};
  }

  Status ResetIdentity(const TableSpec&) override { return Ok{}; }  // rowids follow max+1

 private:
  int lock_fd_;
  Database db_;
  std::map<std::string, Statement> insert_;
};

}  // namespace

Result<std::unique_ptr<TableIo>> OpenSqliteTableIo(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable("sqlite: cannot open lock file " + lock_path + ": " + std::strerror(errno),
                       "store_unavailable");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Unavailable("sqlite: " + path + " is in use by another rtgw process; stop it first",
                       "store_unavailable");
  }
  Result<Database> db = Database::Open(path, Database::Mode::kReadWriteCreate, 5'000);
  if (!db) {
    ::close(fd);
    return std::move(db).error();
  }
  return std::unique_ptr<TableIo>(new SqliteTableIo(fd, std::move(db).value()));
}

}  // namespace rtgw::storage::sqlite
