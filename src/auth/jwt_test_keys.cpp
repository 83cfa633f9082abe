#include "auth/jwt_test_keys.hpp"

#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/crypto.hpp"

namespace rtgw::auth::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL test helper failed: ") + what);
}

std::string BnBytes(const EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, name);
  const int size = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  const int written = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  BN_free(bn);
  Check(written == size, "BN_bn2binpad");
  return out;
}

}  // namespace

struct TestKeyPair::Impl {
  EVP_PKEY* pkey = nullptr;
  bool rsa = false;
  ~Impl() { EVP_PKEY_free(pkey); }
};

TestKeyPair::TestKeyPair(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestKeyPair::TestKeyPair(TestKeyPair&&) noexcept = default;
TestKeyPair& TestKeyPair::operator=(TestKeyPair&&) noexcept = default;
TestKeyPair::~TestKeyPair() = default;

TestKeyPair TestKeyPair::GenerateRsa(int bits) {
  auto impl = std::make_unique<Impl>();
  impl->pkey = EVP_RSA_gen(static_cast<unsigned int>(bits));
  impl->rsa = true;
  Check(impl->pkey != nullptr, "EVP_RSA_gen");
  return TestKeyPair(std::move(impl));
}

TestKeyPair TestKeyPair::GenerateP256() {
  auto impl = std::make_unique<Impl>();
  impl->pkey = EVP_EC_gen("P-256");
  Check(impl->pkey != nullptr, "EVP_EC_gen");
  return TestKeyPair(std::move(impl));
}

std::string TestKeyPair::PublicJwk(std::string_view kid, std::string_view alg) const {
  std::string jwk;
  if (impl_->rsa) {
    jwk = R"({"kty":"RSA","n":")" + crypto::Base64UrlEncode(BnBytes(impl_->pkey, OSSL_PKEY_PARAM_RSA_N)) +
          R"(","e":")" + crypto::Base64UrlEncode(BnBytes(impl_->pkey, OSSL_PKEY_PARAM_RSA_E)) + "\"";
  } else {
    jwk = R"({"kty":"EC","crv":"P-256","x":")" +
          crypto::Base64UrlEncode(BnBytes(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)) +
          R"(","y":")" +
          crypto::Base64UrlEncode(BnBytes(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"";
  }
  if (!kid.empty()) jwk += R"(,"kid":")" + std::string(kid) + "\"";
  if (!alg.empty()) jwk += R"(,"alg":")" + std::string(alg) + "\"";
  return jwk + "}";
}

std::string TestKeyPair::PublicKeyBytes() const {
  if (impl_->rsa) return BnBytes(impl_->pkey, OSSL_PKEY_PARAM_RSA_N);
  return std::string("\x04") + BnBytes(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32) +
         BnBytes(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
}

std::string TestKeyPair::Sign(std::string_view signing_input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Check(ctx != nullptr, "EVP_MD_CTX_new");
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  bool ok = EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, impl_->pkey,
                                  nullptr) == 1 &&
            EVP_DigestSign(ctx, nullptr, &size, data, signing_input.size()) == 1;
  std::vector<unsigned char> signature(size);
  ok = ok && EVP_DigestSign(ctx, signature.data(), &size, data, signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  Check(ok, "EVP_DigestSign");
  signature.resize(size);
  if (impl_->rsa) return std::string(signature.begin(), signature.end());

  // DER ECDSA-Sig-Value -> R||S (RFC 7518 section 3.4).
  const unsigned char* p = signature.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
       BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  Check(ok, "BN_bn2binpad");
  return raw;
}

std::string Jwks(std::initializer_list<std::string_view> jwks) {
  std::string out = R"({"keys":[)";
  bool first = true;
  for (std::string_view jwk : jwks) {
    if (!first) out += ",";
    out += jwk;
    first = false;
  }
  return out + "]}";
}

std::string SigningInput(std::string_view header_json, std::string_view payload_json) {
  return crypto::Base64UrlEncode(header_json) + "." + crypto::Base64UrlEncode(payload_json);
}

std::string SignToken(std::string_view header_json, std::string_view payload_json,
                      const TestKeyPair& key) {
  const std::string input = SigningInput(header_json, payload_json);
  return input + "." + crypto::Base64UrlEncode(key.Sign(input));
}

std::string SignTokenHs256(std::string_view header_json, std::string_view payload_json,
                           std::string_view secret) {
  const std::string input = SigningInput(header_json, payload_json);
  return input + "." + crypto::Base64UrlEncode(crypto::HmacSha256(secret, input));
}

}  // namespace rtgw::auth::testing
