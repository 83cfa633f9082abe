#ifndef RTGW_STORAGE_SQLITE_SCHEMA_HPP_
#define RTGW_STORAGE_SQLITE_SCHEMA_HPP_

// Private to storage/sqlite: the versioned schema (docs/contracts/storage-schema.md).

#include <span>
#include <string>

#include "common/error.hpp"
#include "storage/schema_migration.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {

// All migrations in ascending version order, starting at 1 with no gaps.
std::span<const Migration> Migrations();

// The newest version in Migrations().
int LatestSchemaVersion();

// Brings `db` to LatestSchemaVersion(): in ONE write transaction, creates
// schema_migrations if missing, reads its max version, refuses (Unavailable,
// naming both versions) a database newer than this build, then applies each
// pending migration and records it. All or nothing. Returns the version found
// before migrating (0 for a new database).
Result<int> MigrateSchema(Database& db);

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SCHEMA_HPP_
