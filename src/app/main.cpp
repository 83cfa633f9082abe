// rtgw: runtime gateway for bring-your-own HPC compute. Composition root.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "app/commands.hpp"

namespace {

constexpr const char* kUsage =
    "usage: rtgw <command> [options]\n"
    "\n"
    "rtgw sits between a product app and the clusters its users bring: the app submits jobs,\n"
    "management nodes report lifecycle events, rtgw keeps the ordered, tenant-scoped record.\n"
    "\n"
    "commands:\n"
    "  serve        Run the gateway HTTP API (embedded SQLite store by default, or PostgreSQL).\n"
    "  migrate      Apply pending schema migrations to the store (--database-url).\n"
    "  store copy   Copy a store to another, verified (SQLite -> PostgreSQL promotion).\n"
    "  store prune  Archive, then delete old finished jobs (--older-than, --archive).\n"
    "  agent        Run the management-node agent: lease jobs, submit to Slurm (or local\n"
    "               processes), report lifecycle events.\n"
    "  relay        Run the projection relay alone; list and replay its dead letters.\n"
    "  openapi      Print the OpenAPI 3.1 document, or --check it against a committed copy.\n"
    "  dev token    Mint an HS256 bearer token (secret from --secrets-file, --secret or env).\n"
    "  dev secrets  Write a 0600 env file with generated secrets for a local operator set-up.\n"
    "  token        Issue tokens for real deployments (HS256 secret or RS256/ES256 key file),\n"
    "               print a key's JWKS, revoke a token on a running gateway.\n"
    "  conformance  Run the runtime gates 1-6 (seed 000) against a deployment; pass/fail table.\n"
    "  gate run     Run a promotion gate spec (TOML): evidence logs, PROMOTE/HOLD decision.\n"
    "  gate rerun   Re-run only the failed gates of a gate run, keeping passing evidence.\n"
    "  version      Print the version.\n"
    "\n"
    "Run 'rtgw <command> --help' for the options of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "serve") return rtgw::app::RunServe(args);
    if (command == "migrate") return rtgw::app::RunMigrate(args);
    if (command == "store") return rtgw::app::RunStore(args);
    if (command == "agent") return rtgw::app::RunAgent(args);
    if (command == "openapi") return rtgw::app::RunOpenApi(args);
    if (command == "dev") return rtgw::app::RunDev(args);
    if (command == "token") return rtgw::app::RunToken(args);
    if (command == "relay") return rtgw::app::RunRelayCommand(args);
    if (command == "conformance") return rtgw::app::RunConformance(args);
    if (command == "gate") return rtgw::app::RunGate(args);
    if (command == "version" || command == "--version") {
      std::printf("rtgw %s\n", rtgw::app::kVersion);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtgw %s: fatal: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "rtgw: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
