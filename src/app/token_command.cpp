// rtgw token issue / revoke / jwks: bearer tokens for real deployments
// (issue 16; claims in docs/contracts/jwt.md, operations in docs/operations.md).
#include "app/token_command.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/jws_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "auth/token_issuer.hpp"
#include "common/read_file.hpp"
#include "common/time_format.hpp"
#include "config/env_file.hpp"
#include "net/curl_http_client.hpp"

namespace rtgw::app {
namespace {

constexpr const char* kUsage =
    "usage: rtgw token issue --tenant T --sub S [--node N] [--scope \"S1 S2\"] [--ttl D]\n"
    "                        [--jti auto|ID] [--issuer I] [--audience A]\n"
    "                        (--secret S | --secrets-file FILE | --key-file PEM [--kid K])\n"
    "       rtgw token revoke --url URL (--token JWT | --token-file FILE) --jti ID\n"
    "                         [--expires-at RFC3339]\n"
    "       rtgw token jwks --key-file PEM [--kid K]\n";

constexpr const char* kOverview =
    "Bearer tokens for real deployments (see docs/operations.md, 'Issuing tokens').\n"
    "  issue   Sign a token (HS256 with the gateway's secret, or RS256/ES256 with a PEM\n"
    "          private key whose public half the gateway trusts via --jwks-file) and print it.\n"
    "  revoke  Revoke a token by its jti on a running gateway (needs a runtime:admin token).\n"
    "  jwks    Print the public JWKS of a PEM private key, for the gateway's --jwks-file.\n"
    "Run 'rtgw token <command> --help' for the options.\n";

// True when `flag` was given on the command line (not by its env variable).
bool GivenAsFlag(const config::OptionValues& v, const std::string& flag) {
  return v.Get(flag) && v.Source(flag) == "--" + flag;
}

// Prints `message` for `command` and returns the bad-usage exit code.
int Usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "rtgw token %s: %s\n", command, message.c_str());
  return 2;
}

const config::OptionSpec kKeyFileSpec = {
    "key-file", "", "",
    "PEM private key (PKCS#8, PKCS#1 or SEC 1): an RSA key of >= 2048 bits signs RS256, an EC "
    "P-256 key signs ES256. The gateway trusts its public half ('rtgw token jwks') through "
    "--jwks-file."};
const config::OptionSpec kKidSpec = {
    "kid", "", "",
    "Key id: the kid header of the tokens and of the JWKS entry (needed when the gateway's JWKS "
    "holds several keys of one type)."};

// The options of `rtgw token <command>`, or the exit code when there is nothing more to do:
// 0 after --help, 2 after a usage error (reported on stderr).
std::variant<config::OptionValues, int> Options(const char* command,
                                                const std::vector<std::string>& args,
                                                std::string_view usage,
                                                std::string_view description,
                                                const std::vector<config::OptionSpec>& specs,
                                                const config::EnvLookup& env) {
  if (config::PrintHelpIfAsked(args, usage, description, specs)) return 0;
  auto v = config::ParseOptionsOrReport(std::string("rtgw token ") + command, args, specs, env);
  if (!v) return 2;
  return std::move(*v);
}

// The signer of --key-file (with --kid), or the usage error.
Result<std::unique_ptr<auth::JwsSigner>> KeyFileSigner(const config::OptionValues& v) {
  auto signer = auth::JwsSigner::FromPemFile(v.GetOr("key-file", ""), v.GetOr("kid", ""));
  if (!signer) return InvalidArgument("--key-file " + signer.error().message);
  return signer;
}

int RunIssue(const std::vector<std::string>& args, const config::EnvLookup& env) {
  static const std::vector<config::OptionSpec> kSpecs = [] {
    std::vector<config::OptionSpec> specs = {
        {"tenant", "", "", "tenant_id claim (required)."},
        {"sub", "", "", "sub claim: the user or service the token acts as (required)."},
        {"node", "", "",
         "node_id claim: a management-node token, acting only for that node's jobs."},
        {"scope", "", "",
         "scope claim, space-separated: runtime:submit runtime:submit_as runtime:read "
         "runtime:events runtime:cancel runtime:validate runtime:admin. Omitted: no scope claim "
         "(a product token keeps its default rights, see --authz)."},
        {"ttl", "", "1h", "Lifetime: seconds, or with a unit: 90s, 30m, 12h, 7d (max 365d)."},
        {"jti", "", "",
         "jti claim, what 'rtgw token revoke' names: 'auto' for 128 random bits (base64url), or "
         "the value to use. Omitted: no jti (the token cannot be revoked alone)."},
        kKeyFileSpec,
        kKidSpec,
    };
    for (const auto& spec : Hs256SigningSpecs()) specs.push_back(spec);
    return specs;
  }();
  auto options =
      Options("issue", args,
              "rtgw token issue --tenant T --sub S [--node N] [--scope \"S1 S2\"] [--ttl D] "
              "[--jti auto|ID] (--secret S | --secrets-file FILE | --key-file PEM [--kid K])",
              "Signs a bearer token and prints it on stdout. Exactly one key: the gateway's "
              "HS256 secret (--secret, --secrets-file, or RTGW_JWT_HS256_SECRET), or a PEM "
              "private key (--key-file) whose JWKS the gateway is given.",
              kSpecs, env);
  if (const int* exit_code = std::get_if<int>(&options)) return *exit_code;
  const config::OptionValues* v = &std::get<config::OptionValues>(options);

  const std::string key_file = v->GetOr("key-file", "");
  const bool secret_flags = GivenAsFlag(*v, "secret") || GivenAsFlag(*v, "secrets-file");
  if (!key_file.empty() && secret_flags) {
    return Usage("issue", "give one key: --key-file, or --secret/--secrets-file, not both");
  }
  if (key_file.empty() && v->Get("kid")) return Usage("issue", "--kid goes with --key-file");
  auth::TokenClaims claims{.tenant_id = v->GetOr("tenant", ""),
                           .sub = v->GetOr("sub", ""),
                           .node_id = v->GetOr("node", ""),
                           .scope = v->GetOr("scope", ""),
                           .jti = v->GetOr("jti", ""),
                           .issuer = v->GetOr("issuer", ""),
                           .audience = v->GetOr("audience", "")};
  if (claims.tenant_id.empty() || claims.sub.empty()) {
    return Usage("issue", "--tenant and --sub are required");
  }
  if (v->Get("scope") && claims.scope.empty()) return Usage("issue", "--scope is empty");
  if (v->Get("jti") && claims.jti.empty()) return Usage("issue", "--jti is empty");
  if (claims.jti == "auto") claims.jti = auth::NewJti();
  const auto ttl = config::ParseDurationSeconds(v->GetOr("ttl", "1h"));
  if (!ttl) return Usage("issue", "--ttl must be 1s-365d (e.g. 3600, 30m, 12h, 7d)");
  claims.ttl = std::chrono::seconds(*ttl);
  if (auto checked = auth::CheckTokenClaims(claims); !checked) {
    return Usage("issue", checked.error().message);
  }

  const auto now = std::chrono::system_clock::now();
  if (!key_file.empty()) {
    auto signer = KeyFileSigner(*v);
    if (!signer) return Usage("issue", signer.error().message);
    auto token = (*signer)->Sign(auth::TokenClaimsJson(claims, now));
    if (!token) {
      std::fprintf(stderr, "rtgw token issue: %s\n", token.error().message.c_str());
      return 1;
    }
    std::printf("%s\n", token->c_str());
    return 0;
  }
  auto signing = ResolveHs256Signing(*v);
  if (!signing) return Usage("issue", signing.error().message);
  if (signing->secret.empty()) {
    return Usage(
        "issue",
        "a key is required: --secret, --secrets-file, RTGW_JWT_HS256_SECRET or --key-file");
  }
  claims.issuer = signing->issuer;
  claims.audience = signing->audience;
  std::printf("%s\n", auth::SignHs256(auth::TokenClaimsJson(claims, now), signing->secret).c_str());
  return 0;
}

int RunRevoke(const std::vector<std::string>& args, net::HttpClient& client,
              const config::EnvLookup& env) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"url", "", "", "The gateway's base URL, http(s)://HOST:PORT (required)."},
      {"token", "RTGW_TOKEN", "", "Bearer token with the runtime:admin scope, of the same tenant.",
       false, true},
      {"token-file", "", "", "File holding that bearer token (surrounding whitespace ignored)."},
      {"jti", "", "", "The jti claim of the token to revoke (required)."},
      {"expires-at", "", "",
       "RFC 3339 time until which the revocation is kept: the revoked token's exp. Omitted: the "
       "server keeps it for the longest token lifetime it accepts."},
  };
  auto options = Options("revoke", args,
                         "rtgw token revoke --url URL (--token JWT | --token-file FILE) "
                         "--jti ID [--expires-at RFC3339]",
                         "Revokes a token by its jti: POST {url}/api/runtime/tokens:revoke. "
                         "Every replica refuses the token (401 token_revoked) within 5 "
                         "seconds. Prints the server's answer.",
                         kSpecs, env);
  if (const int* exit_code = std::get_if<int>(&options)) return *exit_code;
  const config::OptionValues* v = &std::get<config::OptionValues>(options);
  std::string url = v->GetOr("url", "");
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Usage("revoke", "--url http(s)://HOST:PORT is required");
  }
  std::string token = v->GetOr("token", "");
  if (const auto file = v->GetOr("token-file", ""); !file.empty()) {
    if (GivenAsFlag(*v, "token")) return Usage("revoke", "give --token or --token-file");
    auto text = ReadFileText(file);
    if (!text) return Usage("revoke", "--token-file: cannot read " + file);
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    token = first == std::string::npos ? "" : text->substr(first, last - first + 1);
  }
  if (token.empty())
    return Usage("revoke", "a bearer token is required: --token, --token-file or RTGW_TOKEN");
  const std::string jti = v->GetOr("jti", "");
  if (jti.empty() || jti.size() > auth::kMaxJtiBytes) {
    return Usage("revoke", "--jti (1-256 bytes) is required");
  }
  boost::json::object body;
  body["jti"] = jti;
  if (const auto expires_at = v->Get("expires-at")) {
    if (!ParseRfc3339(*expires_at)) {
      return Usage("revoke", "--expires-at must be an RFC 3339 time, e.g. 2026-12-31T23:59:59Z");
    }
    body["expires_at"] = *expires_at;
  }

  net::HttpRequest request;
  request.method = "POST";
  request.url = url + "/api/runtime/tokens:revoke";
  request.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  request.body = boost::json::serialize(body);
  const net::HttpResponse response = client.Send(request);
  if (response.status == 0) {
    std::fprintf(stderr, "rtgw token revoke: %s: %s\n", request.url.c_str(),
                 response.error.c_str());
    return 1;
  }
  if (response.status >= 200 && response.status < 300) {
    std::printf("%s\n", response.body.c_str());
    return 0;
  }
  // {"error": {"code", "message", ...}} (docs/contracts/http-api.md).
  std::string code = "-";
  std::string message = response.body;
  boost::json::error_code ec;
  const boost::json::value answer = boost::json::parse(response.body, ec);
  if (const auto* error =
          !ec && answer.is_object() ? answer.get_object().if_contains("error") : nullptr;
      error != nullptr && error->is_object()) {
    if (const auto* c = error->get_object().if_contains("code"); c && c->is_string()) {
      code = c->get_string().c_str();
    }
    if (const auto* m = error->get_object().if_contains("message"); m && m->is_string()) {
      message = m->get_string().c_str();
    }
  }
  std::fprintf(stderr, "rtgw token revoke: HTTP %d %s: %s\n", response.status, code.c_str(),
               message.c_str());
  return 1;
}

int RunJwks(const std::vector<std::string>& args, const config::EnvLookup& env) {
  static const std::vector<config::OptionSpec> kSpecs = {kKeyFileSpec, kKidSpec};
  auto options = Options("jwks", args, "rtgw token jwks --key-file PEM [--kid K]",
                         "Prints the JWKS of the key's public half, for the gateway's "
                         "--jwks-file (RTGW_JWKS_FILE).",
                         kSpecs, env);
  if (const int* exit_code = std::get_if<int>(&options)) return *exit_code;
  const config::OptionValues* v = &std::get<config::OptionValues>(options);
  const std::string key_file = v->GetOr("key-file", "");
  if (key_file.empty()) return Usage("jwks", "--key-file is required");
  auto signer = KeyFileSigner(*v);
  if (!signer) return Usage("jwks", signer.error().message);
  std::printf("%s\n", (*signer)->PublicJwks().c_str());
  return 0;
}

}  // namespace

const std::vector<config::OptionSpec>& Hs256SigningSpecs() {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"secrets-file", "RTGW_DEV_SECRETS_FILE", "",
       "Env file written by 'rtgw dev secrets'; its RTGW_JWT_HS256_SECRET (and "
       "RTGW_JWT_ISSUER/RTGW_JWT_AUDIENCE when present) sign the token."},
      {"secret", "RTGW_JWT_HS256_SECRET", "",
       "HS256 secret the gateway verifies with (a --secret flag wins over --secrets-file, which "
       "wins over the environment variable).",
       false, true},
      {"issuer", "RTGW_JWT_ISSUER", "", "iss claim, when the gateway checks one."},
      {"audience", "RTGW_JWT_AUDIENCE", "", "aud claim, when the gateway checks one."},
  };
  return kSpecs;
}

Result<Hs256Signing> ResolveHs256Signing(const config::OptionValues& v) {
  Hs256Signing out{v.GetOr("secret", ""), v.GetOr("issuer", ""), v.GetOr("audience", "")};
  const auto file = v.GetOr("secrets-file", "");
  if (file.empty()) return out;
  auto env = config::ReadEnvFile(file);
  if (!env) return InvalidArgument("--secrets-file: " + env.error().message);
  if (!GivenAsFlag(v, "secret")) {
    const auto it = env->find("RTGW_JWT_HS256_SECRET");
    if (it == env->end() || it->second.empty()) {
      return InvalidArgument(file + " has no RTGW_JWT_HS256_SECRET");
    }
    out.secret = it->second;
  }
  if (!GivenAsFlag(v, "issuer") && env->count("RTGW_JWT_ISSUER")) {
    out.issuer = env->at("RTGW_JWT_ISSUER");
  }
  if (!GivenAsFlag(v, "audience") && env->count("RTGW_JWT_AUDIENCE")) {
    out.audience = env->at("RTGW_JWT_AUDIENCE");
  }
  return out;
}

int RunTokenCommand(const std::vector<std::string>& args, net::HttpClient& client,
                    const config::EnvLookup& env) {
  const std::string sub = args.empty() ? "" : args[0];
  const std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "issue") return RunIssue(rest, env);
  if (sub == "revoke") return RunRevoke(rest, client, env);
  if (sub == "jwks") return RunJwks(rest, env);
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::printf("%s\n%s", kUsage, kOverview);
    return 0;
  }
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}

int RunToken(const std::vector<std::string>& args) {
  net::CurlHttpClient client;
  return RunTokenCommand(args, client, config::ProcessEnv);
}

}  // namespace rtgw::app
