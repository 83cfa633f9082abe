#ifndef RTGW_STORAGE_TABLE_IO_HPP_
#define RTGW_STORAGE_TABLE_IO_HPP_

// Row-level access to the store's tables, backend-neutral, for `rtgw store
// copy` (store_copy.hpp). Not used by the serving path.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::storage {

// How a column's value is written as canonical text, identical on every
// backend: kInt decimal; kBool "0"/"1"; kTime RFC 3339 UTC with exactly six
// fractional digits ("2026-02-18T00:00:00.000000Z"); kText as stored.
enum class ColumnKind { kText, kInt, kBool, kTime };

struct Column {
  const char* name;
  ColumnKind kind;
};

struct TableSpec {
  const char* name;
  std::vector<Column> columns;
  const char* order_by;            // a total order, e.g. "tenant_id, job_id"
  const char* identity = nullptr;  // identity column whose sequence must follow copied values
};

using Row = std::vector<std::optional<std::string>>;  // nullopt = NULL

// One connection to one store. Not thread-safe.
class TableIo {
 public:
  virtual ~TableIo() = default;
  virtual std::string backend() const = 0;
  virtual Result<int> SchemaVersion() = 0;
  virtual Result<bool> HasTable(const std::string& table) = 0;
  virtual Result<std::int64_t> Count(const std::string& table) = 0;
  // Every row in spec.order_by order, columns in spec order, canonical text.
  virtual Status ForEachRow(const TableSpec& spec, const std::function<Status(const Row&)>& fn) = 0;
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  virtual Status DeleteAll(const TableSpec& spec) = 0;
  virtual Status Insert(const TableSpec& spec, const Row& row) = 0;
  // After inserting explicit identity values: moves the sequence past them.
  virtual Status ResetIdentity(const TableSpec& spec) = 0;
};

// "2026-02-18T00:00:00.5Z" -> "2026-02-18T00:00:00.500000Z"; other text unchanged.
std::string CanonicalTime(const std::string& text);

// A SQLite store file (sqlite_table_io.cpp). Holds the store's exclusive file
// lock ("<path>.lock") while open, so no rtgw serve can write the file
// meanwhile (and it refuses to open while one runs).
namespace sqlite {
Result<std::unique_ptr<TableIo>> OpenSqliteTableIo(const std::string& path);
}  // namespace sqlite

// A PostgreSQL store, the URL's search_path schema (pg_table_io.cpp). Reads
// stream rows (single-row mode); writes are prepared INSERTs with explicit
// identity values, inside the caller's transaction.
namespace postgres {
Result<std::unique_ptr<TableIo>> OpenPgTableIo(const std::string& url);
}  // namespace postgres

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_TABLE_IO_HPP_
