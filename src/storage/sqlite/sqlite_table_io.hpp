#ifndef RTGW_STORAGE_SQLITE_SQLITE_TABLE_IO_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_TABLE_IO_HPP_

#include <memory>
#include <string>

#include "common/error.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage::sqlite {

// Row access to a SQLite store file for `rtgw store copy`. Holds the store's
// exclusive file lock ("<path>.lock") while open, so no rtgw serve can write
// the file meanwhile (and it refuses to open while one runs).
Result<std::unique_ptr<TableIo>> OpenSqliteTableIo(const std::string& path);

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_TABLE_IO_HPP_
