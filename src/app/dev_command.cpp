#include <chrono>
#include <cstdio>

#include "app/commands.hpp"
#include "auth/jwt_verifier.hpp"
#include "config/options.hpp"

namespace rtgw::app {

int RunDev(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"secret", "RTGW_JWT_HS256_SECRET", "", "HS256 secret the gateway verifies with.", false,
       true},
      {"tenant", "", "", "tenant_id claim (required)."},
      {"sub", "", "dev-user", "sub claim (the user or service)."},
      {"node", "", "", "node_id claim, for management-node tokens."},
      {"ttl", "", "3600", "Lifetime in seconds (1-31536000)."},
      {"issuer", "RTGW_JWT_ISSUER", "", "iss claim, when the gateway checks one."},
      {"audience", "RTGW_JWT_AUDIENCE", "", "aud claim, when the gateway checks one."},
  };
  const char* usage = "rtgw dev token --tenant T [--sub S] [--node N] [--ttl SECONDS]";
  if (args.empty() || args[0] != "token") {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::fputs(config::FormatHelp(usage,
                                    "Mints an HS256 bearer token and prints it on stdout. The "
                                    "secret comes from --secret or RTGW_JWT_HS256_SECRET.",
                                    kSpecs)
                     .c_str(),
                 stdout);
      return 0;
    }
  }
  auto v = config::ParseOptions(rest, kSpecs, config::ProcessEnv);
  if (!v) {
    std::fprintf(stderr, "rtgw dev token: %s\n", v.error().message.c_str());
    return 2;
  }
  const std::string secret = v->GetOr("secret", "");
  const std::string tenant = v->GetOr("tenant", "");
  if (secret.empty() || tenant.empty()) {
    std::fprintf(stderr,
                 "rtgw dev token: --tenant and a secret (--secret or "
                 "RTGW_JWT_HS256_SECRET) are required\n");
    return 2;
  }
  long long ttl = 0;
  try {
    ttl = std::stoll(v->GetOr("ttl", "3600"));
  } catch (...) {
    ttl = 0;
  }
  if (ttl < 1 || ttl > 31'536'000) {
    std::fprintf(stderr, "rtgw dev token: --ttl must be 1-31536000 seconds\n");
    return 2;
  }
  std::printf("%s\n", auth::MintDevToken(secret, tenant, v->GetOr("sub", "dev-user"),
                                         std::chrono::seconds(ttl),
                                         std::chrono::system_clock::now(), v->GetOr("node", ""),
                                         v->GetOr("issuer", ""), v->GetOr("audience", ""))
                          .c_str());
  return 0;
}

}  // namespace rtgw::app
