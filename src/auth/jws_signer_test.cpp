#include "auth/jws_signer.hpp"

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/jws.hpp"
#include "common/random.hpp"

namespace rtgw::auth {
namespace {

class JwsSignerTest : public ::testing::TestWithParam<JwsAlgorithm> {};

TEST_P(JwsSignerTest, SignedTokenVerifiesWithItsPublishedJwks) {
  auto signer = JwsSigner::Generate("k1", GetParam());
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ((*signer)->algorithm(), GetParam());
  auto token = (*signer)->Sign(R"({"iss":"x","aud":"y"})");
  ASSERT_TRUE(token.ok());
  auto keys = ParseJwks((*signer)->PublicJwks());
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid(), "k1");
  EXPECT_EQ((*keys)[0].algorithm(), GetParam());
  auto header = DecodeJwsHeader(token->substr(0, token->find('.')));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->algorithm, GetParam());
  EXPECT_EQ(header->kid, "k1");
  auto payload = VerifyJwsSignature(*token, (*keys)[0]);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(*payload, R"({"iss":"x","aud":"y"})");
}

TEST_P(JwsSignerTest, AnotherKeyDoesNotVerify) {
  auto a = JwsSigner::Generate("k1", GetParam());
  auto b = JwsSigner::Generate("k1", GetParam());
  ASSERT_TRUE(a.ok() && b.ok());
  auto token = (*a)->Sign("{}");
  auto keys = ParseJwks((*b)->PublicJwks());
  ASSERT_TRUE(token.ok() && keys.ok());
  EXPECT_FALSE(VerifyJwsSignature(*token, (*keys)[0]).ok());
}

TEST_P(JwsSignerTest, WithoutKidTheHeaderAndJwksHaveNone) {
  auto signer = JwsSigner::Generate("", GetParam());
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ((*signer)->PublicJwks().find("kid"), std::string::npos);
  auto token = (*signer)->Sign("{}");
  ASSERT_TRUE(token.ok());
  auto header = DecodeJwsHeader(token->substr(0, token->find('.')));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->kid, "");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwsSignerTest,
                         ::testing::Values(JwsAlgorithm::kRs256, JwsAlgorithm::kEs256));

TEST(JwsSignerKeysTest, RefusesSmallRsaKeysAndHs256) {
  EXPECT_FALSE(JwsSigner::Generate("k", JwsAlgorithm::kRs256, 1024).ok());
  EXPECT_FALSE(JwsSigner::Generate("k", JwsAlgorithm::kHs256).ok());
}

// Writes `key` as a PKCS#8 PEM file in the temp dir and returns its path.
std::string WriteSignerPem(EVP_PKEY* key) {
  const auto path =
      std::filesystem::temp_directory_path() / ("jws_signer_" + RandomHex(8) + ".pem");
  FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(f);
  EVP_PKEY_free(key);
  return path;
}

TEST(JwsSignerKeysTest, FromPemFileChoosesTheAlgorithmFromTheKey) {
  const std::string rsa = WriteSignerPem(EVP_RSA_gen(2048));
  const std::string ec = WriteSignerPem(EVP_EC_gen("P-256"));
  const std::string p384 = WriteSignerPem(EVP_EC_gen("P-384"));
  auto rsa_signer = JwsSigner::FromPemFile(rsa, "r");
  auto ec_signer = JwsSigner::FromPemFile(ec, "e");
  ASSERT_TRUE(rsa_signer.ok()) << rsa_signer.error().message;
  ASSERT_TRUE(ec_signer.ok()) << ec_signer.error().message;
  EXPECT_EQ((*rsa_signer)->algorithm(), JwsAlgorithm::kRs256);
  EXPECT_EQ((*ec_signer)->algorithm(), JwsAlgorithm::kEs256);
  auto refused = JwsSigner::FromPemFile(p384, "p");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("P-256"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(JwsSigner::FromPemFile(p384 + ".missing", "p").ok());
  for (const auto& path : {rsa, ec, p384}) std::filesystem::remove(path);
}

}  // namespace
}  // namespace rtgw::auth
