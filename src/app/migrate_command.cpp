#include <cstdio>

#include "app/commands.hpp"
#include "config/options.hpp"
#include "storage/open_store.hpp"

namespace rtgw::app {

int RunMigrate(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"database-url", "RTGW_DATABASE_URL", "sqlite://rtgw.db",
       "Store to migrate: sqlite://PATH or postgresql://user:password@host:port/dbname."},
      {"check", "", "",
       "Change nothing: exit 0 when the schema is current, 1 when it is behind or newer.", true},
  };
  const char* usage = "rtgw migrate [--database-url URL] [--check]";
  if (config::PrintHelpIfAsked(
          args, usage,
          "Applies the pending schema migrations of the store, each in its own transaction, "
          "and prints the versions.\nSafe to run while other rtgw processes start (PostgreSQL: "
          "an advisory lock serializes migrators; SQLite: the file lock, so stop the "
          "server first).\nRefuses a schema newer than this build.",
          kSpecs)) {
    return 0;
  }
  auto v = config::ParseOptionsOrReport("rtgw migrate", args, kSpecs);
  if (!v) return 2;
  const std::string url = v->GetOr("database-url", "");
  const bool check = v->Switch("check");
  Result<storage::MigrateReport> r =
      check ? storage::CheckSchema(url) : storage::MigrateDatabase(url);
  if (!r) {
    const bool bad_url = r.error().code == ErrorCode::kInvalidArgument;
    std::fprintf(stderr, "rtgw migrate: %s%s\n",
                 bad_url ? (v->Source("database-url") + ": ").c_str() : "",
                 r.error().message.c_str());
    return bad_url ? 2 : 1;
  }
  if (check) {
    std::printf("%s %s: schema version %d, this build's %d (%s)\n", r->backend.c_str(),
                storage::RedactDatabaseUrl(url).c_str(), r->found, r->latest,
                r->found == r->latest  ? "current"
                : r->found < r->latest ? "behind: run rtgw migrate"
                                       : "newer than this build");
    return r->found == r->latest ? 0 : 1;
  }
  std::printf("%s %s: schema version %d -> %d (%s)\n", r->backend.c_str(),
              storage::RedactDatabaseUrl(url).c_str(), r->found, r->latest,
              r->found == r->latest ? "up to date" : "migrated");
  return 0;
}

}  // namespace rtgw::app
