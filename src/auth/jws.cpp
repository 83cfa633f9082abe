#include "auth/jws.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "auth/json_segment.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::auth {
namespace {

template <auto kFree>
struct FreeWith {
  template <class T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<&EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<&EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<&EVP_MD_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, FreeWith<&EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, FreeWith<&EVP_MAC_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, FreeWith<&BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, FreeWith<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, FreeWith<&OSSL_PARAM_free>>;

constexpr std::size_t kHs256MacBytes = 32;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 2 * kP256CoordinateBytes;
// SEQUENCE { INTEGER r, INTEGER s }, each up to 32 bytes plus a sign byte.
constexpr std::size_t kEs256DerMaxBytes = 2 + 2 * (2 + kP256CoordinateBytes + 1);
// Largest raw signature we accept: an RSA signature under a kMaxRsaBits key.
constexpr std::size_t kMaxSignatureBytes = JwsKey::kMaxRsaBits / 8;

const unsigned char* Bytes(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

std::string_view View(const boost::json::string& s) { return {s.data(), s.size()}; }

// A member that must be a string when present. nullopt: absent.
Result<std::optional<std::string_view>> OptionalString(const boost::json::object& object,
                                                       std::string_view name) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr) return std::optional<std::string_view>();
  if (!value->is_string()) return InvalidArgument("\"" + std::string(name) + "\" must be a string");
  return std::optional<std::string_view>(View(value->get_string()));
}

// A required base64url member, decoded.
Result<std::string> RequiredBase64Url(const boost::json::object& object, std::string_view name) {
  auto text = OptionalString(object, name);
  if (!text.ok()) return std::move(text).error();
  if (!text.value()) return InvalidArgument("missing \"" + std::string(name) + "\"");
  auto bytes = crypto::Base64UrlDecode(**text);
  if (!bytes) return InvalidArgument("\"" + std::string(name) + "\" is not base64url");
  return std::move(*bytes);
}

Result<PkeyPtr> PkeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument(std::string("invalid ") + type + " public key");
  }
  return PkeyPtr(raw);
}

Result<PkeyPtr> RsaPublicKey(std::string_view n, std::string_view e) {
  BnPtr n_bn(BN_bin2bn(Bytes(n), static_cast<int>(n.size()), nullptr));
  BnPtr e_bn(BN_bin2bn(Bytes(e), static_cast<int>(e.size()), nullptr));
  if (n_bn == nullptr || e_bn == nullptr) return InvalidArgument("invalid RSA public key");
  const int bits = BN_num_bits(n_bn.get());
  if (bits < JwsKey::kMinRsaBits || bits > JwsKey::kMaxRsaBits) {
    return InvalidArgument("RSA modulus must be 2048 to 8192 bits, got " + std::to_string(bits));
  }
  // e is odd and 3 <= e < 2^64: anything else is broken or a DoS on verify.
  if (!BN_is_odd(e_bn.get()) || BN_num_bits(e_bn.get()) < 2 || BN_num_bits(e_bn.get()) > 64) {
    return InvalidArgument("invalid RSA public exponent");
  }
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return InvalidArgument("invalid RSA public key");
  }
  return PkeyFromParams("RSA", builder.get());
}

// RFC 7518 section 6.2.1.2 wants each coordinate as exactly 32 bytes, but
// common encoders drop leading zero bytes (PyJWT 2.6 to_jwk: one key in 128)
// or add one (a signed big-endian integer). The value is what counts: leading
// zeros are stripped and the rest must fit in 32 bytes; the point is then
// checked to be on the curve, so nothing weaker gets in.
std::optional<std::string_view> P256Coordinate(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  if (bytes.size() > kP256CoordinateBytes) return std::nullopt;
  return bytes;
}

Result<PkeyPtr> P256PublicKey(std::string_view x_bytes, std::string_view y_bytes) {
  const auto x = P256Coordinate(x_bytes);
  const auto y = P256Coordinate(y_bytes);
  if (!x || !y) return InvalidArgument("P-256 \"x\" and \"y\" must be at most 32 bytes each");
  std::array<unsigned char, 1 + 2 * kP256CoordinateBytes> point{};  // zero-filled
  point[0] = 0x04;  // SEC 1 uncompressed point; coordinates right-aligned
  std::memcpy(point.data() + 1 + kP256CoordinateBytes - x->size(), x->data(), x->size());
  std::memcpy(point.data() + 1 + 2 * kP256CoordinateBytes - y->size(), y->data(), y->size());
  char group[] = "prime256v1";
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return InvalidArgument("invalid EC public key");
  }
  auto pkey = PkeyFromParams("EC", builder.get());
  if (!pkey.ok()) return pkey;
  // Import already decodes the point; the explicit check also refuses the
  // point at infinity and makes "on the curve" a stated property, not a detail.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("EC point is not on P-256");
  }
  return pkey;
}

// ES256 signatures are R||S, 32 bytes each (RFC 7518 section 3.4); OpenSSL
// verifies the DER ECDSA-Sig-Value. Returns the DER size.
std::size_t RawEcdsaToDer(std::string_view raw, std::array<unsigned char, kEs256DerMaxBytes>& der) {
  std::size_t pos = 2;
  for (std::size_t half = 0; half < 2; ++half) {
    std::string_view v = raw.substr(half * kP256CoordinateBytes, kP256CoordinateBytes);
    // Minimal encoding: drop leading zeros (keep one byte for zero, which
    // verification then rejects), add a 0x00 when the high bit is set.
    while (v.size() > 1 && v.front() == '\0') v.remove_prefix(1);
    const bool sign_byte = (static_cast<unsigned char>(v.front()) & 0x80) != 0;
    der[pos++] = 0x02;
    der[pos++] = static_cast<unsigned char>(v.size() + (sign_byte ? 1 : 0));
    if (sign_byte) der[pos++] = 0x00;
    std::memcpy(der.data() + pos, v.data(), v.size());
    pos += v.size();
  }
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(pos - 2);
  return pos;
}

bool VerifyWithPkey(EVP_PKEY* pkey, bool rsa, std::string_view signing_input,
                    const unsigned char* signature, std::size_t signature_size) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey, nullptr) == 1 &&
      (!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
      EVP_DigestVerify(ctx.get(), signature, signature_size, Bytes(signing_input),
                       signing_input.size()) == 1;
  // A failed verify leaves entries on this thread's OpenSSL error queue; do
  // not let them leak into unrelated OpenSSL users on the same I/O thread.
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

class JwsKey::Impl {
 public:
  JwsAlgorithm algorithm = JwsAlgorithm::kHs256;
  std::string kid;
  std::size_t signature_bytes = 0;  // exact length a valid signature has
  // HS256: keyed once; never updated, each Verify works on a duplicate.
  MacCtxPtr hmac_template;
  // RS256 / ES256.
  PkeyPtr pkey;
};

// Builds keys; a friend so the free functions here can reach JwsKey::Impl.
class JwsKeyFactory {
 public:
  static JwsKey Make(std::unique_ptr<JwsKey::Impl> impl) { return JwsKey(std::move(impl)); }

  static Result<JwsKey> FromJwkObject(const boost::json::object& jwk) {
    auto kty = OptionalString(jwk, "kty");
    auto kid = OptionalString(jwk, "kid");
    auto alg = OptionalString(jwk, "alg");
    auto use = OptionalString(jwk, "use");
    for (const auto* field : {&kty, &kid, &alg, &use}) {
      if (!field->ok()) return field->error();
    }
    if (!kty.value()) return InvalidArgument("missing \"kty\"");
    if (use.value() && **use != "sig") return InvalidArgument("\"use\" must be \"sig\"");
    if (auto status = CheckKeyOps(jwk); !status.ok()) return std::move(status).error();

    auto impl = std::make_unique<JwsKey::Impl>();
    if (kid.value()) impl->kid = std::string(**kid);
    if (**kty == "RSA") {
      impl->algorithm = JwsAlgorithm::kRs256;
      auto n = RequiredBase64Url(jwk, "n");
      if (!n.ok()) return std::move(n).error();
      auto e = RequiredBase64Url(jwk, "e");
      if (!e.ok()) return std::move(e).error();
      auto pkey = RsaPublicKey(*n, *e);
      if (!pkey.ok()) return std::move(pkey).error();
      impl->pkey = std::move(*pkey);
      impl->signature_bytes = static_cast<std::size_t>(EVP_PKEY_get_size(impl->pkey.get()));
    } else if (**kty == "EC") {
      impl->algorithm = JwsAlgorithm::kEs256;
      auto crv = OptionalString(jwk, "crv");
      if (!crv.ok()) return std::move(crv).error();
      if (!crv.value() || **crv != "P-256") return InvalidArgument("EC \"crv\" must be \"P-256\"");
      auto x = RequiredBase64Url(jwk, "x");
      if (!x.ok()) return std::move(x).error();
      auto y = RequiredBase64Url(jwk, "y");
      if (!y.ok()) return std::move(y).error();
      auto pkey = P256PublicKey(*x, *y);
      if (!pkey.ok()) return std::move(pkey).error();
      impl->pkey = std::move(*pkey);
      impl->signature_bytes = kEs256SignatureBytes;
    } else {
      // "oct" in particular: symmetric keys in a JWKS would let anyone holding
      // the (public) document mint tokens.
      return InvalidArgument("unsupported \"kty\" (want RSA or EC)");
    }
    if (alg.value() && **alg != JwsAlgorithmName(impl->algorithm)) {
      return InvalidArgument("\"alg\" does not match the key type (RSA: RS256, EC P-256: ES256)");
    }
    return Make(std::move(impl));
  }

 private:
  static Status CheckKeyOps(const boost::json::object& jwk) {
    const boost::json::value* ops = jwk.if_contains("key_ops");
    if (ops == nullptr) return Ok{};
    if (const auto* array = ops->if_array()) {
      for (const auto& op : *array) {
        if (op.is_string() && View(op.get_string()) == "verify") return Ok{};
      }
    }
    return InvalidArgument("\"key_ops\" must contain \"verify\"");
  }
};

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name) {
  if (name == "HS256") return JwsAlgorithm::kHs256;
  if (name == "RS256") return JwsAlgorithm::kRs256;
  if (name == "ES256") return JwsAlgorithm::kEs256;
  return std::nullopt;
}

std::string_view JwsAlgorithmName(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::kHs256:
      return "HS256";
    case JwsAlgorithm::kRs256:
      return "RS256";
    case JwsAlgorithm::kEs256:
      return "ES256";
  }
  return "?";
}

JwsKey::JwsKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwsKey::JwsKey(JwsKey&& other) noexcept = default;
JwsKey& JwsKey::operator=(JwsKey&& other) noexcept = default;
JwsKey::~JwsKey() = default;

Result<JwsKey> JwsKey::FromHs256Secret(std::string_view secret) {
  if (secret.empty()) return InvalidArgument("HS256 secret is empty");
  MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  MacCtxPtr ctx(mac != nullptr ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (ctx == nullptr || EVP_MAC_init(ctx.get(), Bytes(secret), secret.size(), params) != 1) {
    ERR_clear_error();
    return Internal("cannot initialise HMAC-SHA256");
  }
  auto impl = std::make_unique<Impl>();
  impl->algorithm = JwsAlgorithm::kHs256;
  impl->signature_bytes = kHs256MacBytes;
  impl->hmac_template = std::move(ctx);
  return JwsKeyFactory::Make(std::move(impl));
}

Result<JwsKey> JwsKey::FromJwk(std::string_view jwk_json) {
  boost::json::error_code ec;
  const boost::json::value jwk = boost::json::parse(jwk_json, ec);
  if (ec || !jwk.is_object()) return InvalidArgument("JWK is not a JSON object");
  return JwsKeyFactory::FromJwkObject(jwk.get_object());
}

JwsAlgorithm JwsKey::algorithm() const { return impl_->algorithm; }

const std::string& JwsKey::kid() const { return impl_->kid; }

bool JwsKey::Verify(std::string_view signing_input, std::string_view signature) const {
  const Impl& key = *impl_;
  if (signature.size() != key.signature_bytes) return false;
  switch (key.algorithm) {
    case JwsAlgorithm::kHs256: {
      MacCtxPtr ctx(EVP_MAC_CTX_dup(key.hmac_template.get()));
      std::array<unsigned char, kHs256MacBytes> mac{};
      std::size_t mac_size = 0;
      if (ctx == nullptr ||
          EVP_MAC_update(ctx.get(), Bytes(signing_input), signing_input.size()) != 1 ||
          EVP_MAC_final(ctx.get(), mac.data(), &mac_size, mac.size()) != 1 ||
          mac_size != mac.size()) {
        ERR_clear_error();
        return false;
      }
      return CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
    }
    case JwsAlgorithm::kRs256:
      return VerifyWithPkey(key.pkey.get(), /*rsa=*/true, signing_input, Bytes(signature),
                            signature.size());
    case JwsAlgorithm::kEs256: {
      std::array<unsigned char, kEs256DerMaxBytes> der{};
      const std::size_t der_size = RawEcdsaToDer(signature, der);
      return VerifyWithPkey(key.pkey.get(), /*rsa=*/false, signing_input, der.data(), der_size);
    }
  }
  return false;
}

Result<std::vector<JwsKey>> ParseJwks(std::string_view jwks_json) {
  boost::json::error_code ec;
  const boost::json::value doc = boost::json::parse(jwks_json, ec);
  if (ec || !doc.is_object()) return InvalidArgument("JWKS is not a JSON object");
  const boost::json::value* keys = doc.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return InvalidArgument("JWKS \"keys\" is not an array");
  const boost::json::array& array = keys->get_array();
  if (array.empty()) return InvalidArgument("JWKS has no keys");
  if (array.size() > kMaxJwksKeys) {
    return InvalidArgument("JWKS has more than " + std::to_string(kMaxJwksKeys) + " keys");
  }
  std::vector<JwsKey> out;
  out.reserve(array.size());
  std::set<std::string, std::less<>> kids;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string where = "JWKS key " + std::to_string(i) + ": ";
    if (!array[i].is_object()) return InvalidArgument(where + "not a JSON object");
    auto key = JwsKeyFactory::FromJwkObject(array[i].get_object());
    if (!key.ok()) return InvalidArgument(where + key.error().message);
    if (!key->kid().empty() && !kids.insert(key->kid()).second) {
      return InvalidArgument(where + "duplicate \"kid\"");
    }
    out.push_back(std::move(*key));
  }
  return out;
}

Result<CompactJws> SplitCompactJws(std::string_view token) {
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos ||
      first == 0) {
    return Unauthenticated("malformed token");
  }
  CompactJws jws;
  jws.header_b64url = token.substr(0, first);
  jws.payload_b64url = token.substr(first + 1, second - first - 1);
  jws.signature_b64url = token.substr(second + 1);
  jws.signing_input = token.substr(0, second);
  return jws;
}

Result<JwsHeader> DecodeJwsHeader(std::string_view header_b64url) {
  JsonSegment segment;
  const boost::json::object* header = segment.DecodeObject(header_b64url);
  if (header == nullptr) return Unauthenticated("malformed header");
  // RFC 7515 section 4.1.11: we understand no extension, so any "crit" fails.
  if (header->contains("crit")) return Unauthenticated("crit header not supported");
  const boost::json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Unauthenticated("malformed header");
  const auto algorithm = ParseJwsAlgorithm(View(alg->get_string()));
  if (!algorithm) return Unauthenticated("unsupported alg");
  JwsHeader out;
  out.algorithm = *algorithm;
  if (const boost::json::value* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return Unauthenticated("malformed header");
    out.kid = std::string(View(kid->get_string()));
  }
  return out;
}

Status VerifyCompactSignature(const CompactJws& jws, const JwsKey& key) {
  std::array<char, kMaxSignatureBytes> signature;
  const auto size = crypto::Base64UrlDecodeInto(jws.signature_b64url, signature);
  if (!size || !key.Verify(jws.signing_input, std::string_view(signature.data(), *size))) {
    return Unauthenticated("bad signature");
  }
  return Ok{};
}

Result<std::string> VerifyJwsSignature(std::string_view token, const JwsKey& key) {
  auto jws = SplitCompactJws(token);
  if (!jws.ok()) return std::move(jws).error();
  auto header = DecodeJwsHeader(jws->header_b64url);
  if (!header.ok()) return std::move(header).error();
  if (header->algorithm != key.algorithm()) return Unauthenticated("alg not allowed for key");
  if (auto verified = VerifyCompactSignature(*jws, key); !verified.ok()) {
    return std::move(verified).error();
  }
  auto payload = crypto::Base64UrlDecode(jws->payload_b64url);
  if (!payload) return Unauthenticated("malformed payload");
  return std::move(*payload);
}

}  // namespace rtgw::auth
