// NodeStore on PostgreSQL, what only replicas can show: two stores on one
// database (two rtgw processes) leasing and cancelling concurrently, on the
// fixture of storage/node_store_scenarios.hpp (whose scenarios run from
// postgres_job_store_test.cpp).
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

// The scenario fixture on PostgreSQL (its Submit, Acquire, Cancel and t0_),
// for what only replicas can show.
using PgNodeStoreTest = NodeStoreScenarios<PgTestDatabase>;
// Its scenarios are instantiated in rtgw_storage_postgres_test, not here.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NodeStoreScenarios);

TEST_F(PgNodeStoreTest, TheGatewayCancelWritesItsOutboxRowInTheSameTransaction) {
  Submit("t1", "fresh", "n1");
  ASSERT_TRUE(Cancel("t1", "fresh", t0_)->cancelled_now);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM projection_outbox WHERE job_id = 'fresh'"), 2);
  EXPECT_EQ(QueryInt("SELECT max(projection_version) FROM projection_outbox"
                     " WHERE job_id = 'fresh'"),
            2);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM job_cancels WHERE job_id = 'fresh'"), 1);
}

// Two stores on one schema are two replicas. Many concurrent lease calls for
// one node, spread over both: every submission is leased exactly once.
TEST_F(PgNodeStoreTest, TwoReplicasNeverLeaseOneJobTwice) {
  std::unique_ptr<PgDatabase> other = backend_.Open();
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
      NodeStore& s = (t % 2 == 0) ? Nodes() : other->nodes();
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
  EXPECT_EQ(QueryInt("SELECT count(*) FROM job_leases WHERE grants = 1"), kJobs);
  other->Close();
}

// Concurrent duplicate cancels of one never-leased job over both replicas:
// one gateway cancel event, one cancel request, one outbox row for it.
TEST_F(PgNodeStoreTest, ConcurrentDuplicateCancelsHaveOneEffect) {
  std::unique_ptr<PgDatabase> other = backend_.Open();
  ASSERT_TRUE(other);
  constexpr int kJobs = 10;
  for (int i = 0; i < kJobs; ++i) Submit("t1", "c-" + std::to_string(i), "n1");
  std::atomic<int> cancelled_now{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      NodeStore& s = (t % 2 == 0) ? Nodes() : other->nodes();
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
  EXPECT_EQ(QueryInt("SELECT count(*) FROM job_cancels"), kJobs);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM job_events WHERE event_id LIKE 'cancel:%'"), kJobs);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM projection_outbox"), 2 * kJobs);
  other->Close();
}

// A cancellation is "new" for exactly one of concurrent polls.
TEST_F(PgNodeStoreTest, ANewCancellationIsNewForOnePollOnly) {
  std::unique_ptr<PgDatabase> other = backend_.Open();
  ASSERT_TRUE(other);
  Submit("t1", "j1", "n1");
  ASSERT_EQ(Acquire("t1", "n1", t0_)->leases.size(), 1u);
  ASSERT_TRUE(Cancel("t1", "j1", t0_));
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto r = AcquireSync(t % 2 ? other->nodes() : Nodes(), "t1", "n1", t0_);
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
