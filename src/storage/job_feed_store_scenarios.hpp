#ifndef RTGW_STORAGE_JOB_FEED_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_JOB_FEED_STORE_SCENARIOS_HPP_

// Test-only: the JobFeedStore scenarios every backend must pass the same way
// (list filters, keyset paging under concurrent submits, several states
// merged, tenant isolation, the change feed gap-free and ordered, head and
// pruned_through, retention, the change listener). A typed gtest suite on
// StoreScenarioTest (store_test_support.hpp): sqlite/sqlite_job_store_test.cpp
// and postgres/postgres_job_store_test.cpp instantiate it with their Backend;
// what only one backend can show (rolled-back writes inside a batch,
// replicas, a lost LISTEN connection) stays in its own file.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_feed_store.hpp"
#include "storage/job_store.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

// "2026-03-01T00:00:00.000NNNZ": accepted_at text for the n-th job, in order.
inline std::string AcceptedAt(int n) {
  std::string digits = std::to_string(n);
  return "2026-03-01T00:00:00." + std::string(6 - digits.size(), '0') + digits + "Z";
}

// Records the tenants a change listener was called with; waits for one.
class ListenerProbe {
 public:
  std::function<void(const std::string&)> Listener() {
    return [this](const std::string& tenant) {
      std::lock_guard lock(mu_);
      ++calls_[tenant];
      cv_.notify_all();
    };
  }
  bool WaitFor(const std::string& tenant, int calls = 1,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_[tenant] >= calls; });
  }
  int Calls(const std::string& tenant) {
    std::lock_guard lock(mu_);
    return calls_[tenant];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;  // GUARDED_BY(mu_)
};

template <class Backend>
class JobFeedStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  JobFeedStore& Feed() { return this->store_->feed(); }

  // Job `n` of `tenant`: accepted at AcceptedAt(n), in workspace `ws`, for
  // node `node`, requested by `user`.
  SubmitRecord Job(const std::string& tenant, int n, const std::string& ws = "ws-a",
                   const std::string& node = "node-1", const std::string& user = "alice") {
    const std::string id = "job-" + std::to_string(n);
    SubmitRecord r = MakeSubmit(tenant, id, "key-" + id);
    r.workspace_id = ws;
    r.management_node_id = node;
    r.requested_by = user;
    r.accepted_at = AcceptedAt(n);
    return r;
  }
  void Submit(const SubmitRecord& r) {
    Result<SubmitOutcome> out = SubmitSync(this->Jobs(), r);
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_FALSE(out->replayed);
  }
  void Event(const SubmitRecord& job, jobs::JobState state,
             const std::string& received_at = "2026-03-02T00:00:00.000000Z") {
    EventRecord e = MakeEvent(job, job.job_id + ":" + std::string(jobs::ToString(state)), state);
    e.received_at = received_at;
    Result<EventOutcome> out = AppendSync(this->Jobs(), e);
    ASSERT_TRUE(out) << out.error().message;
  }
  Result<JobPage> List(JobListQuery q) {
    return Await<JobPage>([&](Callback<JobPage> cb) { Feed().ListJobs(q, cb); });
  }
  // The job ids of one page of `q`.
  std::vector<std::string> Ids(JobListQuery q) {
    Result<JobPage> page = List(std::move(q));
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    if (!page) return ids;
    for (const JobRecord& j : page->jobs) ids.push_back(j.job_id);
    return ids;
  }
  // Every job of `q`, page by page of `limit`; `between` runs after each page.
  template <class Between>
  std::vector<std::string> AllPages(JobListQuery q, int limit, Between between) {
    q.limit = limit;
    std::vector<std::string> ids;
    for (int guard = 0; guard < 1000; ++guard) {
      Result<JobPage> page = List(q);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      EXPECT_LE(page->jobs.size(), static_cast<std::size_t>(limit));
      for (const JobRecord& j : page->jobs) ids.push_back(j.job_id);
      if (!page->more) break;
      q.after = JobListQuery::Key{page->jobs.back().accepted_at, page->jobs.back().job_id};
      between();
    }
    return ids;
  }
  Result<ChangePage> Changes(const std::string& tenant, std::int64_t after, int limit = 1000) {
    return Await<ChangePage>(
        [&](Callback<ChangePage> cb) { Feed().ReadChanges(tenant, after, limit, cb); });
  }
  Result<std::int64_t> Prune(std::int64_t older_than_us, int max_rows) {
    return Await<std::int64_t>(
        [&](Callback<std::int64_t> cb) { Feed().PruneChanges(older_than_us, max_rows, cb); });
  }
  static JobListQuery Query(const std::string& tenant, int limit = 50) {
    JobListQuery q;
    q.tenant_id = tenant;
    q.limit = limit;
    return q;
  }
  static std::int64_t NowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

TYPED_TEST_SUITE_P(JobFeedStoreScenarios);

using jobs::JobState;
using Ids = std::vector<std::string>;

TYPED_TEST_P(JobFeedStoreScenarios, ListsNewestFirstWithEachFilterAndNothingOfOtherTenants) {
  this->Submit(this->Job("t1", 1, "ws-a", "node-1", "alice"));
  this->Submit(this->Job("t1", 2, "ws-b", "node-1", "bob"));
  this->Submit(this->Job("t1", 3, "ws-a", "node-2", "bob"));
  this->Submit(this->Job("t1", 4, "ws-b", "node-2", "alice"));
  this->Submit(this->Job("t2", 5, "ws-a", "node-1", "alice"));  // same values, other tenant

  EXPECT_EQ(this->Ids(this->Query("t1")), (Ids{"job-4", "job-3", "job-2", "job-1"}));
  EXPECT_EQ(this->Ids(this->Query("t2")), (Ids{"job-5"}));
  EXPECT_EQ(this->Ids(this->Query("nobody")), Ids{});

  JobListQuery ws = this->Query("t1");
  ws.workspace_id = "ws-a";
  EXPECT_EQ(this->Ids(ws), (Ids{"job-3", "job-1"}));
  JobListQuery node = this->Query("t1");
  node.management_node_id = "node-2";
  EXPECT_EQ(this->Ids(node), (Ids{"job-4", "job-3"}));
  JobListQuery user = this->Query("t1");
  user.requested_by = "bob";
  EXPECT_EQ(this->Ids(user), (Ids{"job-3", "job-2"}));
  JobListQuery both = this->Query("t1");
  both.workspace_id = "ws-b";
  both.requested_by = "alice";
  EXPECT_EQ(this->Ids(both), (Ids{"job-4"}));

  // The rows are the jobs as GET shows them.
  Result<JobPage> page = this->List(this->Query("t1", 1));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_TRUE(page->more);
  EXPECT_FALSE(page->head.has_value());  // not asked for
  Result<JobRecord> job = GetJobSync(this->Jobs(), "t1", "job-4");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(page->jobs[0].workspace_id, job->workspace_id);
  EXPECT_EQ(page->jobs[0].management_node_id, "node-2");
  EXPECT_EQ(page->jobs[0].accepted_at, AcceptedAt(4));
  EXPECT_EQ(page->jobs[0].spec_json, job->spec_json);
  EXPECT_EQ(page->jobs[0].projection_version, 1);
}

TYPED_TEST_P(JobFeedStoreScenarios, StatesAndUpdateTimesFilter) {
  std::vector<SubmitRecord> jobs;
  for (int n = 1; n <= 6; ++n) {
    jobs.push_back(this->Job("t1", n));
    this->Submit(jobs.back());
  }
  this->Event(jobs[0], JobState::kQueued, "2026-03-02T00:00:01.000000Z");
  this->Event(jobs[1], JobState::kRunning, "2026-03-02T00:00:02.000000Z");
  this->Event(jobs[2], JobState::kQueued, "2026-03-02T00:00:03.000000Z");
  this->Event(jobs[3], JobState::kCompleted, "2026-03-02T00:00:04.000000Z");
  this->Event(jobs[4], JobState::kRunning, "2026-03-02T00:00:05.000000Z");
  // job-6 stays submitted

  JobListQuery one = this->Query("t1");
  one.states = {JobState::kQueued};
  EXPECT_EQ(this->Ids(one), (Ids{"job-3", "job-1"}));
  // Several states: merged newest first, duplicates ignored, paged.
  JobListQuery several = this->Query("t1");
  several.states = {JobState::kRunning, JobState::kQueued, JobState::kRunning};
  EXPECT_EQ(this->Ids(several), (Ids{"job-5", "job-3", "job-2", "job-1"}));
  EXPECT_EQ(this->AllPages(several, 1, [] {}), (Ids{"job-5", "job-3", "job-2", "job-1"}));
  EXPECT_EQ(this->AllPages(several, 3, [] {}), (Ids{"job-5", "job-3", "job-2", "job-1"}));
  JobListQuery submitted = this->Query("t1");
  submitted.states = {JobState::kSubmitted, JobState::kCompleted};
  EXPECT_EQ(this->Ids(submitted), (Ids{"job-6", "job-4"}));

  JobListQuery after = this->Query("t1");
  after.updated_after = "2026-03-02T00:00:03.000000Z";  // strictly after
  EXPECT_EQ(this->Ids(after), (Ids{"job-5", "job-4"}));
  JobListQuery before = this->Query("t1");
  before.updated_before = "2026-03-02T00:00:03.000000Z";  // strictly before
  EXPECT_EQ(this->Ids(before), (Ids{"job-6", "job-2", "job-1"}));
  JobListQuery window = this->Query("t1");
  window.updated_after = "2026-03-02T00:00:01.000000Z";
  window.updated_before = "2026-03-02T00:00:05.000000Z";
  window.states = {JobState::kQueued, JobState::kRunning};
  EXPECT_EQ(this->Ids(window), (Ids{"job-3", "job-2"}));
}

TYPED_TEST_P(JobFeedStoreScenarios, KeysetPagesNeitherRepeatNorSkipWhileJobsArrive) {
  for (int n = 100; n < 130; ++n) this->Submit(this->Job("t1", n));
  // Same accepted_at for several jobs: job_id breaks the tie.
  for (const char* id : {"tie-a", "tie-b", "tie-c"}) {
    SubmitRecord r = this->Job("t1", 115);
    r.job_id = id;
    r.idempotency_key = std::string("key-") + id;
    this->Submit(r);
  }
  std::set<std::string> before;
  for (const std::string& id : this->AllPages(this->Query("t1"), 500, [] {})) before.insert(id);
  ASSERT_EQ(before.size(), 33u);

  // While a client pages (4 per page), newer and older jobs keep arriving.
  int next_new = 200;
  int next_old = 50;
  Ids paged = this->AllPages(this->Query("t1"), 4, [&] {
    this->Submit(this->Job("t1", next_new++));
    this->Submit(this->Job("t1", next_old++));
  });
  std::set<std::string> seen(paged.begin(), paged.end());
  EXPECT_EQ(seen.size(), paged.size()) << "a row repeated";
  for (const std::string& id : before) EXPECT_TRUE(seen.contains(id)) << id << " was skipped";
  // Pages are in the list order throughout.
  EXPECT_TRUE(std::is_sorted(paged.begin(), paged.end(), [&](const auto& a, const auto& b) {
    auto key = [](const std::string& id) {
      if (id.starts_with("tie-")) return std::make_pair(115, id);
      return std::make_pair(std::stoi(id.substr(4)), id);
    };
    return key(a) > key(b);
  }));
}

TYPED_TEST_P(JobFeedStoreScenarios, ChangesAreNumberedGapFreeInCommitOrderPerTenant) {
  Result<ChangePage> empty = this->Changes("t1", 0);
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->changes.empty());
  EXPECT_EQ(empty->head.last_seq, 0);
  EXPECT_EQ(empty->head.pruned_through, 0);

  SubmitRecord a = this->Job("t1", 1, "ws-a", "node-1", "alice");
  SubmitRecord b = this->Job("t1", 2, "ws-b", "node-2", "bob");
  this->Submit(a);
  this->Submit(this->Job("t2", 3));  // other tenant: its own numbering
  this->Submit(b);
  this->Event(a, JobState::kQueued);
  this->Event(a, JobState::kRunning);
  // Writes that change nothing add no change: a replayed submit, a replayed
  // event, a conflicting event, an event after the terminal state is not applied.
  ASSERT_TRUE(SubmitSync(this->Jobs(), a));
  EventRecord replay = MakeEvent(a, "job-1:running", JobState::kRunning);
  ASSERT_TRUE(AppendSync(this->Jobs(), replay));
  EventRecord conflict = MakeEvent(a, "job-1:running", JobState::kRunning, "other-fp");
  EXPECT_FALSE(AppendSync(this->Jobs(), conflict));
  this->Event(b, JobState::kCompleted);
  this->Event(b, JobState::kRunning);  // stored, not applied: b is terminal

  Result<ChangePage> page = this->Changes("t1", 0);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->changes.size(), 5u);
  EXPECT_EQ(page->head.last_seq, 5);
  EXPECT_EQ(page->head.pruned_through, 0);
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"job-1", 1}, {"job-2", 1}, {"job-1", 2}, {"job-1", 3}, {"job-2", 2}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ChangeRecord& c = page->changes[i];
    EXPECT_EQ(c.seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(c.tenant_id, "t1");
    EXPECT_EQ(c.job_id, expected[i].first) << i;
    EXPECT_EQ(c.projection_version, expected[i].second) << i;
    EXPECT_GT(c.created_us, 0);
    if (i > 0) {
      EXPECT_GE(c.created_us, page->changes[i - 1].created_us);
    }
  }
  const ChangeRecord& submit_b = page->changes[1];
  EXPECT_EQ(submit_b.workspace_id, "ws-b");
  EXPECT_EQ(submit_b.management_node_id, "node-2");
  EXPECT_EQ(submit_b.requested_by, "bob");
  EXPECT_NE(submit_b.payload_json.find(R"("state":"submitted")"), std::string::npos)
      << submit_b.payload_json;
  EXPECT_NE(submit_b.payload_json.find(R"("projection_version":1)"), std::string::npos);
  const ChangeRecord& running = page->changes[3];
  EXPECT_EQ(running.requested_by, "alice");  // an event's change names the job's values
  EXPECT_EQ(running.management_node_id, "node-1");
  EXPECT_NE(running.payload_json.find(R"("state":"running")"), std::string::npos)
      << running.payload_json;

  // The outbox row and the change carry the same ProjectionUpdate body.
  Result<std::vector<OutboxItem>> outbox = Await<std::vector<OutboxItem>>(
      [&](auto cb) { this->Outbox().ClaimOutbox("probe", std::chrono::seconds(60), 100, cb); });
  ASSERT_TRUE(outbox) << outbox.error().message;
  bool matched = false;
  for (const OutboxItem& item : *outbox) {
    if (item.tenant_id == "t1" && item.job_id == "job-2" && item.projection_version == 1) {
      EXPECT_EQ(item.payload_json, submit_b.payload_json);
      matched = true;
    }
  }
  EXPECT_TRUE(matched);

  // Paging through the feed; after the head there is nothing.
  Result<ChangePage> tail = this->Changes("t1", 3, 1);
  ASSERT_TRUE(tail) << tail.error().message;
  ASSERT_EQ(tail->changes.size(), 1u);
  EXPECT_EQ(tail->changes[0].seq, 4);
  Result<ChangePage> none = this->Changes("t1", 5);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->changes.empty());
  EXPECT_EQ(none->head.last_seq, 5);

  Result<ChangePage> other = this->Changes("t2", 0);
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_EQ(other->changes.size(), 1u);
  EXPECT_EQ(other->changes[0].seq, 1);
  EXPECT_EQ(other->changes[0].job_id, "job-3");
  EXPECT_EQ(other->head.last_seq, 1);

  // The numbering survives a restart.
  this->Reopen();
  this->Submit(this->Job("t1", 9));
  Result<ChangePage> after = this->Changes("t1", 5);
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->changes.size(), 1u);
  EXPECT_EQ(after->changes[0].seq, 6);
}

TYPED_TEST_P(JobFeedStoreScenarios, ConcurrentWritesGetEveryChangeOnceInSeqOrder) {
  constexpr int kThreads = 4;
  constexpr int kJobs = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kJobs; ++n) {
        SubmitRecord r = this->Job("t1", t * 1000 + n);
        EXPECT_TRUE(SubmitSync(this->Jobs(), r));
        EXPECT_TRUE(AppendSync(this->Jobs(), MakeEvent(r, r.job_id + ":q", JobState::kQueued)));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<ChangeRecord> all;
  std::int64_t after = 0;
  for (;;) {
    Result<ChangePage> page = this->Changes("t1", after, 7);
    ASSERT_TRUE(page) << page.error().message;
    if (page->changes.empty()) break;
    for (ChangeRecord& c : page->changes) all.push_back(std::move(c));
    after = all.back().seq;
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(2 * kThreads * kJobs));
  std::map<std::string, std::int64_t> version;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<std::int64_t>(i + 1));
    // Per job, versions come in order: 1 (submit) before 2 (queued).
    EXPECT_EQ(all[i].projection_version, ++version[all[i].job_id]) << all[i].job_id;
  }
}

TYPED_TEST_P(JobFeedStoreScenarios, ListWithHeadReadsTheHeadBeforeThePage) {
  this->Submit(this->Job("t1", 1));
  this->Submit(this->Job("t1", 2));
  JobListQuery q = this->Query("t1");
  q.with_head = true;
  Result<JobPage> page = this->List(q);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_TRUE(page->head.has_value());
  EXPECT_EQ(page->head->last_seq, 2);
  EXPECT_EQ(page->jobs.size(), 2u);
  q.tenant_id = "t-none";
  Result<JobPage> none = this->List(q);
  ASSERT_TRUE(none) << none.error().message;
  ASSERT_TRUE(none->head.has_value());
  EXPECT_EQ(none->head->last_seq, 0);
}

TYPED_TEST_P(JobFeedStoreScenarios, PruneDeletesTheOldestAndRaisesPrunedThrough) {
  for (int n = 1; n <= 5; ++n) this->Submit(this->Job("t1", n));
  this->Submit(this->Job("t2", 6));
  Result<std::int64_t> nothing = this->Prune(1, 100);  // nothing that old
  ASSERT_TRUE(nothing) << nothing.error().message;
  EXPECT_EQ(*nothing, 0);

  const std::int64_t later = this->NowUs() + 60'000'000;
  Result<std::int64_t> two = this->Prune(later, 2);
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(*two, 2);
  Result<ChangePage> page = this->Changes("t1", 0);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->head.pruned_through, 2);
  EXPECT_EQ(page->head.last_seq, 5);
  ASSERT_EQ(page->changes.size(), 3u);
  EXPECT_EQ(page->changes.front().seq, 3);

  Result<std::int64_t> rest = this->Prune(later, 100);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*rest, 4);
  Result<ChangePage> t1 = this->Changes("t1", 0);
  ASSERT_TRUE(t1) << t1.error().message;
  EXPECT_TRUE(t1->changes.empty());
  EXPECT_EQ(t1->head.pruned_through, 5);
  EXPECT_EQ(t1->head.last_seq, 5);
  Result<ChangePage> t2 = this->Changes("t2", 0);
  ASSERT_TRUE(t2) << t2.error().message;
  EXPECT_EQ(t2->head.pruned_through, 1);
  // New changes continue the numbering.
  this->Submit(this->Job("t1", 7));
  Result<ChangePage> next = this->Changes("t1", 5);
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_EQ(next->changes.size(), 1u);
  EXPECT_EQ(next->changes[0].seq, 6);
}

TYPED_TEST_P(JobFeedStoreScenarios, ListenerHearsEachCommittingTenant) {
  ListenerProbe probe;
  this->Feed().SetChangeListener(probe.Listener());
  const SubmitRecord a = this->Job("feed-listen-a", 1);
  this->Submit(a);
  EXPECT_TRUE(probe.WaitFor("feed-listen-a"));
  this->Submit(this->Job("feed-listen-b", 2));
  EXPECT_TRUE(probe.WaitFor("feed-listen-b"));
  this->Event(a, JobState::kQueued);
  EXPECT_TRUE(probe.WaitFor("feed-listen-a", 2));
  // Writes that change nothing are not announced.
  ASSERT_TRUE(SubmitSync(this->Jobs(), a));
  this->Submit(this->Job("feed-listen-b", 3));
  EXPECT_TRUE(probe.WaitFor("feed-listen-b", 2));
  EXPECT_EQ(probe.Calls("feed-listen-a"), 2);
  this->Feed().SetChangeListener(nullptr);
}

REGISTER_TYPED_TEST_SUITE_P(
    JobFeedStoreScenarios, ListsNewestFirstWithEachFilterAndNothingOfOtherTenants,
    StatesAndUpdateTimesFilter, KeysetPagesNeitherRepeatNorSkipWhileJobsArrive,
    ChangesAreNumberedGapFreeInCommitOrderPerTenant, ConcurrentWritesGetEveryChangeOnceInSeqOrder,
    ListWithHeadReadsTheHeadBeforeThePage, PruneDeletesTheOldestAndRaisesPrunedThrough,
    ListenerHearsEachCommittingTenant);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_JOB_FEED_STORE_SCENARIOS_HPP_
