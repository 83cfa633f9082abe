#include "auth/rs256_signer.hpp"

#include <cstdio>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto/crypto.hpp"

namespace rtgw::auth {

struct Rs256Signer::Impl {
  EVP_PKEY* key = nullptr;
  std::string kid;
  std::string jwks;
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {

std::string BnBytes(const BIGNUM* bn) {
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

Rs256Signer::Rs256Signer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rs256Signer::~Rs256Signer() = default;

Result<std::unique_ptr<Rs256Signer>> Rs256Signer::Generate(std::string kid, int bits) {
  if (bits < 2048) return InvalidArgument("RSA keys must have at least 2048 bits");
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (key == nullptr) return Internal("RSA key generation failed");
  return FromKey(key, std::move(kid));
}

Result<std::unique_ptr<Rs256Signer>> Rs256Signer::FromPemFile(const std::string& path,
                                                              std::string kid) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return InvalidArgument("cannot read " + path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) return InvalidArgument(path + " is not a PEM private key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 2048) {
    EVP_PKEY_free(key);
    return InvalidArgument(path + " must hold an RSA key of at least 2048 bits");
  }
  return FromKey(key, std::move(kid));
}

Result<std::unique_ptr<Rs256Signer>> Rs256Signer::FromKey(EVP_PKEY* key, std::string kid) {
  auto impl = std::make_unique<Impl>();
  impl->kid = std::move(kid);
  impl->key = key;
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(impl->key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(impl->key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    BN_free(n);
    BN_free(e);
    return Internal("cannot read the RSA public key");
  }
  impl->jwks = R"({"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":")" + impl->kid +
               R"(","n":")" + crypto::Base64UrlEncode(BnBytes(n)) + R"(","e":")" +
               crypto::Base64UrlEncode(BnBytes(e)) + R"("}]})";
  BN_free(n);
  BN_free(e);
  return std::unique_ptr<Rs256Signer>(new Rs256Signer(std::move(impl)));
}

Result<std::string> Rs256Signer::Sign(std::string_view payload_json) const {
  const std::string header = R"({"alg":"RS256","kid":")" + impl_->kid + R"(","typ":"JWT"})";
  std::string input = crypto::Base64UrlEncode(header) + "." + crypto::Base64UrlEncode(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Internal("out of memory");
  std::size_t len = 0;
  std::vector<unsigned char> sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                        input.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Internal("RS256 signing failed");
  input += '.';
  input +=
      crypto::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(sig.data()), len));
  return input;
}

const std::string& Rs256Signer::PublicJwks() const { return impl_->jwks; }
const std::string& Rs256Signer::kid() const { return impl_->kid; }

}  // namespace rtgw::auth
