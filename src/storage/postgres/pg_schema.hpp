#ifndef RTGW_STORAGE_POSTGRES_PG_SCHEMA_HPP_
#define RTGW_STORAGE_POSTGRES_PG_SCHEMA_HPP_

// The versioned PostgreSQL schema (docs/contracts/storage-schema.md).

#include <span>

#include "common/error.hpp"
#include "storage/schema_migration.hpp"

namespace rtgw::storage::postgres {

class PgConn;

std::span<const Migration> PgMigrations();
int PgLatestSchemaVersion();

struct MigrationResult {
  int found = 0;    // version before (0: empty database)
  int applied = 0;  // migrations this call applied
};

// Brings the database (the first schema of the connection's search_path) to
// PgLatestSchemaVersion(). Each migration runs in its own transaction that
// first takes a transaction-scoped advisory lock keyed on the schema name, so
// replicas migrating at the same moment apply each step exactly once (the
// others wait, then see it applied). Refuses (Unavailable) a schema newer than
// this build, naming both versions.
Result<MigrationResult> MigratePg(PgConn& conn);

// Reads the schema version without changing anything: Ok when it is exactly
// PgLatestSchemaVersion(); Unavailable telling the operator to run
// `rtgw migrate` when it is behind, and refusing when it is newer.
Result<int> CheckPgSchema(PgConn& conn);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_SCHEMA_HPP_
