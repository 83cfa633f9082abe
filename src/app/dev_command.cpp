// rtgw dev token / rtgw dev secrets: the local operator set-up of seed 000.
#include <chrono>
#include <cstdio>

#include "app/commands.hpp"
#include "app/token_command.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "config/env_file.hpp"
#include "config/options.hpp"

namespace rtgw::app {
namespace {

int RunDevToken(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = [] {
    std::vector<config::OptionSpec> specs = Hs256SigningSpecs();
    specs.insert(
        specs.end(),
        {
            {"tenant", "", "", "tenant_id claim (required)."},
            {"sub", "", "dev-user", "sub claim (the user or service)."},
            {"node", "", "", "node_id claim, for management-node tokens."},
            {"ttl", "", "3600", "Lifetime: seconds, or with a unit: 90s, 30m, 12h, 7d (max 365d)."},
        });
    return specs;
  }();
  const char* usage =
      "rtgw dev token --tenant T [--sub S] [--node N] [--ttl D] [--secrets-file FILE]";
  if (config::PrintHelpIfAsked(args, usage,
                               "Mints an HS256 bearer token and prints it on stdout. The secret "
                               "comes from --secret, --secrets-file (see 'rtgw dev secrets') or "
                               "RTGW_JWT_HS256_SECRET.",
                               kSpecs)) {
    return 0;
  }
  auto v = config::ParseOptionsOrReport("rtgw dev token", args, kSpecs);
  if (!v) return 2;
  auto signing = ResolveHs256Signing(*v);
  if (!signing) {
    std::fprintf(stderr, "rtgw dev token: %s\n", signing.error().message.c_str());
    return 2;
  }
  const std::string tenant = v->GetOr("tenant", "");
  if (signing->secret.empty() || tenant.empty()) {
    std::fprintf(stderr,
                 "rtgw dev token: --tenant and a secret (--secret, --secrets-file or "
                 "RTGW_JWT_HS256_SECRET) are required\n");
    return 2;
  }
  const auto ttl = config::ParseDurationSeconds(v->GetOr("ttl", "3600"));
  if (!ttl || *ttl < 1 || *ttl > 31'536'000) {
    std::fprintf(stderr, "rtgw dev token: --ttl must be 1s-365d (e.g. 3600, 30m, 12h, 7d)\n");
    return 2;
  }
  std::printf("%s\n",
              auth::MintDevToken(signing->secret, tenant, v->GetOr("sub", "dev-user"),
                                 std::chrono::seconds(*ttl), std::chrono::system_clock::now(),
                                 v->GetOr("node", ""), signing->issuer, signing->audience)
                  .c_str());
  return 0;
}

int RunDevSecrets(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"out", "", "", "Env file to write (required); created with mode 0600."},
      {"force", "", "", "Replace an existing file (atomically, still 0600).", true},
      {"no-proxy-auth", "", "", "Leave out the proxy-auth key and secret.", true},
  };
  const char* usage = "rtgw dev secrets --out FILE [--force] [--no-proxy-auth]";
  if (config::PrintHelpIfAsked(
          args, usage,
          "Writes an env file with freshly generated secrets for a local operator set-up "
          "(seed 000): RTGW_JWT_HS256_SECRET (256 bits) and, unless --no-proxy-auth, "
          "RTGW_PROXY_AUTH_KEY / RTGW_PROXY_AUTH_SECRET. Refuses to overwrite an existing "
          "file without --force. Use it with:\n"
          "  set -a; . FILE; set +a; rtgw serve          # the gateway picks the RTGW_* up\n"
          "  rtgw dev token --secrets-file FILE --tenant t1 --sub alice\n"
          "  scripts/submit-smoke.sh --secrets FILE --base-url http://127.0.0.1:8080",
          kSpecs)) {
    return 0;
  }
  auto v = config::ParseOptionsOrReport("rtgw dev secrets", args, kSpecs, config::NoEnv);
  if (!v) return 2;
  const std::string out = v->GetOr("out", "");
  if (out.empty()) {
    std::fprintf(stderr, "rtgw dev secrets: --out FILE is required\n");
    return 2;
  }
  std::string text = "# rtgw local operator secrets, generated " +
                     FormatRfc3339(std::chrono::system_clock::now()) +
                     " by 'rtgw dev secrets'.\n"
                     "# Private (mode 0600); never commit it. Load with: set -a; . " +
                     out + "; set +a\n";
  text += "RTGW_JWT_HS256_SECRET=" + RandomHex(32) + "\n";
  if (!v->Switch("no-proxy-auth")) {
    text += "RTGW_PROXY_AUTH_KEY=pk-" + RandomHex(8) + "\n";
    text += "RTGW_PROXY_AUTH_SECRET=" + RandomHex(32) + "\n";
  }
  auto s = config::WritePrivateFile(out, text, v->Switch("force"));
  if (!s) {
    std::fprintf(stderr, "rtgw dev secrets: %s\n", s.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s (mode 0600)\n", out.c_str());
  return 0;
}

}  // namespace

int RunDev(const std::vector<std::string>& args) {
  const char* usage =
      "rtgw dev token --tenant T [--sub S] [--node N] [--ttl D] [--secrets-file FILE]\n"
      "       rtgw dev secrets --out FILE [--force]";
  if (!args.empty() && args[0] == "token") {
    return RunDevToken(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "secrets") {
    return RunDevSecrets(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("usage: %s\n", usage);
    return 0;
  }
  std::fprintf(stderr, "usage: %s\n", usage);
  return 2;
}

}  // namespace rtgw::app
