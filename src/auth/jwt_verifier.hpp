#ifndef RTGW_AUTH_JWT_VERIFIER_HPP_
#define RTGW_AUTH_JWT_VERIFIER_HPP_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::auth {

// Claims the gateway uses. `tenant_id` and `sub` are required non-empty strings.
struct Claims {
  std::string tenant_id;
  std::string sub;
  std::optional<std::string> node_id;  // management-node tokens
  std::optional<std::string> scope;    // space-separated scopes (auth/authz.hpp)
  std::optional<std::string> jti;      // token id, for revocation (1..256 bytes)
  std::optional<std::int64_t> exp;     // seconds since epoch
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
};

struct JwtVerifierOptions {
  // HS256 shared secret (raw bytes as configured). Empty: HS256 disabled.
  std::string hs256_secret;
  // JWKS document (RFC 7517) with RSA ("RS256") and EC P-256 ("ES256") public
  // keys. Keys are selected by "kid"; a key's "alg" (or, when absent, its kty/crv)
  // binds the only algorithm it verifies. Empty: asymmetric keys disabled.
  std::string jwks_json;
  std::string issuer;               // checked (exact match of "iss") when non-empty
  std::string audience;             // checked ("aud" string or array contains it) when non-empty
  std::chrono::seconds leeway{60};  // clock skew allowed on exp/nbf/iat
  std::size_t max_token_bytes = 8192;
  // The longest lifetime accepted: a token whose `exp` is more than this
  // (plus leeway) after now is refused ("token lifetime too long"), so a
  // revocation kept this long outlives every token it could name. Zero: no cap.
  std::chrono::seconds max_lifetime{0};
};

// Verifies compact JWS JWTs per RFC 7519 / RFC 8725: algorithm from an
// allow-list bound to the key (HS256 only with the secret, RS256/ES256 only
// with a JWKS key of that type), "none" and every other alg rejected, exp/nbf
// with leeway, iss/aud when configured, tenant_id and sub required.
//
// Thread-safety: safe for concurrent use (keys are immutable after Create;
// the cache of verified tokens is guarded by a mutex).
class JwtVerifier {
 public:
  // Fails (kInvalidArgument, clear message) on a malformed JWKS, a key of an
  // unsupported type, or when neither a secret nor keys are given.
  static Result<std::unique_ptr<JwtVerifier>> Create(JwtVerifierOptions options);
  ~JwtVerifier();

  // kUnauthenticated with a short reason ("token expired", "bad signature",
  // "unsupported alg", "missing claim tenant_id", ...) on any failure.
  // `now` is a parameter so tests control the clock.
  //
  // A token verified once is remembered (up to 1,024, by SHA-256 of its bytes);
  // later calls with the same bytes check only exp/nbf/iat again.
  Result<Claims> Verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  // Tokens remembered as verified (for tests).
  std::size_t CachedTokens() const;

 private:
  class Impl;
  explicit JwtVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Signs `payload_json` (a JSON object text) as a compact HS256 JWS with header
// {"alg":"HS256","typ":"JWT"}. For dev tokens and tests.
std::string SignHs256(std::string_view payload_json, std::string_view secret);

// Mints a dev token: {"tenant_id","sub","iat","exp"[,"node_id"][,"iss"][,"aud"]}.
std::string MintDevToken(std::string_view secret, std::string_view tenant_id, std::string_view sub,
                         std::chrono::seconds ttl, std::chrono::system_clock::time_point now,
                         std::string_view node_id = {}, std::string_view issuer = {},
                         std::string_view audience = {});

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_JWT_VERIFIER_HPP_
