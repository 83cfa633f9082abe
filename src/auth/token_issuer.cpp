#include "auth/token_issuer.hpp"

#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/authz.hpp"
#include "common/random.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::auth {
namespace {

boost::json::string_view JsonView(std::string_view s) { return {s.data(), s.size()}; }

Status CheckScope(std::string_view scope) {
  ScopeSet seen;
  while (true) {
    const std::size_t end = scope.find(' ');
    const std::string_view name = scope.substr(0, end);
    if (name.empty()) return InvalidArgument("scope names are separated by single spaces");
    const std::optional<Scope> known = FindScope(name);
    if (!known) {
      ScopeSet all;
      for (unsigned bit = 1; bit <= static_cast<unsigned>(Scope::kAdmin); bit <<= 1) {
        all = all.With(static_cast<Scope>(bit));
      }
      return InvalidArgument("unknown scope \"" + std::string(name) +
                             "\" (known: " + all.ToString() + ")");
    }
    if (seen.Has(*known)) return InvalidArgument("scope \"" + std::string(name) + "\" given twice");
    seen = seen.With(*known);
    if (end == std::string_view::npos) return Ok{};
    scope.remove_prefix(end + 1);
  }
}

}  // namespace

Status CheckTokenClaims(const TokenClaims& claims) {
  if (claims.tenant_id.empty()) return InvalidArgument("tenant_id is required");
  if (claims.sub.empty()) return InvalidArgument("sub is required");
  if (claims.ttl < std::chrono::seconds{1} || claims.ttl > kMaxIssuedTokenTtl) {
    return InvalidArgument("the lifetime must be 1s-365d");
  }
  if (claims.jti.size() > kMaxJtiBytes) return InvalidArgument("jti is longer than 256 bytes");
  for (const char c : claims.jti) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgument("jti has a control character");
    }
  }
  if (!claims.scope.empty()) return CheckScope(claims.scope);
  return Ok{};
}

std::string TokenClaimsJson(const TokenClaims& claims, std::chrono::system_clock::time_point now) {
  const std::int64_t iat = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  boost::json::object json;
  json["tenant_id"] = JsonView(claims.tenant_id);
  json["sub"] = JsonView(claims.sub);
  json["iat"] = iat;
  json["exp"] = iat + static_cast<std::int64_t>(claims.ttl.count());
  const std::pair<const char*, const std::string*> optional[] = {
      {"node_id", &claims.node_id}, {"scope", &claims.scope},  {"jti", &claims.jti},
      {"iss", &claims.issuer},      {"aud", &claims.audience},
  };
  for (const auto& [name, value] : optional) {
    if (!value->empty()) json[name] = JsonView(*value);
  }
  return boost::json::serialize(json);
}

std::string NewJti() {
  char bytes[16];
  FillRandom(bytes, sizeof bytes);
  return crypto::Base64UrlEncode(std::string_view(bytes, sizeof bytes));
}

}  // namespace rtgw::auth
