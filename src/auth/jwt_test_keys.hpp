#ifndef RTGW_AUTH_JWT_TEST_KEYS_HPP_
#define RTGW_AUTH_JWT_TEST_KEYS_HPP_

#include <memory>
#include <string>
#include <string_view>

// Test-only helpers for jws_test.cpp and jwt_verifier_test.cpp: fresh RSA and
// EC P-256 key pairs from OpenSSL, their public JWKs, and token signing with
// arbitrary headers (which production code never needs). Not thread-safe.
namespace rtgw::auth::testing {

// A freshly generated private key. Move-only.
class TestKeyPair {
 public:
  static TestKeyPair GenerateRsa(int bits = 2048);
  static TestKeyPair GenerateP256();

  TestKeyPair(TestKeyPair&&) noexcept;
  TestKeyPair& operator=(TestKeyPair&&) noexcept;
  ~TestKeyPair();

  // Public JWK object text. `kid`/`alg` are included when non-empty.
  std::string PublicJwk(std::string_view kid = {}, std::string_view alg = {}) const;
  // RSA: big-endian modulus bytes; EC: SEC 1 uncompressed point. What a naive
  // verifier would feed to HMAC in an alg-confusion attack.
  std::string PublicKeyBytes() const;
  // Raw JWS signature over `signing_input`: RSA PKCS#1 v1.5 SHA-256, or ECDSA
  // P-256 SHA-256 as 64-byte R||S.
  std::string Sign(std::string_view signing_input) const;

 private:
  struct Impl;
  explicit TestKeyPair(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// {"keys":[jwk...]}.
std::string Jwks(std::initializer_list<std::string_view> jwks);

// base64url(header) "." base64url(payload).
std::string SigningInput(std::string_view header_json, std::string_view payload_json);

// Compact JWS signed with `key` / HMAC-SHA256 `secret`, header as given.
std::string SignToken(std::string_view header_json, std::string_view payload_json,
                      const TestKeyPair& key);
std::string SignTokenHs256(std::string_view header_json, std::string_view payload_json,
                           std::string_view secret);

}  // namespace rtgw::auth::testing

#endif  // RTGW_AUTH_JWT_TEST_KEYS_HPP_
