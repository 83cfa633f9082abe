#include "storage/open_store.hpp"

#include <filesystem>
#include <utility>

#include "storage/postgres/pg_database.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage {

Result<DatabaseUrl> ParseDatabaseUrl(const std::string& url) {
  DatabaseUrl out;
  out.url = url;
  if (url.starts_with("sqlite://")) {
    std::string path = url.substr(std::string_view("sqlite://").size());
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    if (path.empty() || path == ":memory:") {
      return InvalidArgument("database URL '" + url + "' needs a file path (sqlite://PATH)");
    }
    out.backend = Backend::kSqlite;
    out.sqlite_path = std::move(path);
    return out;
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    if (Status s = postgres::ValidatePostgresUrl(url); !s) {
      return InvalidArgument("database URL '" + RedactDatabaseUrl(url) + "': " + s.error().message);
    }
    out.backend = Backend::kPostgres;
    return out;
  }
  return InvalidArgument("database URL '" + RedactDatabaseUrl(url) +
                         "' is not supported; use sqlite://relative.db, sqlite:///abs.db or "
                         "postgresql://user:password@host:port/dbname");
}

std::string RedactDatabaseUrl(const std::string& url) { return postgres::RedactPostgresUrl(url); }

Result<OpenedStore> OpenStore(const StoreOptions& o, MetricsRegistry* metrics) {
  Result<DatabaseUrl> url = ParseDatabaseUrl(o.url);
  if (!url) return std::move(url).error();
  OpenedStore out;
  if (url->backend == Backend::kSqlite) {
    sqlite::SqliteOptions s;
    s.path = url->sqlite_path;
    s.synchronous = o.sqlite_synchronous;
    s.wal_autocheckpoint_pages = o.sqlite_wal_autocheckpoint_pages;
    s.page_size = o.sqlite_page_size;
    s.background_checkpoint = o.sqlite_background_checkpoint;
    s.reader_threads = o.reader_threads;
    s.job_cache_entries = o.job_cache_entries;
    s.write_outbox = o.write_outbox;
    s.migrate = o.migrate != MigrateMode::kNever;
    Result<std::unique_ptr<sqlite::SqliteDatabase>> db = sqlite::SqliteDatabase::Open(s, metrics);
    if (!db) return std::move(db).error();
    out.db = std::move(db).value();
    out.backend = "sqlite";
  } else {
    postgres::PostgresOptions p;
    p.url = url->url;
    p.pool_size = o.pool_size;
    p.migrate = o.migrate == MigrateMode::kAlways;
    Result<std::unique_ptr<postgres::PgDatabase>> db = postgres::PgDatabase::Open(p, metrics);
    if (!db) return std::move(db).error();
    out.db = std::move(db).value();
    out.backend = "postgresql";
  }
  out.jobs = &out.db->jobs();
  out.outbox = &out.db->outbox();
  out.nodes = &out.db->nodes();
  out.validator_runs = &out.db->validator_runs();
  out.revocations = &out.db->revocations();
  return out;
}

Result<MigrateReport> MigrateDatabase(const std::string& url_text) {
  Result<DatabaseUrl> url = ParseDatabaseUrl(url_text);
  if (!url) return std::move(url).error();
  if (url->backend == Backend::kSqlite) {
    Result<int> found = sqlite::SqliteDatabase::MigrateFile(url->sqlite_path);
    if (!found) return std::move(found).error();
    return MigrateReport{
        .backend = "sqlite", .found = *found, .latest = sqlite::SqliteDatabase::SchemaVersion()};
  }
  Result<postgres::PgMigrateReport> r = postgres::MigratePostgres(url->url);
  if (!r) return std::move(r).error();
  return MigrateReport{.backend = "postgresql", .found = r->found, .latest = r->latest};
}

}  // namespace rtgw::storage

namespace rtgw::storage {

Result<MigrateReport> CheckSchema(const std::string& url_text) {
  Result<DatabaseUrl> url = ParseDatabaseUrl(url_text);
  if (!url) return std::move(url).error();
  const bool lite = url->backend == Backend::kSqlite;
  if (lite && !std::filesystem::exists(url->sqlite_path)) {
    return MigrateReport{
        .backend = "sqlite", .found = 0, .latest = sqlite::SqliteDatabase::SchemaVersion()};
  }
  Result<std::unique_ptr<TableIo>> io =
      lite ? sqlite::OpenSqliteTableIo(url->sqlite_path) : postgres::OpenPgTableIo(url->url);
  if (!io) return std::move(io).error();
  Result<int> found = (*io)->SchemaVersion();
  if (!found) return std::move(found).error();
  return MigrateReport{.backend = lite ? "sqlite" : "postgresql",
                       .found = *found,
                       .latest = lite ? sqlite::SqliteDatabase::SchemaVersion()
                                      : postgres::PgDatabase::SchemaVersion()};
}

}  // namespace rtgw::storage
