#ifndef RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_

// Test-only: the ValidatorRunStore scenarios every backend must pass the same
// way (callbacks applied once, replays, reruns, tenant scope, the due list).
// sqlite/sqlite_validator_run_store_test.cpp and
// postgres/pg_validator_run_store_test.cpp run each one against their store;
// reopening (SQLite) and replicas (PostgreSQL) stay in their own files.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage::test_support {

inline ValidatorRun MakeRun(const std::string& run_id, const std::string& callback_id) {
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

inline CallbackApply MakeApply(const std::string& run_id, const std::string& callback_id) {
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

inline Status CreateRunSync(ValidatorRunStore& runs, ValidatorRun r) {
  return Await<Ok>([&](Callback<Ok> cb) { runs.CreateRun(std::move(r), cb); });
}

inline Result<CallbackOutcome> ApplySync(ValidatorRunStore& runs, CallbackApply a) {
  return Await<CallbackOutcome>(
      [&](Callback<CallbackOutcome> cb) { runs.ApplyCallback(std::move(a), cb); });
}

class ValidatorRunStoreScenarios {
 public:
  explicit ValidatorRunStoreScenarios(ValidatorRunStore& runs) : runs_(runs) {}

  void FirstCallbackAppliesRepeatIsReplay() {
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

  void UnknownAndWrongRunAreUnknown() {
    ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
    auto unknown = Apply(MakeApply("vr-1", "cb-nope"));
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(unknown->disposition, CallbackDisposition::kUnknown);
    auto wrong_run = Apply(MakeApply("vr-2", "cb-1"));
    ASSERT_TRUE(wrong_run.ok());
    EXPECT_EQ(wrong_run->disposition, CallbackDisposition::kUnknown);
  }

  void RerunSupersedesAnUnansweredExecution() {
    ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
    // Not finished yet: no rerun.
    ValidatorExecution next = MakeRun("vr-1", "cb-2").current;
    next.attempt = 2;
    next.job_id = "vr-1-2";
    auto early = Await<Ok>([&](Callback<Ok> cb) { runs_.AddExecution(next, cb); });
    ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.error().api_code, "run_not_finished");
    // The fallback poll fails it; a late callback is then refused.
    auto finished = Await<bool>([&](Callback<bool> cb) {
      runs_.FinishWithoutCallback("cb-1", kRunFailed, "no callback", "2026-02-18T00:01:00Z", cb);
    });
    ASSERT_TRUE(finished.ok());
    EXPECT_TRUE(*finished);
    auto late = Apply(MakeApply("vr-1", "cb-1"));
    ASSERT_TRUE(late.ok());
    EXPECT_EQ(late->disposition, CallbackDisposition::kFinished);
    ASSERT_TRUE(Await<Ok>([&](Callback<Ok> cb) { runs_.AddExecution(next, cb); }).ok());
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

  void OtherTenantDoesNotSeeTheRun() {
    ASSERT_TRUE(Create(MakeRun("vr-1", "cb-1")).ok());
    auto other = Get("tenant-b", "vr-1");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  }

  void DueListsOverdueOpenAndUnsyncedTerminal() {
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
    ASSERT_TRUE(Await<Ok>([&](Callback<Ok> cb) { runs_.MarkEventSynced("cb-1", cb); }).ok());
    due = Due(1'000'000);
    ASSERT_TRUE(due.ok());
    EXPECT_TRUE(due->empty());
  }

 private:
  Status Create(ValidatorRun r) { return CreateRunSync(runs_, std::move(r)); }
  Result<CallbackOutcome> Apply(CallbackApply a) { return ApplySync(runs_, std::move(a)); }
  Result<ValidatorRun> Get(std::optional<std::string> tenant, const std::string& id) {
    return Await<ValidatorRun>([&](Callback<ValidatorRun> cb) { runs_.GetRun(tenant, id, cb); });
  }
  Result<std::vector<ValidatorRun>> Due(std::int64_t now) {
    return Await<std::vector<ValidatorRun>>(
        [&](Callback<std::vector<ValidatorRun>> cb) { runs_.ListDue(now, 10, cb); });
  }

  ValidatorRunStore& runs_;
};

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_
