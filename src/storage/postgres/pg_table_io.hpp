#ifndef RTGW_STORAGE_POSTGRES_PG_TABLE_IO_HPP_
#define RTGW_STORAGE_POSTGRES_PG_TABLE_IO_HPP_

#include <memory>
#include <string>

#include "common/error.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage::postgres {

// Row access to a PostgreSQL store (the URL's search_path schema) for
// `rtgw store copy`. Reads stream rows (single-row mode); writes are prepared
// INSERTs with explicit identity values, inside the caller's transaction.
Result<std::unique_ptr<TableIo>> OpenPgTableIo(const std::string& url);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_TABLE_IO_HPP_
