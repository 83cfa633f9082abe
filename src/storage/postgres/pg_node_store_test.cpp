// NodeStore on PostgreSQL: the backend-neutral scenarios of
// storage/node_store_scenarios.hpp, then what only replicas can show: two
// stores on one database (two rtgw processes) leasing and cancelling
// concurrently.
// Needs RTGW_TEST_PG_DSN (pg_test_support.hpp).
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "jobs/job_state.hpp"
#include "storage/node_store_scenarios.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_test_support.hpp"

namespace rtgw::storage::postgres {
namespace {

using jobs::JobState;
using std::chrono::seconds;
using namespace test_support;

class PgNodeStoreTest : public PgSchemaTest {
 protected:
  void SetUp() override {
    PgSchemaTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = Open();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    PgSchemaTest::TearDown();
  }

  void Submit(const std::string& tenant, const std::string& job_id, const std::string& node,
              const std::string& accepted_at = "2026-02-18T00:00:00.000001Z") {
    SubmitForNode(store_->jobs(), tenant, job_id, node, accepted_at);
  }
  Result<AcquireResult> Acquire(const std::string& tenant, const std::string& node, SystemTime now,
                                int max_jobs = 16, seconds lease = seconds(60)) {
    return AcquireSync(store_->nodes(), tenant, node, now, max_jobs, lease);
  }
  Result<CancelOutcome> Cancel(const std::string& tenant, const std::string& job_id,
                               SystemTime now) {
    return CancelSync(store_->nodes(), tenant, job_id, now);
  }
  NodeStoreScenarios Scenarios() { return {store_->jobs(), store_->nodes()}; }

  const SystemTime t0_ = SystemTime(seconds(1'800'000'000));
  std::unique_ptr<PgDatabase> store_;
};

TEST_F(PgNodeStoreTest, LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce) {
  Scenarios().LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce();
}

TEST_F(PgNodeStoreTest, AnExpiredLeaseReturnsTheWork) {
  Scenarios().AnExpiredLeaseReturnsTheWork();
}

TEST_F(PgNodeStoreTest, RenewRulesAndRelease) { Scenarios().RenewRulesAndRelease(); }

TEST_F(PgNodeStoreTest, CancelSemanticsPerState) { Scenarios().CancelSemanticsPerState(); }

TEST_F(PgNodeStoreTest, HeartbeatUpsertsAndLists) { Scenarios().HeartbeatUpsertsAndLists(); }

TEST_F(PgNodeStoreTest, FindSubmitReturnsTheStoredAnswer) {
  Scenarios().FindSubmitReturnsTheStoredAnswer();
}

TEST_F(PgNodeStoreTest, TheGatewayCancelWritesItsOutboxRowInTheSameTransaction) {
  Submit("t1", "fresh", "n1");
  ASSERT_TRUE(Cancel("t1", "fresh", t0_)->cancelled_now);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox WHERE job_id = 'fresh'"), 2);
  EXPECT_EQ(raw_->Int("SELECT max(projection_version) FROM projection_outbox"
                      " WHERE job_id = 'fresh'"),
            2);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_cancels WHERE job_id = 'fresh'"), 1);
}

// Two stores on one schema are two replicas. Many concurrent lease calls for
// one node, spread over both: every submission is leased exactly once.
TEST_F(PgNodeStoreTest, TwoReplicasNeverLeaseOneJobTwice) {
  std::unique_ptr<PgDatabase> other = Open();
  ASSERT_TRUE(other);
  constexpr int kJobs = 300;
  for (int i = 0; i < kJobs; ++i) {
    char at[64];
    std::snprintf(at, sizeof(at), "2026-02-18T00:00:00.%06dZ", i);
    Submit("t1", "job-" + std::to_string(i), "n1", at);
  }
  std::mutex mu;
  std::map<std::string, int> granted;  // job_id -> times
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      NodeStore& s = (t % 2 == 0) ? store_->nodes() : other->nodes();
      for (int round = 0; round < 30; ++round) {
        auto r = AcquireSync(s, "t1", "n1", t0_, 7, seconds(600));
        if (!r) {
          ++errors;
          continue;
        }
        std::lock_guard lock(mu);
        for (const Lease& l : r->leases) ++granted[l.job.job_id];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  // Whatever is left is leased by a final sweep (nothing may remain unleased).
  for (;;) {
    auto r = Acquire("t1", "n1", t0_, 256, seconds(600));
    ASSERT_TRUE(r) << r.error().message;
    if (r->leases.empty()) break;
    for (const Lease& l : r->leases) ++granted[l.job.job_id];
  }
  EXPECT_EQ(granted.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [job, times] : granted) EXPECT_EQ(times, 1) << job;
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_leases WHERE grants = 1"), kJobs);
  other->Close();
}

// Concurrent duplicate cancels of one never-leased job over both replicas:
// one gateway cancel event, one cancel request, one outbox row for it.
TEST_F(PgNodeStoreTest, ConcurrentDuplicateCancelsHaveOneEffect) {
  std::unique_ptr<PgDatabase> other = Open();
  ASSERT_TRUE(other);
  constexpr int kJobs = 10;
  for (int i = 0; i < kJobs; ++i) Submit("t1", "c-" + std::to_string(i), "n1");
  std::atomic<int> cancelled_now{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      NodeStore& s = (t % 2 == 0) ? store_->nodes() : other->nodes();
      for (int i = 0; i < kJobs; ++i) {
        auto r = CancelSync(s, "t1", "c-" + std::to_string(i), t0_);
        if (!r) {
          ++errors;
          continue;
        }
        if (r->cancelled_now) ++cancelled_now;
        EXPECT_EQ(r->state, JobState::kCancelled);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(cancelled_now.load(), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_cancels"), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_events WHERE event_id LIKE 'cancel:%'"), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), 2 * kJobs);
  other->Close();
}

// A cancellation is "new" for exactly one of concurrent polls.
TEST_F(PgNodeStoreTest, ANewCancellationIsNewForOnePollOnly) {
  std::unique_ptr<PgDatabase> other = Open();
  ASSERT_TRUE(other);
  Submit("t1", "j1", "n1");
  ASSERT_EQ(Acquire("t1", "n1", t0_)->leases.size(), 1u);
  ASSERT_TRUE(Cancel("t1", "j1", t0_));
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto r = AcquireSync(t % 2 ? other->nodes() : store_->nodes(), "t1", "n1", t0_);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->cancellations.size(), 1u);
      if (r->new_cancellations) ++fresh;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh.load(), 1);
  other->Close();
}

}  // namespace
}  // namespace rtgw::storage::postgres
