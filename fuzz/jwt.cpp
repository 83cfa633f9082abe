// libFuzzer target: the JWS/JWT decoder and the claim checks (auth/jws.hpp,
// auth/jwt_verifier.hpp). Corpus: corpus/jwt/. Each input is used twice:
//  1. as a bearer token (split, protected header, signature, claims), and
//  2. as a claims set, signed here with the verifier's HS256 secret, so the
//     bytes reach the claim checks behind the signature.
// Properties: an accepted token splits into three segments with an HS256
// header; accepted claims have tenant_id and sub and satisfy exp/nbf/iat with
// the leeway; verifying the same token again (the cache path) agrees.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/jws.hpp"
#include "auth/jwt_verifier.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

constexpr std::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789";
constexpr std::int64_t kNowSeconds = 1'767'225'600;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kLeewaySeconds = 60;

const rtgw::auth::JwtVerifier& Verifier() {
  static const auto* const verifier = [] {
    rtgw::auth::JwtVerifierOptions options;
    options.hs256_secret = std::string(kSecret);
    options.issuer = "https://issuer.example";
    options.audience = "rtgw";
    options.leeway = std::chrono::seconds(kLeewaySeconds);
    auto created = rtgw::auth::JwtVerifier::Create(std::move(options));
    Require(created.ok(), "the fuzz verifier is created");
    return created->release();
  }();
  return *verifier;
}

void CheckAccepted(const rtgw::Result<rtgw::auth::Claims>& claims) {
  if (!claims.ok()) return;
  Require(!claims->tenant_id.empty(), "accepted claims have tenant_id");
  Require(!claims->sub.empty(), "accepted claims have sub");
  Require(claims->exp.has_value() && kNowSeconds < *claims->exp + kLeewaySeconds,
          "an accepted token has not expired");
  Require(!claims->nbf || kNowSeconds >= *claims->nbf - kLeewaySeconds,
          "an accepted token is not before its nbf");
  Require(!claims->iat || *claims->iat <= kNowSeconds + kLeewaySeconds,
          "an accepted token was not issued in the future");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(kNowSeconds));
  const auto& verifier = Verifier();

  auto split = rtgw::auth::SplitCompactJws(text);
  if (split.ok()) (void)rtgw::auth::DecodeJwsHeader(split->header_b64url);
  auto as_token = verifier.Verify(text, now);
  if (as_token.ok()) {
    Require(split.ok(), "an accepted token is a compact JWS");
    auto header = rtgw::auth::DecodeJwsHeader(split->header_b64url);
    Require(header.ok() && header->algorithm == rtgw::auth::JwsAlgorithm::kHs256,
            "an accepted token has an HS256 header (the only key is the secret)");
  }
  CheckAccepted(as_token);

  const std::string signed_claims = rtgw::auth::SignHs256(text, kSecret);
  auto first = verifier.Verify(signed_claims, now);
  CheckAccepted(first);
  auto again = verifier.Verify(signed_claims, now);
  Require(first.ok() == again.ok(), "verifying a token again gives the same answer");
  if (first.ok()) {
    Require(first->tenant_id == again->tenant_id && first->sub == again->sub &&
                first->node_id == again->node_id && first->exp == again->exp,
            "the cached claims are the verified claims");
  }
  return 0;
}
