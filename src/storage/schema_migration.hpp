#ifndef RTGW_STORAGE_SCHEMA_MIGRATION_HPP_
#define RTGW_STORAGE_SCHEMA_MIGRATION_HPP_

// What both SQL backends' versioned schemas (sqlite/schema.hpp,
// postgres/pg_schema.hpp; docs/contracts/storage-schema.md) share: the shape
// of one migration and the refusal of a schema newer than this build. The DDL
// itself is each backend's own.

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::storage {

// One forward-only schema step. Shipped migrations are never edited; a change
// is a new entry with the next version.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Unavailable ("store_unavailable"): the database's schema version `found` is
// newer than this build's `latest`; `refusing` says what is refused ("open
// it", "use it").
inline Error SchemaNewerThanBuild(int found, int latest, std::string_view refusing) {
  return Unavailable("database schema version " + std::to_string(found) +
                         " is newer than this build's schema version " + std::to_string(latest) +
                         "; refusing to " + std::string(refusing) +
                         " (upgrade rtgw, do not downgrade the database)",
                     "store_unavailable");
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_SCHEMA_MIGRATION_HPP_
