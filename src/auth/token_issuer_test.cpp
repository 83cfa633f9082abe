#include "auth/token_issuer.hpp"

#include <set>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "auth/jws.hpp"
#include "auth/jws_signer.hpp"
#include "auth/jwt_verifier.hpp"

namespace rtgw::auth {
namespace {

using std::chrono::seconds;

const auto kIssuedAt = std::chrono::system_clock::now();

TokenClaims IssuedClaims() {
  return TokenClaims{.tenant_id = "t1",
                     .sub = "alice",
                     .node_id = "node-a",
                     .scope = "runtime:events runtime:read",
                     .jti = "j-1",
                     .issuer = "https://issuer.example",
                     .audience = "rtgw",
                     .ttl = seconds{1800}};
}

// The verifier accepts `token` and reports the claims IssuedClaims() gave it.
void ExpectIssuedTokenVerifies(const std::string& token, JwtVerifierOptions options) {
  options.issuer = "https://issuer.example";
  options.audience = "rtgw";
  auto verifier = JwtVerifier::Create(std::move(options));
  ASSERT_TRUE(verifier.ok()) << verifier.error().message;
  auto claims = (*verifier)->Verify(token, kIssuedAt);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->tenant_id, "t1");
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->node_id, "node-a");
  ASSERT_TRUE(claims->iat && claims->exp);
  EXPECT_EQ(*claims->exp - *claims->iat, 1800);
  EXPECT_EQ(*claims->iat, std::chrono::floor<seconds>(kIssuedAt).time_since_epoch().count());
}

TEST(TokenIssuerTest, ClaimsJsonHasExactlyTheGivenClaims) {
  const auto json = boost::json::parse(TokenClaimsJson(IssuedClaims(), kIssuedAt)).as_object();
  EXPECT_EQ(json.size(), 9u);
  EXPECT_EQ(json.at("scope").as_string(), "runtime:events runtime:read");
  EXPECT_EQ(json.at("jti").as_string(), "j-1");
  EXPECT_EQ(json.at("iss").as_string(), "https://issuer.example");
  EXPECT_EQ(json.at("aud").as_string(), "rtgw");
  EXPECT_EQ(json.at("node_id").as_string(), "node-a");

  const auto minimal =
      boost::json::parse(TokenClaimsJson({.tenant_id = "t1", .sub = "bob"}, kIssuedAt)).as_object();
  EXPECT_EQ(minimal.size(), 4u);  // tenant_id, sub, iat, exp
  EXPECT_EQ(minimal.at("exp").as_int64() - minimal.at("iat").as_int64(), 3600);
}

TEST(TokenIssuerTest, Hs256TokenVerifies) {
  const std::string token = SignHs256(TokenClaimsJson(IssuedClaims(), kIssuedAt), "s3cret");
  ExpectIssuedTokenVerifies(token, {.hs256_secret = "s3cret"});
}

class TokenIssuerKeyTest : public ::testing::TestWithParam<JwsAlgorithm> {};

TEST_P(TokenIssuerKeyTest, SignedTokenVerifiesWithTheSignersJwks) {
  auto signer = JwsSigner::Generate("issuer-key", GetParam());
  ASSERT_TRUE(signer.ok());
  auto token = (*signer)->Sign(TokenClaimsJson(IssuedClaims(), kIssuedAt));
  ASSERT_TRUE(token.ok());
  ExpectIssuedTokenVerifies(*token, {.jwks_json = (*signer)->PublicJwks()});
  // And the payload carries the claims the verifier does not report.
  auto keys = ParseJwks((*signer)->PublicJwks());
  ASSERT_TRUE(keys.ok());
  auto payload = VerifyJwsSignature(*token, (*keys)[0]);
  ASSERT_TRUE(payload.ok());
  const auto json = boost::json::parse(*payload).as_object();
  EXPECT_EQ(json.at("scope").as_string(), "runtime:events runtime:read");
  EXPECT_EQ(json.at("jti").as_string(), "j-1");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TokenIssuerKeyTest,
                         ::testing::Values(JwsAlgorithm::kRs256, JwsAlgorithm::kEs256));

TEST(TokenIssuerTest, ChecksScopes) {
  TokenClaims claims = IssuedClaims();
  EXPECT_TRUE(CheckTokenClaims(claims).ok());
  claims.scope =
      "runtime:submit runtime:submit_as runtime:read runtime:events runtime:cancel "
      "runtime:validate runtime:admin";
  EXPECT_TRUE(CheckTokenClaims(claims).ok());
  for (const char* bad : {"runtime:write", "runtime:read  runtime:submit", " runtime:read",
                          "runtime:read ", "runtime:read runtime:read", "RUNTIME:READ"}) {
    claims.scope = bad;
    auto status = CheckTokenClaims(claims);
    EXPECT_FALSE(status.ok()) << bad;
  }
  claims.scope = "runtime:read runtime:launch";
  auto status = CheckTokenClaims(claims);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("unknown scope \"runtime:launch\""), std::string::npos)
      << status.error().message;
}

TEST(TokenIssuerTest, ChecksTtlBoundsJtiAndRequiredClaims) {
  TokenClaims claims = IssuedClaims();
  for (seconds ttl : {seconds{1}, kMaxIssuedTokenTtl}) {
    claims.ttl = ttl;
    EXPECT_TRUE(CheckTokenClaims(claims).ok()) << ttl.count();
  }
  for (seconds ttl : {seconds{0}, seconds{-5}, kMaxIssuedTokenTtl + seconds{1}}) {
    claims.ttl = ttl;
    EXPECT_FALSE(CheckTokenClaims(claims).ok()) << ttl.count();
  }
  claims = IssuedClaims();
  claims.tenant_id.clear();
  EXPECT_FALSE(CheckTokenClaims(claims).ok());
  claims = IssuedClaims();
  claims.sub.clear();
  EXPECT_FALSE(CheckTokenClaims(claims).ok());
  claims = IssuedClaims();
  claims.jti = std::string(kMaxJtiBytes, 'j');
  EXPECT_TRUE(CheckTokenClaims(claims).ok());
  claims.jti += 'j';
  EXPECT_FALSE(CheckTokenClaims(claims).ok());
  claims.jti = "a\nb";
  EXPECT_FALSE(CheckTokenClaims(claims).ok());
}

TEST(TokenIssuerTest, NewJtiIs128RandomBitsBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string jti = NewJti();
    EXPECT_EQ(jti.size(), 22u);
    EXPECT_EQ(
        jti.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(jti);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace rtgw::auth
