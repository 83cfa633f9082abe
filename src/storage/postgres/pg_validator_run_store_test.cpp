// ValidatorRunStore on PostgreSQL: the backend-neutral scenarios of
// storage/validator_run_store_scenarios.hpp, then a duplicate run and
// concurrent deliveries of one callback through two replicas. Needs RTGW_TEST_PG_DSN
// (pg_test_support.hpp).
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

class PgValidatorRunStoreTest : public PgSchemaTest {
 protected:
  void SetUp() override {
    PgSchemaTest::SetUp();
    if (HasFatalFailure()) return;
    jobs_ = Open();
    ASSERT_TRUE(jobs_);
    runs_ = &jobs_->validator_runs();
  }
  void TearDown() override {
    if (jobs_) jobs_->Close();
    jobs_.reset();
    PgSchemaTest::TearDown();
  }
  ValidatorRunStoreScenarios Scenarios() { return ValidatorRunStoreScenarios(*runs_); }

  std::unique_ptr<PgDatabase> jobs_;
  ValidatorRunStore* runs_ = nullptr;
};

TEST_F(PgValidatorRunStoreTest, FirstCallbackAppliesRepeatIsReplay) {
  Scenarios().FirstCallbackAppliesRepeatIsReplay();
}

TEST_F(PgValidatorRunStoreTest, UnknownAndWrongRunAreUnknown) {
  Scenarios().UnknownAndWrongRunAreUnknown();
}

TEST_F(PgValidatorRunStoreTest, RerunSupersedesAnUnansweredExecution) {
  Scenarios().RerunSupersedesAnUnansweredExecution();
}

TEST_F(PgValidatorRunStoreTest, OtherTenantDoesNotSeeTheRun) {
  Scenarios().OtherTenantDoesNotSeeTheRun();
}

TEST_F(PgValidatorRunStoreTest, DueListsOverdueOpenAndUnsyncedTerminal) {
  Scenarios().DueListsOverdueOpenAndUnsyncedTerminal();
}

TEST_F(PgValidatorRunStoreTest, ADuplicateRunIsAConflict) {
  ASSERT_TRUE(CreateRunSync(*runs_, MakeRun("vr-1", "cb-1")).ok());
  auto dup = CreateRunSync(*runs_, MakeRun("vr-1", "cb-9"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().api_code, "run_conflict");
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM validator_executions"), 1);
}

// One callback delivered many times at once through two replicas: applied
// exactly once, every other delivery is a replay with the same receipt.
TEST_F(PgValidatorRunStoreTest, ConcurrentDeliveriesApplyOnce) {
  std::unique_ptr<PgDatabase> other = Open();
  ASSERT_TRUE(other);
  constexpr int kRuns = 5;
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(
        CreateRunSync(*runs_, MakeRun("vr-" + std::to_string(i), "cb-" + std::to_string(i))).ok());
  }
  std::atomic<int> applied{0};
  std::atomic<int> replays{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ValidatorRunStore* s = t % 2 ? &other->validator_runs() : runs_;
      for (int i = 0; i < kRuns; ++i) {
        auto a = MakeApply("vr-" + std::to_string(i), "cb-" + std::to_string(i));
        a.receipt_json = R"({"by":)" + std::to_string(t) + "}";
        auto r = ApplySync(*s, a);
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
