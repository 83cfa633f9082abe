// ValidatorRunStore on SQLite: the backend-neutral scenarios of
// storage/validator_run_store_scenarios.hpp, then that applied callbacks
// survive closing and reopening the file.
#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"
#include "storage/validator_run_store_scenarios.hpp"

namespace rtgw::storage::sqlite {
namespace {

using namespace test_support;

class ValidatorRunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobs_ = OpenOrDie(OptionsFor(dir_));
    ASSERT_TRUE(jobs_);
    runs_ = &jobs_->validator_runs();
  }
  void TearDown() override {
    runs_ = nullptr;
    if (jobs_) jobs_->Close();
  }
  ValidatorRunStoreScenarios Scenarios() { return ValidatorRunStoreScenarios(*runs_); }

  TempDir dir_;
  std::unique_ptr<SqliteDatabase> jobs_;
  ValidatorRunStore* runs_ = nullptr;
};

TEST_F(ValidatorRunStoreTest, FirstCallbackAppliesRepeatIsReplay) {
  Scenarios().FirstCallbackAppliesRepeatIsReplay();
}
TEST_F(ValidatorRunStoreTest, UnknownAndWrongRunAreUnknown) {
  Scenarios().UnknownAndWrongRunAreUnknown();
}
TEST_F(ValidatorRunStoreTest, RerunSupersedesAnUnansweredExecution) {
  Scenarios().RerunSupersedesAnUnansweredExecution();
}
TEST_F(ValidatorRunStoreTest, OtherTenantDoesNotSeeTheRun) {
  Scenarios().OtherTenantDoesNotSeeTheRun();
}
TEST_F(ValidatorRunStoreTest, DueListsOverdueOpenAndUnsyncedTerminal) {
  Scenarios().DueListsOverdueOpenAndUnsyncedTerminal();
}

TEST_F(ValidatorRunStoreTest, SurvivesReopen) {
  ASSERT_TRUE(CreateRunSync(*runs_, MakeRun("vr-1", "cb-1")).ok());
  ASSERT_TRUE(ApplySync(*runs_, MakeApply("vr-1", "cb-1")).ok());
  runs_ = nullptr;
  jobs_->Close();
  jobs_ = OpenOrDie(OptionsFor(dir_));
  runs_ = &jobs_->validator_runs();
  auto replay = ApplySync(*runs_, MakeApply("vr-1", "cb-1"));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->disposition, CallbackDisposition::kReplay);
}

}  // namespace
}  // namespace rtgw::storage::sqlite
