#ifndef RTGW_STORAGE_OPEN_STORE_HPP_
#define RTGW_STORAGE_OPEN_STORE_HPP_

// Picks and opens the store backend named by a database URL
// (RTGW_DATABASE_URL): sqlite://PATH (embedded, one process per file) or
// postgresql://user:pass@host:port/db, also postgres:// (shared by replicas).
// Every command that needs the store (serve, migrate, store copy) goes
// through here.

#include <cstddef>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/revocation_store.hpp"
#include "storage/stores.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage {

enum class Backend { kSqlite, kPostgres };

struct DatabaseUrl {
  Backend backend = Backend::kSqlite;
  std::string url;  // as given
  std::string
      sqlite_path;  // kSqlite only: "sqlite://a.db" -> "a.db", "sqlite:///v/a.db" -> "/v/a.db"
};

// InvalidArgument (message names the accepted forms) for anything else, a
// sqlite URL without a path, or a PostgreSQL URL libpq cannot parse.
Result<DatabaseUrl> ParseDatabaseUrl(const std::string& url);

// The URL with its password replaced by "***": the only form that may be logged.
std::string RedactDatabaseUrl(const std::string& url);

// When `rtgw serve` applies schema migrations.
enum class MigrateMode {
  kAuto,    // SQLite: yes (embedded; the README's one-step start). PostgreSQL: no.
  kAlways,  // apply pending migrations at start
  kNever,   // refuse to start on a schema that is behind; run `rtgw migrate`
};

struct StoreOptions {
  std::string url;
  MigrateMode migrate = MigrateMode::kAuto;
  // SQLite
  std::string sqlite_synchronous = "FULL";
  int sqlite_wal_autocheckpoint_pages = 1000;
  int sqlite_page_size = 2048;               // SqliteOptions::page_size (new files only)
  bool sqlite_background_checkpoint = true;  // SqliteOptions::background_checkpoint
  int reader_threads = 2;
  std::size_t job_cache_entries = 65'536;
  // Insert a ProjectionUpdate into the outbox with every job state change
  // (storage/outbox_store.hpp). SQLite honours it; PostgreSQL always writes.
  bool write_outbox = false;
  // PostgreSQL (no job cache there: replicas would serve stale rows)
  int pool_size = 4;
};

// Every store surface of one database (storage/stores.hpp); the pointers are
// into `db`, valid while it lives.
struct OpenedStore {
  std::unique_ptr<Stores> db;
  JobStore* jobs = nullptr;
  OutboxStore* outbox = nullptr;
  NodeStore* nodes = nullptr;
  ValidatorRunStore* validator_runs = nullptr;
  RevocationStore* revocations = nullptr;
  std::string backend;  // "sqlite" | "postgresql"
};

Result<OpenedStore> OpenStore(const StoreOptions& options, MetricsRegistry* metrics);

struct MigrateReport {
  std::string backend;
  int found = 0;   // schema version before
  int latest = 0;  // after (this build's)
};

// `rtgw migrate`: applies pending migrations of either backend, refusing a
// schema newer than this build.
Result<MigrateReport> MigrateDatabase(const std::string& url);

// `rtgw migrate --check`: the schema version found and this build's, changing
// nothing (a missing SQLite file is version 0).
Result<MigrateReport> CheckSchema(const std::string& url);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_OPEN_STORE_HPP_
