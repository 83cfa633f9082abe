#include <map>
#include <utility>

#include "storage/postgres/pg_conn.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage::postgres {
namespace {

std::string SelectExpr(const Column& c) {
  const std::string n = std::string("src.") + c.name;
  switch (c.kind) {
    case ColumnKind::kInt:
      return n + "::text";
    case ColumnKind::kBool:
      return "(" + n + "::int)::text";
    case ColumnKind::kTime:
      return "to_char(" + n + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    case ColumnKind::kText:
      break;
  }
  return n;
}

class PgTableIo final : public TableIo {
 public:
  explicit PgTableIo(std::unique_ptr<PgConn> conn) : conn_(std::move(conn)) {}

  std::string backend() const override { return "postgresql"; }

  Result<int> SchemaVersion() override {
    Result<bool> has = HasTable("schema_migrations");
    if (!has) return std::move(has).error();
    if (!*has) return 0;
    Result<PgResult> r = conn_->Query("SELECT COALESCE(max(version), 0) FROM schema_migrations",
                                      Params(), "read schema version");
    if (!r) return std::move(r).error();
    return static_cast<int>(r->Int(0, 0));
  }

  Result<bool> HasTable(const std::string& table) override {
    Result<PgResult> r =
        conn_->Query("SELECT to_regclass($1) IS NOT NULL", Params().Text(table), "find table");
    if (!r) return std::move(r).error();
    return r->Text(0, 0) == "t";
  }

  Result<std::int64_t> Count(const std::string& table) override {
    Result<PgResult> r = conn_->Query("SELECT count(*) FROM " + table, Params(), "count rows");
    if (!r) return std::move(r).error();
    return r->Int(0, 0);
  }

  Status ForEachRow(const TableSpec& spec, const std::function<Status(const Row&)>& fn) override {
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      if (i) sql += ", ";
      sql += SelectExpr(spec.columns[i]);
    }
    // ORDER BY the table's columns (src.x), not the text-cast output columns
    // of the same name, which would sort "10" before "2".
    sql += std::string(" FROM ") + spec.name + " AS src ORDER BY ";
    const std::string order = spec.order_by;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = order.find(',', start);
      std::string col =
          order.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      while (!col.empty() && col.front() == ' ') col.erase(col.begin());
      sql += (start == 0 ? "src." : ", src.") + col;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    Row row(spec.columns.size());
    return conn_->StreamRows(
        sql,
        [&](const PgResult& r) -> Status {
          for (std::size_t i = 0; i < spec.columns.size(); ++i) {
            row[i] = r.OptText(0, static_cast<int>(i));
          }
          return fn(row);
        },
        "read rows");
  }

  Status Begin() override { return conn_->Exec("BEGIN", "begin"); }
  Status Commit() override { return conn_->Exec("COMMIT", "commit"); }
  void Rollback() override {
    if (conn_->ok() && conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", "rollback");
  }

  Status DeleteAll(const TableSpec& spec) override {
    return conn_->Exec(std::string("DELETE FROM ") + spec.name, "delete rows");
  }

  Status Insert(const TableSpec& spec, const Row& row) override {
    std::string& sql = insert_sql_[spec.name];
    if (sql.empty()) {
      std::string cols;
      std::string marks;
      for (std::size_t i = 0; i < spec.columns.size(); ++i) {
        if (i) {
          cols += ", ";
          marks += ", ";
        }
        cols += spec.columns[i].name;
        marks += "$" + std::to_string(i + 1);
      }
      sql = std::string("INSERT INTO ") + spec.name + " (" + cols + ") VALUES (" + marks + ")";
    }
    Params p;
    for (const auto& v : row) p.OptText(v);
    const std::string name = std::string("copy_insert_") + spec.name;
    Result<PgResult> r = conn_->QueryPrepared(name.c_str(), sql.c_str(), p, "insert row");
    if (!r) return std::move(r).error();
    return Ok{};
  }

  Status ResetIdentity(const TableSpec& spec) override {
    if (spec.identity == nullptr) return Ok{};
    const std::string t = spec.name;
    const std::string c = spec.identity;
    return conn_->Exec("SELECT setval(pg_get_serial_sequence('" + t + "', '" + c +
                           "'), COALESCE((SELECT max(" + c + ") FROM " + t + "), 0) + 1, false)",
                       "reset identity");
  }

 private:
  std::unique_ptr<PgConn> conn_;
  std::map<std::string, std::string> insert_sql_;
};

}  // namespace

Result<std::unique_ptr<TableIo>> OpenPgTableIo(const std::string& url) {
  Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(url);
  if (!conn) return std::move(conn).error();
  return std::unique_ptr<TableIo>(new PgTableIo(std::move(conn).value()));
}

}  // namespace rtgw::storage::postgres
