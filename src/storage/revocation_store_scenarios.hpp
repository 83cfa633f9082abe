#ifndef RTGW_STORAGE_REVOCATION_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_REVOCATION_STORE_SCENARIOS_HPP_

// Test-only: the RevocationStore scenarios every backend must pass the same
// way (revoke and list, idempotent re-revoke, expiry and pruning, the
// per-tenant limit, tenants apart). A typed gtest suite on StoreScenarioTest
// (store_test_support.hpp), instantiated by RTGW_INSTANTIATE_STORE_SCENARIOS.
// Time is injected through `revoked_at` and the `now` of ListRevocations.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "storage/revocation_store.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

template <class Backend>
class RevocationStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  // t0 on a whole millisecond: the store keeps epoch milliseconds.
  const SystemTime t0_ = FromEpochMs(1'780'000'000'000);
  const std::chrono::hours hour_{1};

  Status Revoke(const std::string& tenant, const std::string& jti, SystemTime expires_at,
                SystemTime now, std::size_t max_per_tenant = 100, const std::string& by = "admin") {
    TokenRevocation r{.tenant_id = tenant,
                      .jti = jti,
                      .expires_at = expires_at,
                      .revoked_at = now,
                      .revoked_by = by};
    return Await<Ok>([&](auto cb) { this->Revocations().Revoke(r, max_per_tenant, cb); });
  }
  std::vector<TokenRevocation> List(SystemTime now) {
    auto listed = Await<std::vector<TokenRevocation>>(
        [&](auto cb) { this->Revocations().ListRevocations(now, cb); });
    EXPECT_TRUE(listed) << listed.error().message;
    return listed ? *listed : std::vector<TokenRevocation>{};
  }
  std::vector<std::string> ListedKeys(SystemTime now) {
    std::vector<std::string> keys;
    for (const TokenRevocation& r : List(now)) keys.push_back(r.tenant_id + "/" + r.jti);
    return keys;
  }
};

TYPED_TEST_SUITE_P(RevocationStoreScenarios);

using Keys = std::vector<std::string>;

TYPED_TEST_P(RevocationStoreScenarios, RevokedTokensAreListedWithTheirRecord) {
  const SystemTime t0 = this->t0_;
  EXPECT_TRUE(this->List(t0).empty());
  ASSERT_TRUE(this->Revoke("t1", "j1", t0 + this->hour_, t0, 100, "alice"));
  ASSERT_TRUE(this->Revoke("t1", "j2", t0 + 2 * this->hour_, t0));
  const std::vector<TokenRevocation> listed = this->List(t0);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].tenant_id, "t1");
  EXPECT_EQ(listed[0].jti, "j1");
  EXPECT_EQ(listed[0].expires_at, t0 + this->hour_);
  EXPECT_EQ(listed[0].revoked_at, t0);
  EXPECT_EQ(listed[0].revoked_by, "alice");
  EXPECT_EQ(listed[1].jti, "j2");
  this->Reopen();  // stored, not remembered
  EXPECT_EQ(this->ListedKeys(t0), (Keys{"t1/j1", "t1/j2"}));
}

TYPED_TEST_P(RevocationStoreScenarios, RevokingAgainKeepsTheLaterExpiryAndTheFirstRecord) {
  const SystemTime t0 = this->t0_;
  ASSERT_TRUE(this->Revoke("t1", "j1", t0 + 2 * this->hour_, t0, 100, "alice"));
  // An earlier expiry does not shorten it; a later one lengthens it.
  ASSERT_TRUE(this->Revoke("t1", "j1", t0 + this->hour_, t0 + this->hour_ / 2, 100, "bob"));
  auto listed = this->List(t0);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].expires_at, t0 + 2 * this->hour_);
  ASSERT_TRUE(this->Revoke("t1", "j1", t0 + 3 * this->hour_, t0 + this->hour_, 100, "bob"));
  listed = this->List(t0);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].expires_at, t0 + 3 * this->hour_);
  EXPECT_EQ(listed[0].revoked_at, t0);
  EXPECT_EQ(listed[0].revoked_by, "alice");
}

TYPED_TEST_P(RevocationStoreScenarios, ExpiredRevocationsAreNotListedAndArePruned) {
  const SystemTime t0 = this->t0_;
  ASSERT_TRUE(this->Revoke("t1", "short", t0 + this->hour_, t0));
  ASSERT_TRUE(this->Revoke("t2", "long", t0 + 3 * this->hour_, t0));
  EXPECT_EQ(this->ListedKeys(t0 + this->hour_ - std::chrono::milliseconds(1)),
            (Keys{"t1/short", "t2/long"}));
  EXPECT_EQ(this->ListedKeys(t0 + this->hour_), (Keys{"t2/long"}));  // expires_at is exclusive
  EXPECT_EQ(this->CountRows("token_revocations"), 2);                // listing deletes nothing
  // The next revocation (any tenant) deletes every expired row.
  ASSERT_TRUE(this->Revoke("t3", "j", t0 + 4 * this->hour_, t0 + 2 * this->hour_));
  EXPECT_EQ(this->CountRows("token_revocations"), 2);
  EXPECT_EQ(this->ListedKeys(t0), (Keys{"t2/long", "t3/j"}));
}

TYPED_TEST_P(RevocationStoreScenarios, ATenantHoldsAtMostTheLimitOfLiveRevocations) {
  const SystemTime t0 = this->t0_;
  const SystemTime later = t0 + 2 * this->hour_;
  ASSERT_TRUE(this->Revoke("t1", "a", t0 + this->hour_, t0, 2));
  ASSERT_TRUE(this->Revoke("t1", "b", later, t0, 2));
  Status refused = this->Revoke("t1", "c", later, t0, 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(refused.error().api_code, "resource_limit_exceeded");
  EXPECT_NE(refused.error().message.find("--max-revocations-per-tenant"), std::string::npos);
  // Re-revoking a held jti at the limit is not one more; another tenant has its own.
  EXPECT_TRUE(this->Revoke("t1", "a", later, t0, 2));
  EXPECT_TRUE(this->Revoke("t2", "c", later, t0, 2));
  EXPECT_EQ(this->ListedKeys(t0), (Keys{"t1/a", "t1/b", "t2/c"}));
  // Expired ones do not count: once "x" has expired, "c" fits.
  ASSERT_TRUE(this->Revoke("t1", "x", t0 + this->hour_, t0, 3));
  EXPECT_FALSE(this->Revoke("t1", "c", later, t0, 3));
  EXPECT_TRUE(this->Revoke("t1", "c", later, t0 + this->hour_, 3));
  EXPECT_EQ(this->ListedKeys(t0 + this->hour_), (Keys{"t1/a", "t1/b", "t1/c", "t2/c"}));
}

TYPED_TEST_P(RevocationStoreScenarios, TenantsAreApart) {
  const SystemTime t0 = this->t0_;
  ASSERT_TRUE(this->Revoke("t1", "same", t0 + this->hour_, t0));
  ASSERT_TRUE(this->Revoke("t2", "same", t0 + 2 * this->hour_, t0));
  const std::vector<TokenRevocation> listed = this->List(t0);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].tenant_id, "t1");
  EXPECT_EQ(listed[0].expires_at, t0 + this->hour_);
  EXPECT_EQ(listed[1].tenant_id, "t2");
  EXPECT_EQ(listed[1].expires_at, t0 + 2 * this->hour_);
}

REGISTER_TYPED_TEST_SUITE_P(RevocationStoreScenarios, RevokedTokensAreListedWithTheirRecord,
                            RevokingAgainKeepsTheLaterExpiryAndTheFirstRecord,
                            ExpiredRevocationsAreNotListedAndArePruned,
                            ATenantHoldsAtMostTheLimitOfLiveRevocations, TenantsAreApart);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_REVOCATION_STORE_SCENARIOS_HPP_
