#include "relay/webhook_signer.hpp"

#include <gtest/gtest.h>

namespace rtgw::relay {
namespace {

// The example of the Standard Webhooks reference libraries (the same secret,
// id, timestamp and payload appear in the spec's test suites).
TEST(WebhookSigner, StandardWebhooksReferenceVector) {
  Result<WebhookSigner> signer = WebhookSigner::Create("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSigner, RawSecretIsUsedAsKeyBytes) {
  Result<WebhookSigner> a = WebhookSigner::Create("0123456789abcdef0123");
  Result<WebhookSigner> b = WebhookSigner::Create("0123456789abcdef0124");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string sig = a->Sign("id", 1, "{}");
  EXPECT_TRUE(sig.starts_with("v1,"));
  EXPECT_EQ(sig.size(), 3u + 44u);  // base64 of 32 bytes with padding
  EXPECT_NE(sig, b->Sign("id", 1, "{}"));
  EXPECT_NE(sig, a->Sign("id", 2, "{}"));
  EXPECT_NE(sig, a->Sign("id", 1, "{ }"));
}

TEST(WebhookSigner, RefusesWeakOrMalformedSecrets) {
  EXPECT_FALSE(WebhookSigner::Create("").ok());
  EXPECT_FALSE(WebhookSigner::Create("short").ok());
  EXPECT_FALSE(WebhookSigner::Create("whsec_not*base64").ok());
  EXPECT_FALSE(WebhookSigner::Create("whsec_c2hvcnQ=").ok());  // "short"
}

TEST(WebhookSigner, WebhookIdIsStablePerUpdateAndUnambiguous) {
  EXPECT_EQ(ProjectionWebhookId("t", "j", 1), ProjectionWebhookId("t", "j", 1));
  EXPECT_NE(ProjectionWebhookId("t", "j", 1), ProjectionWebhookId("t", "j", 2));
  EXPECT_NE(ProjectionWebhookId("ab", "c", 1), ProjectionWebhookId("a", "bc", 1));
  EXPECT_EQ(ProjectionWebhookId("t", "j", 1).size(), 35u);
}

}  // namespace
}  // namespace rtgw::relay
