#ifndef RTGW_AUTH_RS256_SIGNER_HPP_
#define RTGW_AUTH_RS256_SIGNER_HPP_

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

struct evp_pkey_st;

namespace rtgw::auth {

// An RSA private key that signs RS256 JWTs: what the `local` validator
// launcher uses to mint ID tokens for the jobs it starts (the stand-in for
// Google's metadata server). The key is generated in memory at start-up and
// never written anywhere; its public half is published as a JWKS that the
// worker role trusts for runs of that launcher.
//
// Thread-safety: immutable after Generate; Sign is safe for concurrent use.
class Rs256Signer {
 public:
  // A fresh RSA key of `bits` (>= 2048) with key id `kid`.
  static Result<std::unique_ptr<Rs256Signer>> Generate(std::string kid, int bits = 2048);
  // An RSA private key from a PEM file (PKCS#8 or PKCS#1, as `openssl genrsa`
  // writes it), so that several processes can share one key.
  static Result<std::unique_ptr<Rs256Signer>> FromPemFile(const std::string& path, std::string kid);
  ~Rs256Signer();

  // Compact JWS: header {"alg":"RS256","kid":<kid>,"typ":"JWT"}, the given
  // payload (a JSON object text), RSASSA-PKCS1-v1_5 SHA-256 signature.
  Result<std::string> Sign(std::string_view payload_json) const;
  // {"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}]}.
  const std::string& PublicJwks() const;
  const std::string& kid() const;

 private:
  struct Impl;
  // Takes ownership of `key` (an EVP_PKEY*).
  static Result<std::unique_ptr<Rs256Signer>> FromKey(::evp_pkey_st* key, std::string kid);
  explicit Rs256Signer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_RS256_SIGNER_HPP_
