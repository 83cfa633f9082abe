// ValidatorRunStore on PostgreSQL: a duplicate run and concurrent deliveries
// of one callback through two replicas, on the fixture of
// storage/validator_run_store_scenarios.hpp (whose scenarios run from
// postgres_job_store_test.cpp). Needs RTGW_TEST_PG_DSN (pg_test_support.hpp).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_test_support.hpp"
#include "storage/validator_run_store_scenarios.hpp"

namespace rtgw::storage::postgres {
namespace {

using namespace test_support;

// The scenario fixture on PostgreSQL, for what only PostgreSQL shows.
using PgValidatorRunStoreTest = ValidatorRunStoreScenarios<PgTestDatabase>;
// Its scenarios are instantiated in rtgw_storage_postgres_test, not here.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ValidatorRunStoreScenarios);

TEST_F(PgValidatorRunStoreTest, ADuplicateRunIsAConflict) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto dup = Create(MakeRun("vr-1", "cb-9"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().api_code, "run_conflict");
  EXPECT_EQ(QueryInt("SELECT count(*) FROM validator_executions"), 1);
}

// One callback delivered many times at once through two replicas: applied
// exactly once, every other delivery is a replay with the same receipt.
TEST_F(PgValidatorRunStoreTest, ConcurrentDeliveriesApplyOnce) {
  std::unique_ptr<PgDatabase> other = backend_.Open();
  ASSERT_TRUE(other);
  constexpr int kRuns = 5;
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(Create(MakeRun("vr-" + std::to_string(i), "cb-" + std::to_string(i))).ok());
  }
  std::atomic<int> applied{0};
  std::atomic<int> replays{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ValidatorRunStore& s = t % 2 ? other->validator_runs() : ValidatorRuns();
      for (int i = 0; i < kRuns; ++i) {
        auto a = MakeApply("vr-" + std::to_string(i), "cb-" + std::to_string(i));
        a.receipt_json = R"({"by":)" + std::to_string(t) + "}";
        auto r = ApplySync(s, a);
        if (!r) {
          ++errors;
          continue;
        }
        if (r->disposition == CallbackDisposition::kApplied) ++applied;
        if (r->disposition == CallbackDisposition::kReplay) ++replays;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(applied.load(), kRuns);
  EXPECT_EQ(replays.load(), 8 * kRuns - kRuns);
  other->Close();
}

}  // namespace
}  // namespace rtgw::storage::postgres
