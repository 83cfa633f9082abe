#include "auth/jwt_verifier.hpp"

#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/crypto.h>

#include "auth/json_segment.hpp"
#include "auth/jws.hpp"
#include "auth/token_issuer.hpp"
#include "common/text.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::auth {
namespace {

// Limits on the configuration itself.
constexpr std::chrono::seconds kMaxLeeway{86400};
constexpr std::size_t kMaxTokenBytesLimit = 1 << 20;

// base64url of {"alg":"HS256","typ":"JWT"}.
constexpr std::string_view kHs256HeaderB64url = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

std::string_view View(const boost::json::string& s) { return {s.data(), s.size()}; }

boost::json::string_view JsonView(std::string_view s) { return {s.data(), s.size()}; }

enum class Rounding { kDown, kUp };

// RFC 7519 section 2 NumericDate: seconds since the epoch, possibly
// fractional. Fractions round towards the stricter side (exp/iat down, nbf
// up). Values beyond +-2^53 s are nonsense and refused, which also keeps all
// later arithmetic far from overflow.
std::optional<std::int64_t> ToNumericDate(const boost::json::value& value, Rounding rounding) {
  constexpr std::int64_t kLimit = std::int64_t{1} << 53;
  std::int64_t seconds = 0;
  if (const auto* i = value.if_int64()) {
    seconds = *i;
  } else if (const auto* u = value.if_uint64()) {
    if (*u > static_cast<std::uint64_t>(kLimit)) return std::nullopt;
    seconds = static_cast<std::int64_t>(*u);
  } else if (const auto* d = value.if_double()) {
    if (!std::isfinite(*d) || std::fabs(*d) > static_cast<double>(kLimit)) return std::nullopt;
    seconds =
        static_cast<std::int64_t>(rounding == Rounding::kDown ? std::floor(*d) : std::ceil(*d));
  } else {
    return std::nullopt;  // strings, booleans, null: not a NumericDate
  }
  if (seconds > kLimit || seconds < -kLimit) return std::nullopt;
  return seconds;
}

// Reads the optional NumericDate claim `name`; an error when present but not
// numeric. The messages are literals so a bad token costs no formatting.
Status ReadNumericDate(const boost::json::object& claims, std::string_view name, Rounding rounding,
                       std::string_view invalid_message, std::optional<std::int64_t>* out) {
  const boost::json::value* value = claims.if_contains(JsonView(name));
  if (value == nullptr) return Ok{};
  *out = ToNumericDate(*value, rounding);
  if (!*out) return Unauthenticated(std::string(invalid_message));
  return Ok{};
}

// A required non-empty string claim.
Status ReadRequiredString(const boost::json::object& claims, std::string_view name,
                          std::string_view missing_message, std::string_view invalid_message,
                          std::string* out) {
  const boost::json::value* value = claims.if_contains(JsonView(name));
  if (value == nullptr) return Unauthenticated(std::string(missing_message));
  const boost::json::string* s = value->if_string();
  if (s == nullptr || s->empty() || HasControlChars(View(*s))) {
    return Unauthenticated(std::string(invalid_message));
  }
  out->assign(s->data(), s->size());
  return Ok{};
}

bool AudienceContains(const boost::json::value& aud, std::string_view audience) {
  if (const auto* s = aud.if_string()) return View(*s) == audience;
  const auto* array = aud.if_array();
  if (array == nullptr || array->empty()) return false;
  bool found = false;
  for (const auto& entry : *array) {
    const auto* s = entry.if_string();
    if (s == nullptr) return false;  // RFC 7519 section 4.1.3: array of strings
    found = found || View(*s) == audience;
  }
  return found;
}

}  // namespace

class JwtVerifier::Impl {
 public:
  Impl(const JwtVerifierOptions& options, std::optional<JwsKey> hs256_key,
       std::vector<JwsKey> jwks_keys)
      : hs256_key_(std::move(hs256_key)),
        jwks_keys_(std::move(jwks_keys)),
        issuer_(options.issuer),
        audience_(options.audience),
        leeway_seconds_(options.leeway.count()),
        max_token_bytes_(options.max_token_bytes),
        max_lifetime_seconds_(options.max_lifetime.count()) {}

  Result<Claims> Verify(std::string_view token, std::chrono::system_clock::time_point now) const {
    if (token.size() > max_token_bytes_) return Unauthenticated("token too large");
    // A client sends the same token on every request until it expires. The
    // signature, alg, key, iss/aud and claim checks depend only on the token's
    // bytes and this verifier's immutable keys, so a token verified once is
    // remembered (by SHA-256 of its bytes, so lookups compare digests, not
    // secrets) and only its times are checked again.
    const std::string digest = crypto::Sha256(token);
    if (std::optional<Claims> hit = Cached(digest)) {
      if (auto status = CheckTimes(*hit, now); !status.ok()) return std::move(status).error();
      return std::move(*hit);
    }
    Result<Claims> claims = VerifyUncached(token, now);
    if (claims.ok()) Remember(digest, *claims);
    return claims;
  }

  std::size_t cached_tokens() const {
    std::lock_guard lock(cache_mu_);
    return cache_.size();
  }

 private:
  // Tokens remembered at most; when full the cache starts over (a simple bound:
  // a tenant's clients use a handful of tokens at a time).
  static constexpr std::size_t kMaxCachedTokens = 1024;
  static constexpr std::size_t kMaxJtiBytes = 256;

  std::optional<Claims> Cached(const std::string& digest) const {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(digest);
    if (it == cache_.end()) return std::nullopt;
    return it->second;
  }

  void Remember(const std::string& digest, const Claims& claims) const {
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_.emplace(digest, claims);
  }

  Result<Claims> VerifyUncached(std::string_view token,
                                std::chrono::system_clock::time_point now) const {
    auto jws = SplitCompactJws(token);
    if (!jws.ok()) return std::move(jws).error();
    auto header = DecodeJwsHeader(jws->header_b64url);
    if (!header.ok()) return std::move(header).error();
    auto key = SelectKey(*header);
    if (!key.ok()) return std::move(key).error();
    if (auto verified = VerifyCompactSignature(*jws, **key); !verified.ok()) {
      return std::move(verified).error();
    }
    // Only now, with the signature checked, is the claims set worth parsing.
    JsonSegment payload;
    const boost::json::object* claims = payload.DecodeObject(jws->payload_b64url);
    if (claims == nullptr) return Unauthenticated("malformed payload");
    return CheckClaims(*claims, now);
  }

  // The algorithm-to-key binding (RFC 8725 section 3.1): HS256 only with the
  // configured secret; RS256/ES256 only with a JWKS key bound to that alg.
  Result<const JwsKey*> SelectKey(const JwsHeader& header) const {
    if (header.algorithm == JwsAlgorithm::kHs256) {
      if (!hs256_key_) return Unauthenticated("unsupported alg");
      return &*hs256_key_;
    }
    if (!header.kid.empty()) {
      for (const JwsKey& key : jwks_keys_) {
        if (key.kid() != header.kid) continue;
        if (key.algorithm() != header.algorithm) return Unauthenticated("alg not allowed for key");
        return &key;
      }
      return Unauthenticated("unknown kid");
    }
    const JwsKey* match = nullptr;
    for (const JwsKey& key : jwks_keys_) {
      if (key.algorithm() != header.algorithm) continue;
      if (match != nullptr) return Unauthenticated("missing kid");  // ambiguous
      match = &key;
    }
    if (match == nullptr) return Unauthenticated("unsupported alg");
    return match;
  }

  Result<Claims> CheckClaims(const boost::json::object& claims,
                             std::chrono::system_clock::time_point now) const {
    Claims out;
    if (!claims.contains("exp")) return Unauthenticated("missing claim exp");
    for (auto status :
         {ReadNumericDate(claims, "exp", Rounding::kDown, "invalid claim exp", &out.exp),
          ReadNumericDate(claims, "nbf", Rounding::kUp, "invalid claim nbf", &out.nbf),
          ReadNumericDate(claims, "iat", Rounding::kDown, "invalid claim iat", &out.iat)}) {
      if (!status.ok()) return std::move(status).error();
    }
    if (auto status = CheckTimes(out, now); !status.ok()) return std::move(status).error();
    if (auto status = CheckIssuerAndAudience(claims); !status.ok()) {
      return std::move(status).error();
    }
    for (auto status :
         {ReadRequiredString(claims, "tenant_id", "missing claim tenant_id",
                             "invalid claim tenant_id", &out.tenant_id),
          ReadRequiredString(claims, "sub", "missing claim sub", "invalid claim sub", &out.sub)}) {
      if (!status.ok()) return std::move(status).error();
    }
    if (const boost::json::value* node_id = claims.if_contains("node_id")) {
      const boost::json::string* s = node_id->if_string();
      if (s == nullptr || s->empty() || HasControlChars(View(*s))) {
        return Unauthenticated("invalid claim node_id");
      }
      out.node_id.emplace(s->data(), s->size());
    }
    if (const boost::json::value* scope = claims.if_contains("scope")) {
      const boost::json::string* s = scope->if_string();
      if (s == nullptr || HasControlChars(View(*s))) return Unauthenticated("invalid claim scope");
      out.scope.emplace(s->data(), s->size());
    }
    if (const boost::json::value* jti = claims.if_contains("jti")) {
      const boost::json::string* s = jti->if_string();
      if (s == nullptr || s->empty() || s->size() > kMaxJtiBytes || HasControlChars(View(*s))) {
        return Unauthenticated("invalid claim jti");
      }
      out.jti.emplace(s->data(), s->size());
    }
    return out;
  }

  // With integer claims and now_s = floor(now): now < exp + leeway is
  // now_s < exp + leeway, and now >= nbf - leeway is now_s >= nbf - leeway, so
  // second truncation never moves a boundary. |claims| <= 2^53 and leeway <=
  // one day keep the sums exact.
  Status CheckTimes(const Claims& claims, std::chrono::system_clock::time_point now) const {
    const std::int64_t now_s =
        std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
    if (now_s >= *claims.exp + leeway_seconds_) return Unauthenticated("token expired");
    if (max_lifetime_seconds_ > 0 &&
        *claims.exp > now_s + max_lifetime_seconds_ + leeway_seconds_) {
      return Unauthenticated("token lifetime too long");
    }
    if (claims.nbf && now_s < *claims.nbf - leeway_seconds_) {
      return Unauthenticated("token not yet valid");
    }
    if (claims.iat && *claims.iat > now_s + leeway_seconds_) {
      return Unauthenticated("token issued in the future");
    }
    return Ok{};
  }

  Status CheckIssuerAndAudience(const boost::json::object& claims) const {
    if (!issuer_.empty()) {
      const boost::json::value* iss = claims.if_contains("iss");
      if (iss == nullptr) return Unauthenticated("missing claim iss");
      if (!iss->is_string() || View(iss->get_string()) != issuer_) {
        return Unauthenticated("bad issuer");
      }
    }
    if (!audience_.empty()) {
      const boost::json::value* aud = claims.if_contains("aud");
      if (aud == nullptr) return Unauthenticated("missing claim aud");
      if (!AudienceContains(*aud, audience_)) return Unauthenticated("bad audience");
    }
    return Ok{};
  }

  std::optional<JwsKey> hs256_key_;
  std::vector<JwsKey> jwks_keys_;
  std::string issuer_;
  std::string audience_;
  std::int64_t leeway_seconds_;
  std::size_t max_token_bytes_;
  std::int64_t max_lifetime_seconds_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, Claims> cache_;  // GUARDED_BY(cache_mu_)
};

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(JwtVerifierOptions options) {
  if (options.leeway < std::chrono::seconds{0} || options.leeway > kMaxLeeway) {
    return InvalidArgument("JWT leeway must be between 0 and 86400 seconds");
  }
  if (options.max_lifetime < std::chrono::seconds{0}) {
    return InvalidArgument("JWT max lifetime must not be negative");
  }
  if (options.max_token_bytes == 0 || options.max_token_bytes > kMaxTokenBytesLimit) {
    return InvalidArgument("JWT max_token_bytes must be between 1 and 1048576");
  }
  if (options.hs256_secret.empty() && options.jwks_json.empty()) {
    return InvalidArgument("no JWT verification key: set an HS256 secret and/or a JWKS");
  }
  std::optional<JwsKey> hs256_key;
  if (!options.hs256_secret.empty()) {
    auto key = JwsKey::FromHs256Secret(options.hs256_secret);
    // The key now lives only inside the HMAC context.
    OPENSSL_cleanse(options.hs256_secret.data(), options.hs256_secret.size());
    if (!key.ok()) return std::move(key).error();
    hs256_key.emplace(std::move(*key));
  }
  std::vector<JwsKey> jwks_keys;
  if (!options.jwks_json.empty()) {
    auto keys = ParseJwks(options.jwks_json);
    if (!keys.ok()) return std::move(keys).error();
    jwks_keys = std::move(*keys);
  }
  auto impl = std::make_unique<Impl>(options, std::move(hs256_key), std::move(jwks_keys));
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(impl)));
}

JwtVerifier::JwtVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JwtVerifier::~JwtVerifier() = default;

Result<Claims> JwtVerifier::Verify(std::string_view token,
                                   std::chrono::system_clock::time_point now) const {
  return impl_->Verify(token, now);
}

std::size_t JwtVerifier::CachedTokens() const { return impl_->cached_tokens(); }

std::string SignHs256(std::string_view payload_json, std::string_view secret) {
  std::string token;
  token.reserve(kHs256HeaderB64url.size() + 2 + payload_json.size() * 4 / 3 + 4 + 43);
  token.append(kHs256HeaderB64url);
  token.push_back('.');
  token.append(crypto::Base64UrlEncode(payload_json));
  const std::string mac = crypto::HmacSha256(secret, token);
  token.push_back('.');
  token.append(crypto::Base64UrlEncode(mac));
  return token;
}

std::string MintDevToken(std::string_view secret, std::string_view tenant_id, std::string_view sub,
                         std::chrono::seconds ttl, std::chrono::system_clock::time_point now,
                         std::string_view node_id, std::string_view issuer,
                         std::string_view audience) {
  const TokenClaims claims{.tenant_id = std::string(tenant_id),
                           .sub = std::string(sub),
                           .node_id = std::string(node_id),
                           .issuer = std::string(issuer),
                           .audience = std::string(audience),
                           .ttl = ttl};
  return SignHs256(TokenClaimsJson(claims, now), secret);
}

}  // namespace rtgw::auth
