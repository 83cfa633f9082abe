// NodeStore on SQLite: the backend-neutral scenarios of
// storage/node_store_scenarios.hpp (leases, expiry, renew, release, cancels,
// heartbeats), against a store on a fresh file.
#include <gtest/gtest.h>

#include "storage/node_store_scenarios.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::storage::sqlite {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): shared test helpers

class NodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(OptionsFor(dir_));
    ASSERT_TRUE(store_);
  }
  NodeStoreScenarios Scenarios() { return {store_->jobs(), store_->nodes()}; }

  TempDir dir_;
  std::unique_ptr<SqliteDatabase> store_;
};

TEST_F(NodeStoreTest, LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce) {
  Scenarios().LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce();
}
TEST_F(NodeStoreTest, AnExpiredLeaseReturnsTheWork) { Scenarios().AnExpiredLeaseReturnsTheWork(); }
TEST_F(NodeStoreTest, RenewRulesAndRelease) { Scenarios().RenewRulesAndRelease(); }
TEST_F(NodeStoreTest, CancelSemanticsPerState) { Scenarios().CancelSemanticsPerState(); }
TEST_F(NodeStoreTest, HeartbeatUpsertsAndLists) { Scenarios().HeartbeatUpsertsAndLists(); }
TEST_F(NodeStoreTest, FindSubmitReturnsTheStoredAnswer) {
  Scenarios().FindSubmitReturnsTheStoredAnswer();
}

}  // namespace
}  // namespace rtgw::storage::sqlite
