#ifndef RTGW_STORAGE_OUTBOX_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_OUTBOX_STORE_SCENARIOS_HPP_

// Test-only: the OutboxStore scenarios every backend must pass the same way
// (one update per state change in the same commit, heads only, leases and
// their takeover, retries, dead letters and their replay, restarts). A typed
// gtest suite: sqlite/sqlite_job_store_test.cpp and
// postgres/postgres_job_store_test.cpp instantiate it with their Backend
// (store_test_support.hpp); the outbox
// switch (SQLite), the wake-up listener (SQLite) and claimers on two replicas
// (PostgreSQL) stay in their own files.

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/time_format.hpp"
#include "jobs/job_state.hpp"
#include "storage/outbox_store.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

inline Result<std::vector<OutboxItem>> ClaimSync(
    OutboxStore& s, const std::string& owner, int limit = 100,
    std::chrono::milliseconds lease = std::chrono::seconds(60)) {
  return Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { s.ClaimOutbox(owner, lease, limit, cb); });
}
inline Result<bool> CompleteSync(OutboxStore& s, const std::string& owner, std::int64_t id) {
  return Await<bool>([&](Callback<bool> cb) { s.CompleteOutbox(owner, id, cb); });
}
inline Result<bool> FailSync(OutboxStore& s, const std::string& owner, std::int64_t id, bool dead,
                             std::chrono::milliseconds retry_after = std::chrono::milliseconds(0)) {
  return Await<bool>(
      [&](Callback<bool> cb) { s.FailOutbox(owner, id, "sink said 500", retry_after, dead, cb); });
}
inline Result<OutboxStats> StatsSync(OutboxStore& s) {
  return Await<OutboxStats>([&](Callback<OutboxStats> cb) { s.GetOutboxStats(cb); });
}
inline Result<std::vector<OutboxItem>> DeadLettersSync(OutboxStore& s,
                                                       std::optional<std::string> tenant) {
  return Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { s.ListDeadLetters(tenant, 10, cb); });
}
inline Result<bool> ReplaySync(OutboxStore& s, std::optional<std::string> tenant, std::int64_t id) {
  return Await<bool>([&](Callback<bool> cb) { s.ReplayDeadLetter(tenant, id, cb); });
}

template <class Backend>
class OutboxStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  // The rows claimed (a failed claim fails the test and claims nothing).
  std::vector<OutboxItem> Claim(const std::string& owner, int limit = 100,
                                std::chrono::milliseconds lease = std::chrono::seconds(60)) {
    Result<std::vector<OutboxItem>> r = ClaimSync(this->Outbox(), owner, limit, lease);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<OutboxItem>{};
  }
  bool Complete(const std::string& owner, std::int64_t id) {
    Result<bool> r = CompleteSync(this->Outbox(), owner, id);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }
  bool Fail(const std::string& owner, std::int64_t id, bool dead,
            std::chrono::milliseconds retry_after = std::chrono::milliseconds(0)) {
    Result<bool> r = FailSync(this->Outbox(), owner, id, dead, retry_after);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }
  OutboxStats Stats() {
    Result<OutboxStats> r = StatsSync(this->Outbox());
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : OutboxStats{};
  }
};

TYPED_TEST_SUITE_P(OutboxStoreScenarios);

using jobs::JobState;
using std::chrono::milliseconds;

TYPED_TEST_P(OutboxStoreScenarios, EveryStateChangeWritesOneUpdateInTheSameCommit) {
  JobStore& jobs = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(jobs, job).ok());
  ASSERT_TRUE(SubmitSync(jobs, job).ok());  // replay: no second row
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(job, "e-run", JobState::kRunning)).ok());
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(job, "e-run", JobState::kRunning)).ok());    // replay
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(job, "e-queued", JobState::kQueued)).ok());  // late
  EventRecord done = MakeEvent(job, "e-done", JobState::kCompleted);
  done.result_ref_json = R"({"output_uri":"file:///out"})";
  ASSERT_TRUE(AppendSync(jobs, done).ok());
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(job, "e-fail", JobState::kFailed)).ok());  // terminal
  EXPECT_EQ(this->CountRows("projection_outbox"), 3);
  EXPECT_EQ(this->QueryInt("SELECT MAX(projection_version) FROM projection_outbox"), 3);

  // Only a head is claimable, so the updates leave one at a time in version
  // order; each payload is the job after its change (empty: not checked).
  const std::pair<std::int64_t, std::string> expected[] = {
      {1, R"({"tenant_id":"t1","workspace_id":"t1","job_id":"job-1","submission_id":"sub-job-1",)"
          R"("status":"queued","state":"submitted","projection_version":1,)"
          R"("occurred_at":"2026-02-18T00:00:00.000001Z","trace_id":"trace-job-1"})"},
      {2, ""},
      {3, R"({"tenant_id":"t1","workspace_id":"t1","job_id":"job-1","submission_id":"sub-job-1",)"
          R"("status":"finished","state":"completed","projection_version":3,)"
          R"("occurred_at":"2026-02-18T00:00:01Z","trace_id":"trace-e-done",)"
          R"("result_ref":{"output_uri":"file:///out"}})"}};
  for (const auto& [version, payload] : expected) {
    const std::string owner = version % 2 ? "relay-a" : "relay-b";  // any relay takes the next
    std::vector<OutboxItem> head = this->Claim(owner);
    ASSERT_EQ(head.size(), 1u) << "version " << version;
    EXPECT_EQ(head[0].projection_version, version);
    if (!payload.empty()) {
      EXPECT_EQ(head[0].payload_json, payload);
    }
    EXPECT_TRUE(ParseRfc3339(head[0].created_at).has_value()) << head[0].created_at;
    EXPECT_EQ(head[0].attempts, 0);
    EXPECT_TRUE(this->Claim("relay-c").empty()) << "a leased head is not claimable";
    EXPECT_TRUE(this->Complete(owner, head[0].id));
  }
  EXPECT_EQ(this->Stats().pending, 0);
  EXPECT_EQ(this->CountRows("projection_outbox"), 0) << "a delivered row is deleted";
}

TYPED_TEST_P(OutboxStoreScenarios, HeadsOfDifferentJobsAreClaimedTogetherOldestFirst) {
  for (int i = 0; i < 5; ++i) {
    SubmitRecord job = MakeSubmit("t1", "job-" + std::to_string(i), "key-" + std::to_string(i));
    ASSERT_TRUE(SubmitSync(this->Jobs(), job).ok());
    ASSERT_TRUE(AppendSync(this->Jobs(), MakeEvent(job, "e1", JobState::kRunning)).ok());
  }
  std::vector<OutboxItem> heads = this->Claim("relay", 3);
  ASSERT_EQ(heads.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(heads[i].job_id, "job-" + std::to_string(i));
    EXPECT_EQ(heads[i].projection_version, 1);
  }
  std::vector<OutboxItem> rest = this->Claim("relay", 100);
  ASSERT_EQ(rest.size(), 2u);  // the two other heads; no version 2 while 1 is leased
  for (const OutboxItem& item : rest) EXPECT_EQ(item.projection_version, 1);
}

TYPED_TEST_P(OutboxStoreScenarios, ClaimsHeadsOnlyAndNeverTwice) {
  JobStore& jobs = this->Jobs();
  // job-a: versions 1,2,3; job-b: version 1.
  SubmitRecord a = MakeSubmit("t1", "job-a", "ka");
  ASSERT_TRUE(SubmitSync(jobs, a).ok());
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(a, "a1", JobState::kQueued)).ok());
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(a, "a2", JobState::kRunning)).ok());
  ASSERT_TRUE(SubmitSync(jobs, MakeSubmit("t2", "job-b", "kb")).ok());

  std::vector<OutboxItem> first = this->Claim("relay-1", 10);
  ASSERT_EQ(first.size(), 2u);  // one head per job
  EXPECT_EQ(first[0].job_id, "job-a");
  EXPECT_EQ(first[0].projection_version, 1);
  EXPECT_EQ(first[1].job_id, "job-b");
  EXPECT_EQ(first[0].attempts, 0);
  EXPECT_EQ(first[0].created_at.size(), std::string("2026-02-18T00:00:00.000000Z").size());
  // Leased: nobody else gets them, and job-a's next version waits for its head.
  EXPECT_TRUE(this->Claim("relay-2", 10).empty());

  // relay-2 cannot complete relay-1's row.
  EXPECT_FALSE(this->Complete("relay-2", first[0].id));
  EXPECT_TRUE(this->Complete("relay-1", first[0].id));
  std::vector<OutboxItem> next = this->Claim("relay-2", 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job_id, "job-a");
  EXPECT_EQ(next[0].projection_version, 2);

  // Fail with retry: back later with attempts 1; fail dead: a dead letter that
  // blocks the job's later versions until replayed.
  EXPECT_TRUE(this->Fail("relay-2", next[0].id, /*dead=*/false));
  std::vector<OutboxItem> retried = this->Claim("relay-3", 10);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 1);
  EXPECT_EQ(retried[0].last_error.value_or(""), "sink said 500");
  EXPECT_TRUE(this->Fail("relay-3", retried[0].id, /*dead=*/true));
  EXPECT_TRUE(this->Claim("relay-3", 10).empty());

  OutboxStats stats = this->Stats();
  EXPECT_EQ(stats.dead, 1);
  EXPECT_EQ(stats.pending, 2);  // job-a v3 (blocked) and job-b v1 (leased)
  EXPECT_EQ(stats.leased, 1);
  EXPECT_GT(stats.oldest_pending_age_seconds, 0.0);

  Result<std::vector<OutboxItem>> dead = DeadLettersSync(this->Outbox(), std::nullopt);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_TRUE((*dead)[0].dead_at.has_value());
  Result<std::vector<OutboxItem>> other_tenant = DeadLettersSync(this->Outbox(), "t2");
  ASSERT_TRUE(other_tenant.ok());
  EXPECT_TRUE(other_tenant->empty());
  EXPECT_FALSE(*ReplaySync(this->Outbox(), "t2", (*dead)[0].id));
  EXPECT_TRUE(*ReplaySync(this->Outbox(), "t1", (*dead)[0].id));
  std::vector<OutboxItem> replayed = this->Claim("relay-4", 10);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].projection_version, 2);
  EXPECT_EQ(replayed[0].attempts, 0);
}

TYPED_TEST_P(OutboxStoreScenarios, ExpiredLeaseIsTakenOverAndTheOldOwnerLosesIt) {
  ASSERT_TRUE(SubmitSync(this->Jobs(), MakeSubmit("t1", "job-1", "key-1")).ok());
  std::vector<OutboxItem> a = this->Claim("relay-a", 10, milliseconds(1));
  ASSERT_EQ(a.size(), 1u);
  std::this_thread::sleep_for(milliseconds(5));
  std::vector<OutboxItem> b = this->Claim("relay-b", 10);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, a[0].id);
  EXPECT_FALSE(this->Complete("relay-a", a[0].id)) << "relay-a lost its lease";
  EXPECT_FALSE(this->Fail("relay-a", a[0].id, /*dead=*/false));
  EXPECT_TRUE(this->Complete("relay-b", b[0].id));
}

TYPED_TEST_P(OutboxStoreScenarios, FailureBacksOffAndDeadLetterBlocksItsJobUntilReplayed) {
  JobStore& jobs = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(jobs, job).ok());
  ASSERT_TRUE(AppendSync(jobs, MakeEvent(job, "e1", JobState::kRunning)).ok());
  SubmitRecord other = MakeSubmit("t2", "job-9", "key-9");
  ASSERT_TRUE(SubmitSync(jobs, other).ok());

  std::vector<OutboxItem> heads = this->Claim("relay");
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_TRUE(this->Fail("relay", heads[0].id, /*dead=*/false, milliseconds(60'000)));
  EXPECT_TRUE(this->Complete("relay", heads[1].id));
  EXPECT_TRUE(this->Claim("relay").empty()) << "backing off, and version 2 waits behind it";

  ASSERT_TRUE(AppendSync(jobs, MakeEvent(other, "e9", JobState::kRunning)).ok());
  std::vector<OutboxItem> other_head = this->Claim("relay");
  ASSERT_EQ(other_head.size(), 1u);
  EXPECT_TRUE(this->Fail("relay", other_head[0].id, /*dead=*/true));

  // Dead: attempts counted, last error kept.
  Result<std::vector<OutboxItem>> dead = DeadLettersSync(this->Outbox(), std::nullopt);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].tenant_id, "t2");
  EXPECT_EQ((*dead)[0].attempts, 1);
  EXPECT_EQ((*dead)[0].last_error, "sink said 500");
  EXPECT_TRUE((*dead)[0].dead_at.has_value());
  OutboxStats stats = this->Stats();
  EXPECT_EQ(stats.dead, 1);
  EXPECT_EQ(stats.pending, 2);  // job-1 v1 (backing off) and v2 (blocked)
  EXPECT_GT(stats.oldest_pending_age_seconds, 0.0);

  // Tenant scoping: t1 cannot replay t2's dead letter.
  Result<bool> wrong = ReplaySync(this->Outbox(), "t1", (*dead)[0].id);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(*wrong);
  Result<bool> replay = ReplaySync(this->Outbox(), "t2", (*dead)[0].id);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(*replay);
  std::vector<OutboxItem> again = this->Claim("relay");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, (*dead)[0].id);
  EXPECT_EQ(again[0].attempts, 0);
}

TYPED_TEST_P(OutboxStoreScenarios, UndeliveredRowsSurviveARestart) {
  ASSERT_TRUE(SubmitSync(this->Jobs(), MakeSubmit("t1", "job-1", "key-1")).ok());
  this->Reopen();
  EXPECT_EQ(this->Claim("relay").size(), 1u);
}

REGISTER_TYPED_TEST_SUITE_P(OutboxStoreScenarios, EveryStateChangeWritesOneUpdateInTheSameCommit,
                            HeadsOfDifferentJobsAreClaimedTogetherOldestFirst,
                            ClaimsHeadsOnlyAndNeverTwice,
                            ExpiredLeaseIsTakenOverAndTheOldOwnerLosesIt,
                            FailureBacksOffAndDeadLetterBlocksItsJobUntilReplayed,
                            UndeliveredRowsSurviveARestart);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_OUTBOX_STORE_SCENARIOS_HPP_
