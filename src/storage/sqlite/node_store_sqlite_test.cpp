// NodeStore on SQLite: the backend-neutral scenarios of
// storage/node_store_scenarios.hpp (leases, expiry, renew, release, cancels,
// heartbeats), against a store on a fresh file.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "storage/node_store_scenarios.hpp"
#include "storage/sqlite/sqlite_job_store.hpp"

namespace rtgw::storage::sqlite {
namespace {

namespace fs = std::filesystem;

class NodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rtgw-nodes-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    SqliteOptions o;
    o.path = (dir_ / "rtgw.db").string();
    auto store = SqliteJobStore::Open(o, nullptr);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  test_support::NodeStoreScenarios Scenarios() { return {*store_, *store_}; }

  fs::path dir_;
  std::unique_ptr<SqliteJobStore> store_;
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
