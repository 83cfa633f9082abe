#include "storage/sqlite/sqlite_table_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>

#include <sqlite3.h>

#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {
namespace {

std::string ColumnList(const TableSpec& spec) {
  std::string out;
  for (const Column& c : spec.columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
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
    Statement& st = insert_[spec.name];
    if (st.db() == nullptr) {
      std::string marks;
      for (std::size_t i = 0; i < spec.columns.size(); ++i) marks += i ? ", ?" : "?";
      Result<Statement> prepared = db_.Prepare(std::string("INSERT INTO ") + spec.name + " (" +
                                               ColumnList(spec) + ") VALUES (" + marks + ")");
      if (!prepared) return std::move(prepared).error();
      st = std::move(prepared).value();
    }
    ResetGuard reset(st);
    for (std::size_t i = 0; i < row.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      if (row[i] && spec.columns[i].kind != ColumnKind::kText &&
          spec.columns[i].kind != ColumnKind::kTime) {
        st.BindInt64(idx, std::strtoll(row[i]->c_str(), nullptr, 10));
      } else {
        st.BindOptionalText(idx, row[i]);
      }
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
