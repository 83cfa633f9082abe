#include "validators/callback_token.hpp"

#include <vector>

#include <boost/json.hpp>

#include "auth/jws.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::validators {
namespace json = boost::json;

struct CallbackTokenVerifier::Entry {
  std::shared_ptr<const std::vector<auth::JwsKey>> keys;  // fixed keys (no jwks_source)
  TrustedCaller caller;
};

namespace {
constexpr std::int64_t kLeewaySeconds = 30;
}

Status CallbackTokenVerifier::Trust(const std::string& launcher, TrustedCaller caller) {
  auto entry = std::make_shared<Entry>();
  if (caller.jwks_source == nullptr) {
    auto keys = auth::ParseJwks(caller.jwks_json);
    if (!keys) return keys.error();
    entry->keys = std::make_shared<const std::vector<auth::JwsKey>>(std::move(keys).value());
  }
  entry->caller = std::move(caller);
  std::lock_guard lock(mu_);
  entries_[launcher] = std::move(entry);
  return Ok{};
}

Status CallbackTokenVerifier::Verify(const std::string& launcher, std::string_view token,
                                     const std::string& audience,
                                     std::chrono::system_clock::time_point now) const {
  std::shared_ptr<const Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(launcher);
    if (it != entries_.end()) entry = it->second;
  }
  if (!entry) return Unauthenticated("no trusted keys for this launcher");
  if (token.size() > 16384) return Unauthenticated("token too large");
  auto jws = auth::SplitCompactJws(token);
  if (!jws) return jws.error();
  auto header = auth::DecodeJwsHeader(jws->header_b64url);
  if (!header) return header.error();
  if (header->algorithm != auth::JwsAlgorithm::kRs256) return Unauthenticated("alg must be RS256");
  std::shared_ptr<const std::vector<auth::JwsKey>> keys =
      entry->caller.jwks_source ? entry->caller.jwks_source->Keys(header->kid) : entry->keys;
  if (keys == nullptr) return Unauthenticated("no trusted keys for this launcher");
  const auth::JwsKey* key = nullptr;
  for (const auth::JwsKey& k : *keys) {
    if (k.algorithm() == auth::JwsAlgorithm::kRs256 &&
        (header->kid.empty() || k.kid() == header->kid)) {
      key = &k;
      break;
    }
  }
  if (key == nullptr) return Unauthenticated("unknown key id");
  auto payload = auth::VerifyJwsSignature(token, *key);
  if (!payload) return payload.error();
  boost::system::error_code ec;
  json::value v = json::parse(*payload, ec);
  if (ec || !v.is_object()) return Unauthenticated("malformed claims");
  const json::object& c = v.as_object();
  auto str = [&c](std::string_view k) -> std::string {
    const json::value* x = c.if_contains(k);
    return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto num = [&c](std::string_view k) -> std::optional<std::int64_t> {
    const json::value* x = c.if_contains(k);
    if (x == nullptr) return std::nullopt;
    if (x->is_int64()) return x->as_int64();
    if (x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    if (x->is_double()) return static_cast<std::int64_t>(x->as_double());
    return std::nullopt;
  };
  if (!crypto::ConstantTimeEquals(str("iss"), entry->caller.issuer)) {
    return Unauthenticated("wrong issuer");
  }
  bool aud_ok = false;
  if (const json::value* aud = c.if_contains("aud")) {
    if (aud->is_string()) aud_ok = aud->as_string() == audience;
    if (aud->is_array()) {
      for (const json::value& a : aud->as_array()) {
        aud_ok = aud_ok || (a.is_string() && a.as_string() == audience);
      }
    }
  }
  if (!aud_ok) return Unauthenticated("wrong audience");
  if (str("email") != entry->caller.service_account) {
    return Unauthenticated("wrong service account");
  }
  if (const json::value* ev = c.if_contains("email_verified");
      ev && ev->is_bool() && !ev->as_bool()) {
    return Unauthenticated("email not verified");
  }
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto exp = num("exp");
  if (!exp) return Unauthenticated("missing claim exp");
  if (*exp + kLeewaySeconds <= now_s) return Unauthenticated("token expired");
  if (const auto iat = num("iat"); iat && *iat - kLeewaySeconds > now_s) {
    return Unauthenticated("token issued in the future");
  }
  return Ok{};
}

}  // namespace rtgw::validators
