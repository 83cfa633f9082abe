#include "auth/jwt_verifier.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "auth/jwt_test_keys.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::auth {
namespace {

using std::chrono::seconds;
using testing::Jwks;
using testing::SignToken;
using testing::SignTokenHs256;
using testing::TestKeyPair;

constexpr std::string_view kSecret = "test-secret-with-enough-bytes-0123456789";
constexpr std::int64_t kNow = 1'800'000'000;

std::chrono::system_clock::time_point Now(std::int64_t offset = 0) {
  return std::chrono::system_clock::time_point{seconds{kNow + offset}};
}

std::string Claims(std::int64_t exp_offset = 300, std::string_view extra = {}) {
  std::string out =
      R"({"tenant_id":"tenant-a","sub":"user-1","exp":)" + std::to_string(kNow + exp_offset);
  out.append(extra);
  out.push_back('}');
  return out;
}

std::unique_ptr<JwtVerifier> MakeVerifier(JwtVerifierOptions options) {
  auto verifier = JwtVerifier::Create(std::move(options));
  EXPECT_TRUE(verifier.ok()) << verifier.error().message;
  return std::move(verifier).value();
}

std::unique_ptr<JwtVerifier> Hs256Verifier(std::string issuer = {}, std::string audience = {}) {
  JwtVerifierOptions options;
  options.hs256_secret = std::string(kSecret);
  options.issuer = std::move(issuer);
  options.audience = std::move(audience);
  options.leeway = seconds{30};
  return MakeVerifier(std::move(options));
}

std::string ErrorOf(const JwtVerifier& verifier, std::string_view token,
                    std::chrono::system_clock::time_point now = Now()) {
  auto result = verifier.Verify(token, now);
  if (result.ok()) return "ok";
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
  return result.error().message;
}

TEST(JwtVerifierTest, AcceptsHs256TokenAndReturnsClaims) {
  auto verifier = Hs256Verifier();
  const std::string token =
      SignHs256(Claims(300, R"(,"node_id":"node-7","iat":1799999990)"), kSecret);
  auto claims = verifier->Verify(token, Now());
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->tenant_id, "tenant-a");
  EXPECT_EQ(claims->sub, "user-1");
  EXPECT_EQ(claims->node_id, "node-7");
  EXPECT_EQ(claims->exp, kNow + 300);
  EXPECT_EQ(claims->iat, 1799999990);
}

TEST(JwtVerifierTest, MintDevTokenVerifies) {
  auto verifier = Hs256Verifier("rtgw-dev", "rtgw");
  const std::string token =
      MintDevToken(kSecret, "t1", "alice", seconds{60}, Now(), {}, "rtgw-dev", "rtgw");
  auto claims = verifier->Verify(token, Now(10));
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->tenant_id, "t1");
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_FALSE(claims->node_id.has_value());
  EXPECT_EQ(ErrorOf(*verifier, token, Now(60 + 30)), "token expired");
}

TEST(JwtVerifierTest, ReadsScopeAndJtiAndRefusesBadOnes) {
  auto verifier = Hs256Verifier();
  auto claims = verifier->Verify(
      SignHs256(Claims(300, R"(,"scope":"runtime:read openid","jti":"id-1")"), kSecret), Now());
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->scope, "runtime:read openid");
  EXPECT_EQ(claims->jti, "id-1");
  auto plain = verifier->Verify(SignHs256(Claims(), kSecret), Now());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->scope.has_value());
  EXPECT_FALSE(plain->jti.has_value());
  // An empty scope is a claim (it grants nothing), not an absent one.
  auto empty = verifier->Verify(SignHs256(Claims(300, R"(,"scope":"")"), kSecret), Now());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->scope, "");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(300, R"(,"scope":["runtime:read"])"), kSecret)),
            "invalid claim scope");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(300, R"(,"jti":"")"), kSecret)),
            "invalid claim jti");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(300, R"(,"jti":7)"), kSecret)),
            "invalid claim jti");
  EXPECT_EQ(ErrorOf(*verifier,
                    SignHs256(Claims(300, R"(,"jti":")" + std::string(257, 'j') + "\""), kSecret)),
            "invalid claim jti");
}

TEST(JwtVerifierTest, MaxLifetimeRefusesTokensExpiringTooFarAhead) {
  JwtVerifierOptions options;
  options.hs256_secret = std::string(kSecret);
  options.leeway = seconds{30};
  options.max_lifetime = seconds{3600};
  auto verifier = MakeVerifier(std::move(options));
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(3600 + 30), kSecret)), "ok");
  const std::string long_lived = SignHs256(Claims(3600 + 31), kSecret);
  EXPECT_EQ(ErrorOf(*verifier, long_lived), "token lifetime too long");
  // The same bytes become acceptable once exp is near enough (checked on every call).
  EXPECT_EQ(ErrorOf(*verifier, long_lived, Now(10)), "ok");
  options = {};
  options.hs256_secret = std::string(kSecret);
  options.max_lifetime = seconds{-1};
  EXPECT_FALSE(JwtVerifier::Create(std::move(options)).ok());
}

TEST(JwtVerifierTest, ExpiryAndNotBeforeHonourLeeway) {
  auto verifier = Hs256Verifier();
  const std::string token = SignHs256(Claims(0), kSecret);  // exp == now
  EXPECT_EQ(ErrorOf(*verifier, token, Now(29)), "ok");      // within 30 s leeway
  EXPECT_EQ(ErrorOf(*verifier, token, Now(30)), "token expired");

  const std::string future = SignHs256(Claims(300, R"(,"nbf":1800000100)"), kSecret);
  EXPECT_EQ(ErrorOf(*verifier, future, Now()), "token not yet valid");
  EXPECT_EQ(ErrorOf(*verifier, future, Now(70)), "ok");

  const std::string issued_later = SignHs256(Claims(300, R"(,"iat":1800000100)"), kSecret);
  EXPECT_EQ(ErrorOf(*verifier, issued_later, Now()), "token issued in the future");
}

// Verify remembers tokens it accepted; a remembered token still has its
// times checked on every call, and only exact bytes of a verified token hit.
TEST(JwtVerifierTest, RemembersVerifiedTokensButChecksTimesEveryCall) {
  auto verifier = Hs256Verifier();
  const std::string token = SignHs256(Claims(100, R"(,"nbf":1800000050)"), kSecret);
  EXPECT_EQ(ErrorOf(*verifier, token, Now()), "token not yet valid");
  EXPECT_EQ(verifier->CachedTokens(), 0u);  // failures are not remembered
  EXPECT_EQ(ErrorOf(*verifier, token, Now(30)), "ok");
  EXPECT_EQ(verifier->CachedTokens(), 1u);
  auto again = verifier->Verify(token, Now(40));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tenant_id, "tenant-a");
  EXPECT_EQ(again->sub, "user-1");
  EXPECT_EQ(again->exp, kNow + 100);
  EXPECT_EQ(verifier->CachedTokens(), 1u);
  // From the cache: before nbf - leeway, after exp + leeway.
  EXPECT_EQ(ErrorOf(*verifier, token, Now(19)), "token not yet valid");
  EXPECT_EQ(ErrorOf(*verifier, token, Now(130)), "token expired");

  // One changed signature byte is a different token: verified, and refused.
  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(ErrorOf(*verifier, tampered, Now(40)), "bad signature");
  EXPECT_EQ(verifier->CachedTokens(), 1u);
  // The same claims signed with another secret never hit the remembered token.
  EXPECT_EQ(
      ErrorOf(*verifier, SignHs256(Claims(100, R"(,"nbf":1800000050)"), "other-secret"), Now(40)),
      "bad signature");
}

TEST(JwtVerifierTest, RememberedTokensAreBounded) {
  auto verifier = Hs256Verifier();
  for (int i = 0; i < 1100; ++i) {
    const std::string token = SignHs256(Claims(300 + i), kSecret);
    ASSERT_EQ(ErrorOf(*verifier, token), "ok");
    EXPECT_LE(verifier->CachedTokens(), 1024u);
  }
  EXPECT_GE(verifier->CachedTokens(), 1u);
}

TEST(JwtVerifierTest, RejectsBadTimeClaims) {
  auto verifier = Hs256Verifier();
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(R"({"tenant_id":"t","sub":"s"})", kSecret)),
            "missing claim exp");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(R"({"tenant_id":"t","sub":"s","exp":"soon"})", kSecret)),
            "invalid claim exp");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(300, R"(,"nbf":true)"), kSecret)),
            "invalid claim nbf");
}

TEST(JwtVerifierTest, RequiresTenantAndSubject) {
  auto verifier = Hs256Verifier();
  const std::string exp = std::to_string(kNow + 60);
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(R"({"sub":"s","exp":)" + exp + "}", kSecret)),
            "missing claim tenant_id");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(R"({"tenant_id":"t","exp":)" + exp + "}", kSecret)),
            "missing claim sub");
  EXPECT_EQ(
      ErrorOf(*verifier, SignHs256(R"({"tenant_id":"","sub":"s","exp":)" + exp + "}", kSecret)),
      "invalid claim tenant_id");
  EXPECT_EQ(
      ErrorOf(*verifier, SignHs256(R"({"tenant_id":7,"sub":"s","exp":)" + exp + "}", kSecret)),
      "invalid claim tenant_id");
}

TEST(JwtVerifierTest, ChecksIssuerAndAudienceWhenConfigured) {
  auto verifier = Hs256Verifier("https://issuer.example", "rtgw");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(60, R"(,"aud":"rtgw")"), kSecret)),
            "missing claim iss");
  EXPECT_EQ(
      ErrorOf(*verifier,
              SignHs256(Claims(60, R"(,"iss":"https://evil.example","aud":"rtgw")"), kSecret)),
      "bad issuer");
  EXPECT_EQ(
      ErrorOf(*verifier, SignHs256(Claims(60, R"(,"iss":"https://issuer.example")"), kSecret)),
      "missing claim aud");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(60, R"(,"iss":"https://issuer.example",)"
                                                    R"("aud":["other","rtgw"])"),
                                         kSecret)),
            "ok");
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(60, R"(,"iss":"https://issuer.example",)"
                                                    R"("aud":["other"])"),
                                         kSecret)),
            "bad audience");
  // Unconfigured: iss/aud are not checked.
  EXPECT_EQ(ErrorOf(*Hs256Verifier(), SignHs256(Claims(60, R"(,"iss":"anyone")"), kSecret)), "ok");
}

TEST(JwtVerifierTest, RejectsWrongSecretAndTampering) {
  auto verifier = Hs256Verifier();
  EXPECT_EQ(ErrorOf(*verifier, SignHs256(Claims(), "another-secret-of-enough-length-xx")),
            "bad signature");
  std::string token = SignHs256(Claims(), kSecret);
  // Swap the payload for one granting another tenant, keep the signature.
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const std::string forged_payload =
      crypto::Base64UrlEncode(R"({"tenant_id":"tenant-b","sub":"user-1","exp":1800000300})");
  token.replace(first + 1, second - first - 1, forged_payload);
  EXPECT_EQ(ErrorOf(*verifier, token), "bad signature");
  EXPECT_NE(ErrorOf(*verifier, "not-a-token"), "ok");
  EXPECT_NE(ErrorOf(*verifier, ""), "ok");
}

TEST(JwtVerifierTest, RejectsAlgNone) {
  auto verifier = Hs256Verifier();
  const std::string unsigned_token = crypto::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") +
                                     "." + crypto::Base64UrlEncode(Claims()) + ".";
  EXPECT_NE(ErrorOf(*verifier, unsigned_token), "ok");
  const std::string with_mac = SignTokenHs256(R"({"alg":"none"})", Claims(), kSecret);
  EXPECT_NE(ErrorOf(*verifier, with_mac), "ok");
  const std::string upper = SignTokenHs256(R"({"alg":"hs256"})", Claims(), kSecret);
  EXPECT_NE(ErrorOf(*verifier, upper), "ok");
}

TEST(JwtVerifierTest, Rs256AndEs256FromJwksByKid) {
  const TestKeyPair rsa = TestKeyPair::GenerateRsa();
  const TestKeyPair ec = TestKeyPair::GenerateP256();
  JwtVerifierOptions options;
  options.jwks_json = Jwks({rsa.PublicJwk("rsa-1", "RS256"), ec.PublicJwk("ec-1")});
  auto verifier = MakeVerifier(std::move(options));

  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"RS256","kid":"rsa-1"})", Claims(), rsa)), "ok");
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"ES256","kid":"ec-1"})", Claims(), ec)), "ok");
  // Wrong kid.
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"RS256","kid":"rsa-2"})", Claims(), rsa)),
            "unknown kid");
  // A kid bound to RS256 used with ES256 (alg confusion across asymmetric keys).
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"ES256","kid":"rsa-1"})", Claims(), ec)),
            "alg not allowed for key");
  // Signed by a key that is not in the set, under a known kid.
  const TestKeyPair stranger = TestKeyPair::GenerateRsa();
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"RS256","kid":"rsa-1"})", Claims(), stranger)),
            "bad signature");
  // Without a kid, a single key of the algorithm is used.
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"ES256"})", Claims(), ec)), "ok");
  // Expiry applies to asymmetric tokens as well.
  EXPECT_EQ(ErrorOf(*verifier, SignToken(R"({"alg":"ES256","kid":"ec-1"})", Claims(-100), ec)),
            "token expired");
}

TEST(JwtVerifierTest, HmacWithPublicKeyBytesIsRejected) {
  // The classic alg-confusion attack: an HS256 token whose MAC key is the RSA
  // public key. With only a JWKS configured there is no HS256 key at all.
  const TestKeyPair rsa = TestKeyPair::GenerateRsa();
  JwtVerifierOptions jwks_only;
  jwks_only.jwks_json = Jwks({rsa.PublicJwk("rsa-1")});
  auto verifier = MakeVerifier(std::move(jwks_only));
  const std::string forged =
      SignTokenHs256(R"({"alg":"HS256","kid":"rsa-1"})", Claims(), rsa.PublicKeyBytes());
  EXPECT_EQ(ErrorOf(*verifier, forged), "unsupported alg");

  // With both configured, HS256 goes only to the secret, never to the RSA key.
  JwtVerifierOptions both;
  both.hs256_secret = std::string(kSecret);
  both.jwks_json = Jwks({rsa.PublicJwk("rsa-1")});
  auto mixed = MakeVerifier(std::move(both));
  EXPECT_EQ(ErrorOf(*mixed, forged), "bad signature");
  EXPECT_EQ(ErrorOf(*mixed, SignHs256(Claims(), kSecret)), "ok");
}

TEST(JwtVerifierTest, CreateRefusesBadConfiguration) {
  EXPECT_FALSE(JwtVerifier::Create({}).ok());
  JwtVerifierOptions bad_jwks;
  bad_jwks.jwks_json = R"({"keys":[{"kty":"oct","k":"AAAA"}]})";
  auto result = JwtVerifier::Create(std::move(bad_jwks));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  JwtVerifierOptions bad_leeway;
  bad_leeway.hs256_secret = "s";
  bad_leeway.leeway = seconds{-1};
  EXPECT_FALSE(JwtVerifier::Create(std::move(bad_leeway)).ok());
}

TEST(JwtVerifierTest, RefusesOversizeTokens) {
  JwtVerifierOptions options;
  options.hs256_secret = std::string(kSecret);
  options.max_token_bytes = 256;
  auto verifier = MakeVerifier(std::move(options));
  const std::string big =
      SignHs256(Claims(60, ",\"pad\":\"" + std::string(400, 'x') + "\""), kSecret);
  EXPECT_EQ(ErrorOf(*verifier, big), "token too large");
}

}  // namespace
}  // namespace rtgw::auth
