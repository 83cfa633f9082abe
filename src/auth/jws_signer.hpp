#ifndef RTGW_AUTH_JWS_SIGNER_HPP_
#define RTGW_AUTH_JWS_SIGNER_HPP_

#include <memory>
#include <string>
#include <string_view>

#include "auth/jws.hpp"
#include "common/error.hpp"

struct evp_pkey_st;

namespace rtgw::auth {

// A private key that signs JWTs: RS256 with an RSA key (>= 2048 bits), ES256
// with an EC P-256 key; the algorithm follows from the key. Used by the
// `local` validator launcher to mint ID tokens for the jobs it starts (the
// stand-in for Google's metadata server; its key is generated in memory and
// never written anywhere), by the agent for its validator programs, and by
// `rtgw token issue --key-file`. Its public half is published as a JWKS that
// the verifying side trusts.
//
// Thread-safety: immutable after creation; Sign is safe for concurrent use.
class JwsSigner {
 public:
  // A fresh key with key id `kid`: RSA of `rsa_bits` (>= 2048) for kRs256, a
  // P-256 key for kEs256; kHs256 is refused (a secret is not a key pair).
  static Result<std::unique_ptr<JwsSigner>> Generate(std::string kid,
                                                     JwsAlgorithm algorithm = JwsAlgorithm::kRs256,
                                                     int rsa_bits = 2048);
  // A private key from a PEM file (PKCS#8, PKCS#1 or SEC 1, as `openssl
  // genpkey`, `genrsa` and `ecparam -genkey` write them), so that several
  // processes can share one key. kInvalidArgument when the file cannot be read
  // or holds anything but an RSA key of >= 2048 bits or an EC P-256 key.
  static Result<std::unique_ptr<JwsSigner>> FromPemFile(const std::string& path, std::string kid);
  ~JwsSigner();

  // Compact JWS: header {"alg":<algorithm>,"kid":<kid>,"typ":"JWT"} ("kid"
  // left out when empty), the given payload (a JSON object text), and the
  // signature: RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as the raw
  // 64-byte R||S of RFC 7518 section 3.4 (not DER).
  Result<std::string> Sign(std::string_view payload_json) const;
  // {"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}]}
  // or {"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":..,
  // "x":..,"y":..}]} ("kid" left out when empty).
  const std::string& PublicJwks() const;
  const std::string& kid() const;
  JwsAlgorithm algorithm() const;

 private:
  struct Impl;
  // Takes ownership of `key` (an EVP_PKEY*, RSA or EC P-256).
  static Result<std::unique_ptr<JwsSigner>> FromKey(::evp_pkey_st* key, std::string kid);
  explicit JwsSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_JWS_SIGNER_HPP_
