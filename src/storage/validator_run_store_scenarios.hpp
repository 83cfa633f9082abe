#ifndef RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_

// Test-only: the ValidatorRunStore scenarios every backend must pass the same
// way (callbacks applied once, replays, reruns, tenant scope, the due list,
// a reopen, the run list's order, paging, filters and tenant scope). A typed gtest suite on
// StoreScenarioTest (store_test_support.hpp): sqlite/sqlite_job_store_test.cpp and
// postgres/postgres_job_store_test.cpp instantiate it with their Backend; replicas (PostgreSQL)
// stay in their own file.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "storage/store_test_support.hpp"
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
  return Await<Ok>([&](Callback<Ok> cb) { runs.CreateRun(std::move(r), std::move(cb)); });
}

inline Result<CallbackOutcome> ApplySync(ValidatorRunStore& runs, CallbackApply a) {
  return Await<CallbackOutcome>(
      [&](Callback<CallbackOutcome> cb) { runs.ApplyCallback(std::move(a), std::move(cb)); });
}

// The fixture: StoreScenarioTest (store_test_support.hpp) on a Backend, with
// the calls the scenarios repeat, bound to its validator-run store.
template <class Backend>
class ValidatorRunStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  Status Create(ValidatorRun r) { return CreateRunSync(this->ValidatorRuns(), std::move(r)); }
  Result<CallbackOutcome> Apply(CallbackApply a) {
    return ApplySync(this->ValidatorRuns(), std::move(a));
  }
  Result<ValidatorRun> Get(std::optional<std::string> tenant, const std::string& id) {
    return Await<ValidatorRun>(
        [&](Callback<ValidatorRun> cb) { this->ValidatorRuns().GetRun(tenant, id, cb); });
  }
  Status AddExecution(const ValidatorExecution& next) {
    return Await<Ok>([&](Callback<Ok> cb) { this->ValidatorRuns().AddExecution(next, cb); });
  }
  // Applies `a` and checks what the store made of it.
  void ExpectDisposition(CallbackApply a, CallbackDisposition want) {
    auto out = Apply(std::move(a));
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_EQ(out->disposition, want);
  }
  Result<RunPage> List(RunListQuery q) {
    return Await<RunPage>(
        [&](Callback<RunPage> cb) { this->ValidatorRuns().ListRuns(std::move(q), cb); });
  }
  // Every page of `q` from the first, `limit` runs at a time: the run ids in order.
  std::vector<std::string> ListAll(RunListQuery q, int limit) {
    std::vector<std::string> ids;
    q.limit = limit;
    for (int page = 0; page < 100; ++page) {
      auto got = List(q);
      EXPECT_TRUE(got.ok()) << got.error().message;
      if (!got.ok()) break;
      EXPECT_LE(got->runs.size(), static_cast<std::size_t>(limit));
      for (const ValidatorRun& r : got->runs) ids.push_back(r.run_id);
      if (!got->more) break;
      EXPECT_FALSE(got->runs.empty());
      q.after = RunListQuery::Key{got->runs.back().created_at, got->runs.back().run_id};
    }
    return ids;
  }
  Result<std::vector<ValidatorRun>> Due(std::int64_t now, std::optional<DueKey> after = {},
                                        int limit = 10) {
    return Await<std::vector<ValidatorRun>>([&](Callback<std::vector<ValidatorRun>> cb) {
      this->ValidatorRuns().ListDue(now, std::move(after), limit, cb);
    });
  }
};

TYPED_TEST_SUITE_P(ValidatorRunStoreScenarios);

TYPED_TEST_P(ValidatorRunStoreScenarios, FirstCallbackAppliesRepeatIsReplay) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  auto first = this->Apply(MakeApply("vr-1", "cb-1"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->disposition, CallbackDisposition::kApplied);
  auto again = MakeApply("vr-1", "cb-1");
  again.status = kRunFailed;  // a replay never changes what was applied
  again.receipt_json = "{}";
  auto second = this->Apply(again);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->disposition, CallbackDisposition::kReplay);
  EXPECT_EQ(second->receipt_json, first->receipt_json);
  auto run = this->Get("tenant-a", "vr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->current.status, kRunSucceeded);
  EXPECT_EQ(run->current.findings_json, MakeApply("vr-1", "cb-1").findings_json);
}

TYPED_TEST_P(ValidatorRunStoreScenarios, UnknownAndWrongRunAreUnknown) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  this->ExpectDisposition(MakeApply("vr-1", "cb-nope"), CallbackDisposition::kUnknown);
  this->ExpectDisposition(MakeApply("vr-2", "cb-1"), CallbackDisposition::kUnknown);
}

TYPED_TEST_P(ValidatorRunStoreScenarios, RerunSupersedesAnUnansweredExecution) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  // Not finished yet: no rerun.
  ValidatorExecution next = MakeRun("vr-1", "cb-2").current;
  next.attempt = 2;
  next.job_id = "vr-1-2";
  auto early = this->AddExecution(next);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().api_code, "run_not_finished");
  // The fallback poll fails it; a late callback is then refused.
  auto finished = Await<bool>([&](Callback<bool> cb) {
    this->ValidatorRuns().FinishWithoutCallback("cb-1", kRunFailed, "no callback",
                                                "2026-02-18T00:01:00Z", cb);
  });
  ASSERT_TRUE(finished.ok());
  EXPECT_TRUE(*finished);
  this->ExpectDisposition(MakeApply("vr-1", "cb-1"), CallbackDisposition::kFinished);
  ASSERT_TRUE(this->AddExecution(next).ok());
  this->ExpectDisposition(MakeApply("vr-1", "cb-1"), CallbackDisposition::kSuperseded);
  this->ExpectDisposition(MakeApply("vr-1", "cb-2"), CallbackDisposition::kApplied);
  auto run = this->Get(std::nullopt, "vr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->current.callback_id, "cb-2");
  EXPECT_EQ(run->current.attempt, 2);
}

TYPED_TEST_P(ValidatorRunStoreScenarios, OtherTenantDoesNotSeeTheRun) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  auto other = this->Get("tenant-b", "vr-1");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
}

TYPED_TEST_P(ValidatorRunStoreScenarios, DueListsOverdueOpenAndUnsyncedTerminal) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  auto before = this->Due(999);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto due = this->Due(1'000);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(this->Apply(MakeApply("vr-1", "cb-1")).ok());
  due = this->Due(0);  // terminal, event not yet synced: due whatever the deadline
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].current.status, kRunSucceeded);
  ASSERT_TRUE(
      Await<Ok>([&](Callback<Ok> cb) { this->ValidatorRuns().MarkEventSynced("cb-1", cb); }).ok());
  due = this->Due(1'000'000);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
}

// More due executions than one call lists: a keyset walk in (deadline,
// callback_id) order sees each exactly once, ties in the deadline included.
TYPED_TEST_P(ValidatorRunStoreScenarios, DueWalksOnAfterTheLastKey) {
  std::vector<std::string> want;  // callback ids in DueKey order
  for (int i = 0; i < 25; ++i) {
    const std::string n = std::to_string(100 + i);
    ValidatorRun r = MakeRun("vr-" + n, "cb-" + n);
    r.current.deadline_us = 1'000 + (24 - i) / 3;  // later runs first, three per deadline
    ASSERT_TRUE(this->Create(r).ok());
  }
  for (int d = 0; d <= 8; ++d) {
    for (int i = 0; i < 25; ++i) {
      if ((24 - i) / 3 == d) want.push_back("cb-" + std::to_string(100 + i));
    }
  }
  std::vector<std::string> seen;
  std::optional<DueKey> after;
  for (int pass = 0; pass < 5; ++pass) {
    auto due = this->Due(2'000, after, 10);
    ASSERT_TRUE(due.ok()) << due.error().message;
    for (const ValidatorRun& r : *due) seen.push_back(r.current.callback_id);
    if (due->size() < 10) break;
    after = DueKey{due->back().current.deadline_us, due->back().current.callback_id};
  }
  EXPECT_EQ(seen, want);
  auto first = this->Due(2'000, std::nullopt, 10);  // from the start again
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 10u);
  EXPECT_EQ((*first)[0].current.callback_id, want[0]);
}

// Applied callbacks survive closing and reopening the database.
TYPED_TEST_P(ValidatorRunStoreScenarios, SurvivesReopen) {
  ASSERT_TRUE(this->Create(MakeRun("vr-1", "cb-1")).ok());
  ASSERT_TRUE(this->Apply(MakeApply("vr-1", "cb-1")).ok());
  this->Reopen();
  this->ExpectDisposition(MakeApply("vr-1", "cb-1"), CallbackDisposition::kReplay);
}

// The list: newest first (created_at, then run_id, both descending), a keyset
// walk sees every run exactly once whatever the page size, ties in created_at
// included, and each run comes with its current execution as GetRun has it.
TYPED_TEST_P(ValidatorRunStoreScenarios, ListPagesNewestFirstEachOnce) {
  std::vector<std::pair<std::string, std::string>> keys;  // (created_at, run_id)
  for (int i = 0; i < 23; ++i) {
    const std::string n = std::to_string(100 + i);
    ValidatorRun r = MakeRun("vr-" + n, "cb-" + n);
    // Up to three runs per second, created out of order.
    r.created_at = "2026-02-18T00:00:0" + std::to_string((i * 7) % 23 / 3) + ".000000Z";
    keys.emplace_back(r.created_at, r.run_id);
    ASSERT_TRUE(this->Create(r).ok());
  }
  std::sort(keys.rbegin(), keys.rend());
  std::vector<std::string> want;  // run ids, newest first
  for (const auto& k : keys) want.push_back(k.second);
  RunListQuery q;
  q.tenant_id = "tenant-a";
  for (int limit : {1, 4, 10, 23, 500}) {
    EXPECT_EQ(this->ListAll(q, limit), want) << "limit " << limit;
  }
  q.limit = 23;
  auto all = this->List(q);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_FALSE(all->more);
  auto one = this->Get("tenant-a", all->runs[5].run_id);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(all->runs[5].current.callback_id, one->current.callback_id);
  EXPECT_EQ(all->runs[5].validator, one->validator);
  EXPECT_EQ(all->runs[5].current.input_uri, one->current.input_uri);
}

// The status filter follows the current execution through every write that
// changes it (launch, callback, fallback poll, rerun); the validator filter
// alone and with statuses.
TYPED_TEST_P(ValidatorRunStoreScenarios, ListFiltersByCurrentStatusAndValidator) {
  auto& runs = this->ValidatorRuns();
  for (int i = 0; i < 6; ++i) {
    ValidatorRun r = MakeRun("vr-" + std::to_string(i), "cb-" + std::to_string(i));
    r.created_at = "2026-02-18T00:00:0" + std::to_string(i) + ".000000Z";
    if (i % 2 == 1) r.validator = "energyplus";
    ASSERT_TRUE(this->Create(r).ok());
  }
  auto launched = [&](const std::string& cb) {
    return Await<bool>([&](Callback<bool> done) {
      runs.MarkLaunched(cb, "local/1", kRunRunning, std::move(done));
    });
  };
  auto finished = [&](const std::string& cb) {
    return Await<bool>([&](Callback<bool> done) {
      runs.FinishWithoutCallback(cb, kRunFailed, "no callback", "2026-02-18T00:01:00Z",
                                 std::move(done));
    });
  };
  // vr-0 PENDING; vr-1, vr-2 RUNNING; vr-3 SUCCEEDED (callback); vr-4 FAILED (poll);
  // vr-5 FAILED, then rerun: PENDING again.
  for (const char* cb : {"cb-1", "cb-2", "cb-3", "cb-4", "cb-5"}) ASSERT_TRUE(*launched(cb));
  this->ExpectDisposition(MakeApply("vr-3", "cb-3"), CallbackDisposition::kApplied);
  ASSERT_TRUE(*finished("cb-4"));
  ASSERT_TRUE(*finished("cb-5"));
  ValidatorExecution next = MakeRun("vr-5", "cb-5b").current;
  next.attempt = 2;
  next.job_id = "vr-5-2";
  ASSERT_TRUE(this->AddExecution(next).ok());
  // A refused change (already terminal) leaves the list's status alone.
  ASSERT_FALSE(*launched("cb-4"));

  auto ids = [&](std::vector<std::string> statuses, std::optional<std::string> validator) {
    RunListQuery q;
    q.tenant_id = "tenant-a";
    q.statuses = std::move(statuses);
    q.validator = std::move(validator);
    return this->ListAll(q, 2);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}, std::nullopt), (V{"vr-5", "vr-4", "vr-3", "vr-2", "vr-1", "vr-0"}));
  EXPECT_EQ(ids({kRunPending}, std::nullopt), (V{"vr-5", "vr-0"}));
  EXPECT_EQ(ids({kRunRunning}, std::nullopt), (V{"vr-2", "vr-1"}));
  EXPECT_EQ(ids({kRunFailed}, std::nullopt), (V{"vr-4"}));
  EXPECT_EQ(ids({kRunSucceeded, kRunFailed}, std::nullopt), (V{"vr-4", "vr-3"}));
  EXPECT_EQ(ids({kRunCancelled}, std::nullopt), V{});
  EXPECT_EQ(ids({}, "energyplus"), (V{"vr-5", "vr-3", "vr-1"}));
  EXPECT_EQ(ids({kRunPending, kRunRunning}, "json-rules"), (V{"vr-2", "vr-0"}));
  EXPECT_EQ(ids({}, "nope"), V{});
  RunListQuery q;
  q.tenant_id = "tenant-a";
  q.statuses = {kRunPending};
  auto page = this->List(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->runs.size(), 2u);
  EXPECT_EQ(page->runs[0].current.callback_id, "cb-5b");  // the current execution
  EXPECT_EQ(page->runs[0].current.attempt, 2);
}

TYPED_TEST_P(ValidatorRunStoreScenarios, ListShowsOnlyTheTenantsRuns) {
  ValidatorRun other = MakeRun("vr-b", "cb-b");
  other.tenant_id = "tenant-b";
  ASSERT_TRUE(this->Create(MakeRun("vr-a", "cb-a")).ok());
  ASSERT_TRUE(this->Create(other).ok());
  RunListQuery q;
  q.tenant_id = "tenant-b";
  EXPECT_EQ(this->ListAll(q, 10), std::vector<std::string>{"vr-b"});
  q.tenant_id = "tenant-c";
  EXPECT_TRUE(this->ListAll(q, 10).empty());
}

REGISTER_TYPED_TEST_SUITE_P(ValidatorRunStoreScenarios, FirstCallbackAppliesRepeatIsReplay,
                            UnknownAndWrongRunAreUnknown, RerunSupersedesAnUnansweredExecution,
                            OtherTenantDoesNotSeeTheRun, DueListsOverdueOpenAndUnsyncedTerminal,
                            DueWalksOnAfterTheLastKey, SurvivesReopen, ListPagesNewestFirstEachOnce,
                            ListFiltersByCurrentStatusAndValidator, ListShowsOnlyTheTenantsRuns);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_VALIDATOR_RUN_STORE_SCENARIOS_HPP_
