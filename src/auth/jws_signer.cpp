#include "auth/jws_signer.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto/crypto.hpp"

namespace rtgw::auth {

struct JwsSigner::Impl {
  EVP_PKEY* key = nullptr;
  JwsAlgorithm algorithm = JwsAlgorithm::kRs256;
  std::string kid;
  std::string header_b64url;  // base64url of the protected header, then "."
  std::string jwks;
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {

constexpr int kP256CoordinateBytes = 32;

// The big-endian bytes of a key parameter; `pad_to` > 0: exactly that many.
std::optional<std::string> BnParam(const EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return std::nullopt;
  const int size = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  const int written = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  BN_free(bn);
  if (written != size) return std::nullopt;
  return out;
}

bool IsP256(const EVP_PKEY* key) {
  char group[32] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    return false;
  }
  return std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0;
}

// The public members of the JWK ("n","e" or "crv","x","y"), or nullopt when
// OpenSSL cannot export them.
std::optional<std::string> PublicJwkMembers(const EVP_PKEY* key, JwsAlgorithm algorithm) {
  if (algorithm == JwsAlgorithm::kRs256) {
    const auto n = BnParam(key, OSSL_PKEY_PARAM_RSA_N);
    const auto e = BnParam(key, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return std::nullopt;
    return R"("kty":"RSA","alg":"RS256","use":"sig","n":")" + crypto::Base64UrlEncode(*n) +
           R"(","e":")" + crypto::Base64UrlEncode(*e) + "\"";
  }
  const auto x = BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordinateBytes);
  const auto y = BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordinateBytes);
  if (!x || !y) return std::nullopt;
  return R"("kty":"EC","crv":"P-256","alg":"ES256","use":"sig","x":")" +
         crypto::Base64UrlEncode(*x) + R"(","y":")" + crypto::Base64UrlEncode(*y) + "\"";
}

// DER ECDSA-Sig-Value (what OpenSSL produces) -> R||S, 32 bytes each
// (RFC 7518 section 3.4).
std::optional<std::string> DerEcdsaToRaw(const std::vector<unsigned char>& der) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return std::nullopt;
  std::string raw(2 * kP256CoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const bool ok =
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, kP256CoordinateBytes) == kP256CoordinateBytes &&
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + kP256CoordinateBytes, kP256CoordinateBytes) ==
          kP256CoordinateBytes;
  ECDSA_SIG_free(sig);
  if (!ok) return std::nullopt;
  return raw;
}

}  // namespace

JwsSigner::JwsSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwsSigner::~JwsSigner() = default;

Result<std::unique_ptr<JwsSigner>> JwsSigner::Generate(std::string kid, JwsAlgorithm algorithm,
                                                       int rsa_bits) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case JwsAlgorithm::kRs256:
      if (rsa_bits < JwsKey::kMinRsaBits) {
        return InvalidArgument("RSA keys must have at least 2048 bits");
      }
      key = EVP_RSA_gen(static_cast<unsigned int>(rsa_bits));
      break;
    case JwsAlgorithm::kEs256:
      key = EVP_EC_gen("P-256");
      break;
    case JwsAlgorithm::kHs256:
      return InvalidArgument("HS256 signs with a secret, not a key pair");
  }
  if (key == nullptr) return Internal("key generation failed");
  return FromKey(key, std::move(kid));
}

Result<std::unique_ptr<JwsSigner>> JwsSigner::FromPemFile(const std::string& path,
                                                          std::string kid) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return InvalidArgument("cannot read " + path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) {
    ERR_clear_error();
    return InvalidArgument(path + " is not a PEM private key");
  }
  auto signer = FromKey(key, std::move(kid));
  if (!signer.ok() && signer.error().code == ErrorCode::kInvalidArgument) {
    return InvalidArgument(path + ": " + signer.error().message);
  }
  return signer;
}

Result<std::unique_ptr<JwsSigner>> JwsSigner::FromKey(EVP_PKEY* key, std::string kid) {
  auto impl = std::make_unique<Impl>();
  impl->key = key;
  impl->kid = std::move(kid);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= JwsKey::kMinRsaBits) {
    impl->algorithm = JwsAlgorithm::kRs256;
  } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && IsP256(key)) {
    impl->algorithm = JwsAlgorithm::kEs256;
  } else {
    return InvalidArgument(
        "want an RSA key of at least 2048 bits (RS256) or an EC P-256 key (ES256)");
  }
  const auto members = PublicJwkMembers(key, impl->algorithm);
  if (!members) return Internal("cannot read the public key");
  const std::string kid_member = impl->kid.empty() ? "" : R"("kid":")" + impl->kid + "\",";
  impl->jwks = R"({"keys":[{)" + kid_member + *members + "}]}";
  impl->header_b64url =
      crypto::Base64UrlEncode(R"({"alg":")" + std::string(JwsAlgorithmName(impl->algorithm)) +
                              "\"," + kid_member + R"("typ":"JWT"})") +
      ".";
  return std::unique_ptr<JwsSigner>(new JwsSigner(std::move(impl)));
}

Result<std::string> JwsSigner::Sign(std::string_view payload_json) const {
  std::string input = impl_->header_b64url + crypto::Base64UrlEncode(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Internal("out of memory");
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t len = 0;
  std::vector<unsigned char> sig;
  bool ok =
      EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, impl_->key, nullptr) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, data, input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, sig.data(), &len, data, input.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return Internal(std::string(JwsAlgorithmName(impl_->algorithm)) + " signing failed");
  }
  sig.resize(len);
  std::string signature(sig.begin(), sig.end());
  if (impl_->algorithm == JwsAlgorithm::kEs256) {
    auto raw = DerEcdsaToRaw(sig);
    if (!raw) return Internal("ES256 signature is not a DER ECDSA-Sig-Value");
    signature = std::move(*raw);
  }
  input += '.';
  input += crypto::Base64UrlEncode(signature);
  return input;
}

const std::string& JwsSigner::PublicJwks() const { return impl_->jwks; }
const std::string& JwsSigner::kid() const { return impl_->kid; }
JwsAlgorithm JwsSigner::algorithm() const { return impl_->algorithm; }

}  // namespace rtgw::auth
