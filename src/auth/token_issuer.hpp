#ifndef RTGW_AUTH_TOKEN_ISSUER_HPP_
#define RTGW_AUTH_TOKEN_ISSUER_HPP_

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

// Building the claims set of the bearer tokens rtgw issues (`rtgw token
// issue`, `rtgw dev token`), in one place; the claims are those of
// docs/contracts/jwt.md. Signing is JwsSigner's (RS256/ES256) or SignHs256's.
// All functions are pure (but for NewJti's randomness) and thread-safe.
namespace rtgw::auth {

inline constexpr std::size_t kMaxJtiBytes = 256;

// The longest lifetime rtgw issues a token for (365 days).
inline constexpr std::chrono::seconds kMaxIssuedTokenTtl{365LL * 24 * 3600};

struct TokenClaims {
  std::string tenant_id;  // required
  std::string sub;        // required
  std::string node_id;    // management-node tokens; empty: no "node_id"
  std::string scope;      // space-separated runtime:* scopes (authz.hpp); empty: none
  std::string jti;        // token id, for revocation (<= kMaxJtiBytes); empty: none
  std::string issuer;     // "iss"; empty: none
  std::string audience;   // "aud" (one string); empty: none
  std::chrono::seconds ttl{3600};
};

// kInvalidArgument naming the problem when tenant_id or sub is empty, ttl is
// outside [1 s, kMaxIssuedTokenTtl], jti is longer than kMaxJtiBytes or has a
// control character, or scope
// is not a list of Scope names (auth/authz.hpp) separated by single spaces,
// each at most once.
Status CheckTokenClaims(const TokenClaims& claims);

// The JSON claims set {"tenant_id","sub","iat","exp"[,"node_id"][,"scope"]
// [,"jti"][,"iss"][,"aud"]}, iat = `now` in whole seconds, exp = iat + ttl.
// Does not check (see CheckTokenClaims).
std::string TokenClaimsJson(const TokenClaims& claims, std::chrono::system_clock::time_point now);

// A fresh token id: 128 random bits, base64url (22 characters).
std::string NewJti();

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_TOKEN_ISSUER_HPP_
