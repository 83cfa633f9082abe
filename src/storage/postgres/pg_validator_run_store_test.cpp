// ValidatorRunStore on PostgreSQL: the SQLite store's scenarios
// (sqlite_validator_run_store_test.cpp), then concurrent deliveries of one
// callback through two replicas. Needs RTGW_TEST_PG_DSN (pg_test_support.hpp).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/postgres/pg_test_support.hpp"
#include "storage/postgres/postgres_job_store.hpp"

namespace rtgw::storage::postgres {
namespace {

using namespace test_support;

ValidatorRun MakeRun(const std::string& run_id, const std::string& callback_id) {
  ValidatorRun r;
  r.run_id = run_id;
  r.tenant_id = "tenant-a";
  r.workspace_id = "ws-1";
  r.validator = "json-rules";
  r.version = "1.0.0";
  r.launcher = "local";
  r.requested_by = "user-1";
  r.created_at = "2026-02-18T00:00:00Z";
  r.current.callback_id = callback_id;
  r.current.run_id = run_id;
  r.current.attempt = 1;
  r.current.job_id = run_id + "-1";
  r.current.submission_id = "sub-1";
  r.current.input_uri = "file:///media/x/input.json";
  r.current.trace_id = "trace-1";
  r.current.deadline_us = 1'000;
  r.current.created_at = r.created_at;
  return r;
}

CallbackApply MakeApply(const std::string& run_id, const std::string& callback_id) {
  CallbackApply a;
  a.run_id = run_id;
  a.callback_id = callback_id;
  a.status = kRunSucceeded;
  a.result_uri = "file:///media/x/result.json";
  a.findings_json = R"([{"path":"$.a","message":"missing"}])";
  a.receipt_json = R"({"receipt":")" + callback_id + R"("})";
  a.finished_at = "2026-02-18T00:00:05Z";
  return a;
}

class PgValidatorRunStoreTest : public PgSchemaTest {
 protected:
  void SetUp() override {
    PgSchemaTest::SetUp();
    if (HasFatalFailure()) return;
    jobs_ = OpenStore();
    ASSERT_TRUE(jobs_);
    runs_ = jobs_.get();
  }
  void TearDown() override {
    if (jobs_) jobs_->Close();
    jobs_.reset();
    PgSchemaTest::TearDown();
  }
  Status Create(ValidatorRun r) {
    return Await<Ok>([&](Callback<Ok> cb) { runs_->CreateRun(std::move(r), cb); });
  }
  Result<CallbackOutcome> Apply(CallbackApply a, ValidatorRunStore* on = nullptr) {
    ValidatorRunStore* s = on ? on : runs_;
    return Await<CallbackOutcome>(
        [&](Callback<CallbackOutcome> cb) { s->ApplyCallback(std::move(a), cb); });
  }
  Result<ValidatorRun> Get(std::optional<std::string> tenant, const std::string& id) {
    return Await<ValidatorRun>([&](Callback<ValidatorRun> cb) { runs_->GetRun(tenant, id, cb); });
  }
  Result<std::vector<ValidatorRun>> Due(std::int64_t now) {
    return Await<std::vector<ValidatorRun>>(
        [&](Callback<std::vector<ValidatorRun>> cb) { runs_->ListDue(now, 10, cb); });
  }

  std::unique_ptr<PostgresJobStore> jobs_;
  ValidatorRunStore* runs_ = nullptr;
};

TEST_F(PgValidatorRunStoreTest, FirstCallbackAppliesRepeatIsReplay) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto first = Apply(MakeApply("vr-1", "cb-1"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->disposition, CallbackDisposition::kApplied);
  auto again = MakeApply("vr-1", "cb-1");
  again.status = kRunFailed;  // a replay never changes what was applied
  again.receipt_json = "{}";
  auto second = Apply(again);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->disposition, CallbackDisposition::kReplay);
  EXPECT_EQ(second->receipt_json, first->receipt_json);
  auto run = Get("tenant-a", "vr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->current.status, kRunSucceeded);
  EXPECT_EQ(run->current.findings_json, MakeApply("vr-1", "cb-1").findings_json);
}

TEST_F(PgValidatorRunStoreTest, UnknownAndWrongRunAreUnknown) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto unknown = Apply(MakeApply("vr-1", "cb-nope"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->disposition, CallbackDisposition::kUnknown);
  auto wrong_run = Apply(MakeApply("vr-2", "cb-1"));
  ASSERT_TRUE(wrong_run.ok());
  EXPECT_EQ(wrong_run->disposition, CallbackDisposition::kUnknown);
}

TEST_F(PgValidatorRunStoreTest, RerunSupersedesAnUnansweredExecution) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  // Not finished yet: no rerun.
  ValidatorExecution next = MakeRun("vr-1", "cb-2").current;
  next.attempt = 2;
  next.job_id = "vr-1-2";
  auto early = Await<Ok>([&](Callback<Ok> cb) { runs_->AddExecution(next, cb); });
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().api_code, "run_not_finished");
  // The fallback poll fails it; a late callback is then refused.
  auto finished = Await<bool>([&](Callback<bool> cb) {
    runs_->FinishWithoutCallback("cb-1", kRunFailed, "no callback", "2026-02-18T00:01:00Z", cb);
  });
  ASSERT_TRUE(finished.ok());
  EXPECT_TRUE(*finished);
  auto late = Apply(MakeApply("vr-1", "cb-1"));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->disposition, CallbackDisposition::kFinished);
  ASSERT_TRUE(Await<Ok>([&](Callback<Ok> cb) { runs_->AddExecution(next, cb); }).ok());
  auto old = Apply(MakeApply("vr-1", "cb-1"));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->disposition, CallbackDisposition::kSuperseded);
  auto fresh = Apply(MakeApply("vr-1", "cb-2"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->disposition, CallbackDisposition::kApplied);
  auto run = Get(std::nullopt, "vr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->current.callback_id, "cb-2");
  EXPECT_EQ(run->current.attempt, 2);
}

TEST_F(PgValidatorRunStoreTest, OtherTenantDoesNotSeeTheRun) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto other = Get("tenant-b", "vr-1");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
}

TEST_F(PgValidatorRunStoreTest, DueListsOverdueOpenAndUnsyncedTerminal) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto before = Due(999);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto due = Due(1'000);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(Apply(MakeApply("vr-1", "cb-1")).ok());
  due = Due(0);  // terminal, event not yet synced: due whatever the deadline
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].current.status, kRunSucceeded);
  ASSERT_TRUE(Await<Ok>([&](Callback<Ok> cb) { runs_->MarkEventSynced("cb-1", cb); }).ok());
  due = Due(1'000'000);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
}

TEST_F(PgValidatorRunStoreTest, ADuplicateRunIsAConflict) {
  ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
  auto dup = Create(MakeRun("vr-1", "cb-9"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().api_code, "run_conflict");
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM validator_executions"), 1);
}

// One callback delivered many times at once through two replicas: applied
// exactly once, every other delivery is a replay with the same receipt.
TEST_F(PgValidatorRunStoreTest, ConcurrentDeliveriesApplyOnce) {
  std::unique_ptr<PostgresJobStore> other = OpenStore();
  ASSERT_TRUE(other);
  constexpr int kRuns = 5;
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(Create(MakeRun("vr-" + std::to_string(i), "cb-" + std::to_string(i))).ok());
  }
  std::atomic<int> applied{0};
  std::atomic<int> replays{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ValidatorRunStore* s = t % 2 ? static_cast<ValidatorRunStore*>(other.get()) : runs_;
      for (int i = 0; i < kRuns; ++i) {
        auto a = MakeApply("vr-" + std::to_string(i), "cb-" + std::to_string(i));
        a.receipt_json = R"({"by":)" + std::to_string(t) + "}";
        auto r = Apply(a, s);
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
