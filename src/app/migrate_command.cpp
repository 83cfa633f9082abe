#include <cstdio>

#include "app/commands.hpp"
#include "config/options.hpp"
#include "storage/open_store.hpp"

namespace rtgw::app {

int RunMigrate(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"database-url", "RTGW_DATABASE_URL", "sqlite://rtgw.db",
       "Store to migrate: sqlite://PATH or postgresql://user:password@host:port/dbname."},
  };
  const char* usage = "rtgw migrate [--database-url URL]";
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(
          config::FormatHelp(
              usage,
              "Applies the pending schema migrations of the store, each in its own transaction, "
              "and prints the versions.\nSafe to run while other rtgw processes start (PostgreSQL: "
              "an advisory lock serializes migrators; SQLite: the file lock, so stop the "
              "server first).\nRefuses a schema newer than this build.",
              kSpecs)
              .c_str(),
          stdout);
      return 0;
    }
  }
  auto v = config::ParseOptions(args, kSpecs, config::ProcessEnv);
  if (!v) {
    std::fprintf(stderr, "rtgw migrate: %s\n", v.error().message.c_str());
    return 2;
  }
  const std::string url = v->GetOr("database-url", "");
  Result<storage::MigrateReport> r = storage::MigrateDatabase(url);
  if (!r) {
    const bool bad_url = r.error().code == ErrorCode::kInvalidArgument;
    std::fprintf(stderr, "rtgw migrate: %s%s\n",
                 bad_url ? (v->Source("database-url") + ": ").c_str() : "",
                 r.error().message.c_str());
    return bad_url ? 2 : 1;
  }
  std::printf("%s %s: schema version %d -> %d (%s)\n", r->backend.c_str(),
              storage::RedactDatabaseUrl(url).c_str(), r->found, r->latest,
              r->found == r->latest ? "up to date" : "migrated");
  return 0;
}

}  // namespace rtgw::app
