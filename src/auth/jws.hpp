#ifndef RTGW_AUTH_JWS_HPP_
#define RTGW_AUTH_JWS_HPP_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

// The signature layer of JWT verification (RFC 7515 compact JWS, RFC 7518
// algorithms, RFC 7517 keys). It knows nothing about claims: JwtVerifier
// (jwt_verifier.hpp) builds on it. Every failure of a token is
// kUnauthenticated with a short reason; every failure of a key is
// kInvalidArgument.
namespace rtgw::auth {

// The only algorithms rtgw accepts. "none", HS384/512, PS*, ES384/512, EdDSA
// and everything else are rejected by ParseJwsAlgorithm.
enum class JwsAlgorithm { kHs256, kRs256, kEs256 };

// Exact, case-sensitive match of the JOSE "alg" name.
std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name);
std::string_view JwsAlgorithmName(JwsAlgorithm algorithm);

// A verification key bound to exactly one algorithm: an HS256 secret, or an
// RSA (RS256) / EC P-256 (ES256) public key from a JWK.
//
// Thread-safety: immutable after construction; Verify is safe for concurrent
// use. Move-only; owns its OpenSSL objects.
class JwsKey {
 public:
  // RSA moduli outside [kMinRsaBits, kMaxRsaBits] are refused (RFC 7518
  // section 3.3 requires >= 2048; the upper bound caps verify cost).
  static constexpr int kMinRsaBits = 2048;
  static constexpr int kMaxRsaBits = 8192;

  // HS256 with `secret` (raw bytes, non-empty).
  static Result<JwsKey> FromHs256Secret(std::string_view secret);

  // A public key from one JWK object (RFC 7517 section 4, RFC 7518 section 6):
  // kty "RSA" with n/e binds RS256; kty "EC", crv "P-256" with x/y (32 bytes
  // each, point checked on the curve) binds ES256. "alg", when present, must
  // name that algorithm; "use", when present, must be "sig"; "key_ops", when
  // present, must contain "verify". Private members (d, p, ...) are ignored.
  // kty "oct" and other types are refused: HS256 comes only from the secret.
  static Result<JwsKey> FromJwk(std::string_view jwk_json);

  JwsKey(JwsKey&& other) noexcept;
  JwsKey& operator=(JwsKey&& other) noexcept;
  ~JwsKey();

  JwsAlgorithm algorithm() const;
  const std::string& kid() const;  // empty when the JWK has none

  // True iff `signature` (raw bytes: 32-byte MAC, RSA signature of the modulus
  // size, or 64-byte R||S for ES256) is valid for `signing_input` under this
  // key and algorithm().
  bool Verify(std::string_view signing_input, std::string_view signature) const;

 private:
  class Impl;
  friend class JwsKeyFactory;
  explicit JwsKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses a JWKS document {"keys":[JWK...]} (at most kMaxJwksKeys keys, unique
// kids) with JwsKey::FromJwk rules. kInvalidArgument naming the key index on
// any error; an empty key set is an error.
inline constexpr std::size_t kMaxJwksKeys = 64;
Result<std::vector<JwsKey>> ParseJwks(std::string_view jwks_json);

// The three segments of a compact JWS, as views into the token.
struct CompactJws {
  std::string_view header_b64url;
  std::string_view payload_b64url;
  std::string_view signature_b64url;
  std::string_view signing_input;  // header_b64url "." payload_b64url
};

// Splits on exactly two '.' ("malformed token" otherwise, e.g. for a JWE).
Result<CompactJws> SplitCompactJws(std::string_view token);

// The protected header fields rtgw acts on.
struct JwsHeader {
  JwsAlgorithm algorithm = JwsAlgorithm::kHs256;
  std::string kid;  // empty when absent
};

// Decodes and checks the protected header: strict base64url, a JSON object
// ("malformed header"), no "crit" ("crit header not supported"), "alg" a
// string naming a JwsAlgorithm ("unsupported alg"), "kid" a string when
// present. Embedded or remote keys (jwk, jku, x5c, x5u) are never used.
Result<JwsHeader> DecodeJwsHeader(std::string_view header_b64url);

// Checks the signature segment of `jws` (already split) with `key`
// ("bad signature"). Does not look at the header: the caller has checked that
// the header's alg is key.algorithm().
Status VerifyCompactSignature(const CompactJws& jws, const JwsKey& key);

// The whole signature layer for one token and one key: split, decode the
// header, require its alg to be key.algorithm() ("alg not allowed for key"),
// verify the signature, and return the decoded payload bytes. The kid is not
// checked (the caller chose the key) and the payload is not interpreted.
Result<std::string> VerifyJwsSignature(std::string_view token, const JwsKey& key);

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_JWS_HPP_
