#include "auth/rs256_signer.hpp"

#include <gtest/gtest.h>

#include "auth/jws.hpp"

namespace rtgw::auth {
namespace {

TEST(Rs256SignerTest, SignedTokenVerifiesWithItsPublishedJwks) {
  auto signer = Rs256Signer::Generate("k1");
  ASSERT_TRUE(signer.ok());
  auto token = (*signer)->Sign(R"({"iss":"x","aud":"y"})");
  ASSERT_TRUE(token.ok());
  auto keys = ParseJwks((*signer)->PublicJwks());
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid(), "k1");
  EXPECT_EQ((*keys)[0].algorithm(), JwsAlgorithm::kRs256);
  auto payload = VerifyJwsSignature(*token, (*keys)[0]);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(*payload, R"({"iss":"x","aud":"y"})");
}

TEST(Rs256SignerTest, AnotherKeyDoesNotVerify) {
  auto a = Rs256Signer::Generate("k1");
  auto b = Rs256Signer::Generate("k1");
  ASSERT_TRUE(a.ok() && b.ok());
  auto token = (*a)->Sign("{}");
  auto keys = ParseJwks((*b)->PublicJwks());
  ASSERT_TRUE(token.ok() && keys.ok());
  EXPECT_FALSE(VerifyJwsSignature(*token, (*keys)[0]).ok());
}

TEST(Rs256SignerTest, RefusesSmallKeys) { EXPECT_FALSE(Rs256Signer::Generate("k", 1024).ok()); }

}  // namespace
}  // namespace rtgw::auth
