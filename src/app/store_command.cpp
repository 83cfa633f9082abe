#include <cstdio>

#include "app/commands.hpp"
#include "config/options.hpp"
#include "storage/store_copy.hpp"

namespace rtgw::app {

int RunStore(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"from", "", "", "Source store URL (sqlite://PATH or postgresql://...). Only read."},
      {"to", "", "", "Target store URL. Migrated to this build's schema, then filled."},
      {"replace", "", "",
       "Delete the target's rows first (without it a non-empty target is refused).", true},
  };
  const char* usage = "rtgw store copy --from URL --to URL [--replace]";
  const char* description =
      "Copies every job, submission (idempotency record and its stored 202 body), event and\n"
      "outbox row from one store to another in one target transaction, then re-reads both\n"
      "sides and compares row counts and a SHA-256 per table. Exit 0 only when every table\n"
      "matches. Stop rtgw serve on the source first (SQLite: its file lock is taken).\n"
      "The promotion path: rtgw store copy --from sqlite://rtgw.db --to postgresql://...";
  if (args.empty() || args[0] != "copy") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::fputs(config::FormatHelp(usage, description, kSpecs).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (config::PrintHelpIfAsked(rest, usage, description, kSpecs)) return 0;
  auto v = config::ParseOptionsOrReport("rtgw store copy", rest, kSpecs);
  if (!v) return 2;
  storage::CopyOptions o;
  o.from_url = v->GetOr("from", "");
  o.to_url = v->GetOr("to", "");
  o.replace = v->Switch("replace");
  if (o.from_url.empty() || o.to_url.empty()) {
    std::fprintf(stderr, "rtgw store copy: --from and --to are required\nusage: %s\n", usage);
    return 2;
  }
  Result<storage::CopyReport> r = storage::CopyStore(o);
  if (!r) {
    std::fprintf(stderr, "rtgw store copy: %s\n", r.error().message.c_str());
    return r.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::fputs(storage::FormatCopyReport(*r).c_str(), stdout);
  return r->ok() ? 0 : 1;
}

}  // namespace rtgw::app
