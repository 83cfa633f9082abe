// NodeStore on PostgreSQL: the same scenarios as the SQLite store's
// (node_store_sqlite_test.cpp: leases, expiry, renew, release, cancels,
// heartbeats), then what only replicas can show: two stores on one database
// (two rtgw processes) leasing and cancelling concurrently.
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
#include "storage/postgres/pg_test_support.hpp"
#include "storage/postgres/postgres_job_store.hpp"

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
    store_ = OpenStore();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    PgSchemaTest::TearDown();
  }

  static void SubmitTo(PostgresJobStore& store, const std::string& tenant,
                       const std::string& job_id, const std::string& node,
                       const std::string& accepted_at) {
    SubmitRecord r;
    r.tenant_id = tenant;
    r.workspace_id = tenant;
    r.job_id = job_id;
    r.idempotency_key = "key-" + job_id;
    r.management_node_id = node;
    r.request_fingerprint = "fp";
    r.spec_json = R"({"execution_profile":{"queue_name":"default"}})";
    r.submission_id = "sub-" + job_id;
    r.accepted_at = accepted_at;
    r.trace_id = "trace";
    r.response_json = "{}";
    auto out = Await<SubmitOutcome>([&](auto cb) { store.Submit(r, cb); });
    ASSERT_TRUE(out) << out.error().message;
  }
  void Submit(const std::string& tenant, const std::string& job_id, const std::string& node,
              const std::string& accepted_at = "2026-02-18T00:00:00.000001Z") {
    SubmitTo(*store_, tenant, job_id, node, accepted_at);
  }

  static Result<AcquireResult> AcquireOn(PostgresJobStore& store, const std::string& tenant,
                                         const std::string& node, SystemTime now, int max_jobs,
                                         seconds lease) {
    LeaseRequest req{
        .tenant_id = tenant, .node_id = node, .max_jobs = max_jobs, .lease = lease, .now = now};
    return Await<AcquireResult>([&](auto cb) { store.AcquireLeases(req, cb); });
  }
  Result<AcquireResult> Acquire(const std::string& tenant, const std::string& node, SystemTime now,
                                int max_jobs = 16, seconds lease = seconds(60)) {
    return AcquireOn(*store_, tenant, node, now, max_jobs, lease);
  }

  static Result<CancelOutcome> CancelOn(PostgresJobStore& store, const std::string& tenant,
                                        const std::string& job_id, SystemTime now,
                                        std::optional<std::string> node) {
    CancelRequest req{.tenant_id = tenant,
                      .job_id = job_id,
                      .node_id = std::move(node),
                      .requested_by = "alice",
                      .trace_id = "t-cancel",
                      .now = now};
    return Await<CancelOutcome>([&](auto cb) { store.RequestCancel(req, cb); });
  }
  Result<CancelOutcome> Cancel(const std::string& tenant, const std::string& job_id, SystemTime now,
                               std::optional<std::string> node = std::nullopt) {
    return CancelOn(*store_, tenant, job_id, now, std::move(node));
  }

  Result<EventOutcome> Event(const std::string& tenant, const std::string& job_id, JobState state) {
    EventRecord e;
    e.tenant_id = tenant;
    e.job_id = job_id;
    e.event_id = "sub-" + job_id + ":" + std::string(jobs::ToString(state));
    e.workspace_id = tenant;
    e.submission_id = "sub-" + job_id;
    e.execution_id = "4242";
    e.state = state;
    e.occurred_at = "2026-02-18T00:00:01.000000Z";
    e.received_at = "2026-02-18T00:00:01.000000Z";
    e.trace_id = "t";
    e.fingerprint = e.event_id;
    return Await<EventOutcome>([&](auto cb) { store_->AppendEvent(e, cb); });
  }

  const SystemTime t0_ = SystemTime(seconds(1'800'000'000));
  std::unique_ptr<PostgresJobStore> store_;
};

TEST_F(PgNodeStoreTest, LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce) {
  Submit("t1", "j2", "n1", "2026-02-18T00:00:02.000000Z");
  Submit("t1", "j1", "n1", "2026-02-18T00:00:01.000000Z");
  Submit("t1", "j3", "n2");
  Submit("t2", "j4", "n1");  // same node id, other tenant
  auto a = Acquire("t1", "n1", t0_);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->leases.size(), 2u);
  EXPECT_EQ(a->leases[0].job.job_id, "j1");
  EXPECT_EQ(a->leases[1].job.job_id, "j2");
  EXPECT_EQ(a->leases[0].expires_at, t0_ + seconds(60));
  EXPECT_NE(a->leases[0].lease_id, a->leases[1].lease_id);
  EXPECT_EQ(a->leases[0].job.spec_json, R"({"execution_profile":{"queue_name":"default"}})");
  // Held leases are not granted again, to this node or any other.
  auto again = Acquire("t1", "n1", t0_ + seconds(59));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->leases.empty());
  auto other = Acquire("t1", "n2", t0_);
  ASSERT_EQ(other->leases.size(), 1u);
  EXPECT_EQ(other->leases[0].job.job_id, "j3");
}

TEST_F(PgNodeStoreTest, AnExpiredLeaseReturnsTheWork) {
  Submit("t1", "j1", "n1");
  auto a = Acquire("t1", "n1", t0_, 16, seconds(10));
  ASSERT_EQ(a->leases.size(), 1u);
  const std::string first = a->leases[0].lease_id;
  EXPECT_TRUE(Acquire("t1", "n1", t0_ + seconds(9))->leases.empty());
  auto b = Acquire("t1", "n1", t0_ + seconds(10));  // expires_at <= now: expired
  ASSERT_EQ(b->leases.size(), 1u);
  EXPECT_NE(b->leases[0].lease_id, first);
  // The old lease is lost for good, the new one renews.
  auto lost = Await<SystemTime>(
      [&](auto cb) { store_->RenewLease("t1", "n1", first, seconds(60), t0_ + seconds(11), cb); });
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().api_code, "lease_lost");
  auto renewed = Await<SystemTime>([&](auto cb) {
    store_->RenewLease("t1", "n1", b->leases[0].lease_id, seconds(60), t0_ + seconds(11), cb);
  });
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(*renewed, t0_ + seconds(71));
  EXPECT_TRUE(Acquire("t1", "n1", t0_ + seconds(70))->leases.empty());
}

TEST_F(PgNodeStoreTest, RenewRulesAndRelease) {
  Submit("t1", "j1", "n1");
  auto a = Acquire("t1", "n1", t0_, 16, seconds(10));
  const std::string lease = a->leases[0].lease_id;
  auto renew = [&](const std::string& tenant, const std::string& node, SystemTime now) {
    return Await<SystemTime>(
        [&](auto cb) { store_->RenewLease(tenant, node, lease, seconds(30), now, cb); });
  };
  EXPECT_EQ(renew("t1", "n2", t0_).error().api_code, "lease_lost");  // another node
  EXPECT_EQ(renew("t2", "n1", t0_).error().api_code, "lease_lost");  // another tenant
  // Expired but not taken over yet: may still be renewed.
  ASSERT_TRUE(renew("t1", "n1", t0_ + seconds(15)));
  // Release: leasable again at once; releasing twice is fine.
  ASSERT_TRUE(Await<Ok>([&](auto cb) { store_->ReleaseLease("t1", "n1", lease, cb); }));
  ASSERT_TRUE(Await<Ok>([&](auto cb) { store_->ReleaseLease("t1", "n1", lease, cb); }));
  EXPECT_EQ(renew("t1", "n1", t0_ + seconds(16)).error().api_code, "lease_lost");
  auto b = Acquire("t1", "n1", t0_ + seconds(16));
  ASSERT_EQ(b->leases.size(), 1u);
  // Once the job leaves 'submitted' its lease ends.
  ASSERT_TRUE(Event("t1", "j1", JobState::kQueued));
  auto after = Await<SystemTime>([&](auto cb) {
    store_->RenewLease("t1", "n1", b->leases[0].lease_id, seconds(30), t0_ + seconds(17), cb);
  });
  EXPECT_EQ(after.error().api_code, "lease_lost");
  EXPECT_TRUE(Acquire("t1", "n1", t0_ + seconds(1000))->leases.empty());
}

TEST_F(PgNodeStoreTest, CancelSemanticsPerState) {
  // Never leased: the gateway cancels it itself, with an event in the history.
  Submit("t1", "fresh", "n1");
  auto c1 = Cancel("t1", "fresh", t0_);
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_TRUE(c1->cancelled_now);
  EXPECT_EQ(c1->state, JobState::kCancelled);
  auto detail = Await<JobDetail>([&](auto cb) { store_->GetDetail("t1", "fresh", cb); });
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->job.state, JobState::kCancelled);
  EXPECT_EQ(detail->job.projection_version, 2);
  ASSERT_EQ(detail->events.size(), 1u);
  EXPECT_EQ(detail->events[0].event_id, "cancel:sub-fresh");
  auto job = Await<JobRecord>([&](auto cb) { store_->GetJob("t1", "fresh", cb); });
  EXPECT_EQ(job->state, JobState::kCancelled);
  auto c1b = Cancel("t1", "fresh", t0_);
  ASSERT_TRUE(c1b);
  EXPECT_TRUE(c1b->already_requested);
  EXPECT_FALSE(c1b->cancelled_now);

  // Leased (maybe already in Slurm): only a request; no longer leasable; listed.
  Submit("t1", "leased", "n1");
  Submit("t1", "running", "n1");
  ASSERT_EQ(Acquire("t1", "n1", t0_)->leases.size(), 2u);
  ASSERT_TRUE(Event("t1", "running", JobState::kRunning));
  auto c2 = Cancel("t1", "leased", t0_);
  ASSERT_TRUE(c2);
  EXPECT_FALSE(c2->cancelled_now);
  EXPECT_EQ(c2->state, JobState::kSubmitted);
  auto c3 = Cancel("t1", "running", t0_, "n1");  // a node token of the job's node
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->state, JobState::kRunning);
  auto listed = Acquire("t1", "n1", t0_ + seconds(3600));
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->leases.empty());  // the expired lease of a cancelled job is not regranted
  ASSERT_EQ(listed->cancellations.size(), 2u);
  EXPECT_TRUE(listed->new_cancellations);
  EXPECT_EQ(listed->cancellations[0].job_id, "leased");
  EXPECT_FALSE(listed->cancellations[0].execution_id.has_value());
  EXPECT_EQ(listed->cancellations[1].job_id, "running");
  EXPECT_EQ(listed->cancellations[1].execution_id, "4242");
  // Listed until terminal (no longer new).
  ASSERT_TRUE(Event("t1", "running", JobState::kCancelled));
  auto relisted = Acquire("t1", "n1", t0_);
  EXPECT_EQ(relisted->cancellations.size(), 1u);
  EXPECT_FALSE(relisted->new_cancellations);
  EXPECT_TRUE(Acquire("t1", "n2", t0_)->cancellations.empty());

  // Terminal, another node, another tenant.
  Submit("t1", "done", "n1");
  ASSERT_TRUE(Event("t1", "done", JobState::kCompleted));
  EXPECT_EQ(Cancel("t1", "done", t0_).error().api_code, "job_terminal");
  Submit("t1", "elsewhere", "n2");
  EXPECT_EQ(Cancel("t1", "elsewhere", t0_, "n1").error().api_code, "node_mismatch");
  EXPECT_EQ(Cancel("t2", "leased", t0_).error().code, ErrorCode::kNotFound);
}

TEST_F(PgNodeStoreTest, HeartbeatUpsertsAndLists) {
  NodeHeartbeat hb{.tenant_id = "t1",
                   .node_id = "n1",
                   .sub = "agent",
                   .agent_version = "0.1",
                   .executor = "slurm",
                   .catalogue_json = R"({"version":"22"})",
                   .in_flight = 2,
                   .now = t0_};
  ASSERT_TRUE(Await<Ok>([&](auto cb) { store_->RecordHeartbeat(hb, cb); }));
  hb.now = t0_ + seconds(5);
  hb.in_flight = 3;
  ASSERT_TRUE(Await<Ok>([&](auto cb) { store_->RecordHeartbeat(hb, cb); }));
  hb.tenant_id = "t2";
  hb.catalogue_json.reset();
  ASSERT_TRUE(Await<Ok>([&](auto cb) { store_->RecordHeartbeat(hb, cb); }));
  auto n = Await<NodeRecord>([&](auto cb) { store_->GetNode("t1", "n1", cb); });
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->first_seen, t0_);
  EXPECT_EQ(n->last_seen, t0_ + seconds(5));
  EXPECT_EQ(n->in_flight, 3);
  EXPECT_EQ(n->catalogue_json, R"({"version":"22"})");
  EXPECT_EQ(Await<NodeRecord>([&](auto cb) { store_->GetNode("t1", "nx", cb); }).error().code,
            ErrorCode::kNotFound);
  auto all = Await<std::vector<NodeRecord>>([&](auto cb) { store_->ListNodes(std::nullopt, cb); });
  ASSERT_EQ(all->size(), 2u);
  auto t2 = Await<std::vector<NodeRecord>>([&](auto cb) { store_->ListNodes("t2", cb); });
  ASSERT_EQ(t2->size(), 1u);
  EXPECT_FALSE((*t2)[0].catalogue_json.has_value());
}

TEST_F(PgNodeStoreTest, FindSubmitReturnsTheStoredAnswer) {
  Submit("t1", "j1", "n1");
  auto found = Await<std::optional<NodeStore::StoredSubmit>>(
      [&](auto cb) { store_->FindSubmit("t1", "key-j1", cb); });
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->request_fingerprint, "fp");
  EXPECT_EQ((*found)->response_json, "{}");
  auto other = Await<std::optional<NodeStore::StoredSubmit>>(
      [&](auto cb) { store_->FindSubmit("t2", "key-j1", cb); });
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_value());
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
  std::unique_ptr<PostgresJobStore> other = OpenStore();
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
      PostgresJobStore& s = (t % 2 == 0) ? *store_ : *other;
      for (int round = 0; round < 30; ++round) {
        auto r = AcquireOn(s, "t1", "n1", t0_, 7, seconds(600));
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
  std::unique_ptr<PostgresJobStore> other = OpenStore();
  ASSERT_TRUE(other);
  constexpr int kJobs = 10;
  for (int i = 0; i < kJobs; ++i) Submit("t1", "c-" + std::to_string(i), "n1");
  std::atomic<int> cancelled_now{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      PostgresJobStore& s = (t % 2 == 0) ? *store_ : *other;
      for (int i = 0; i < kJobs; ++i) {
        auto r = CancelOn(s, "t1", "c-" + std::to_string(i), t0_, std::nullopt);
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
  std::unique_ptr<PostgresJobStore> other = OpenStore();
  ASSERT_TRUE(other);
  Submit("t1", "j1", "n1");
  ASSERT_EQ(Acquire("t1", "n1", t0_)->leases.size(), 1u);
  ASSERT_TRUE(Cancel("t1", "j1", t0_));
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto r = AcquireOn(t % 2 ? *other : *store_, "t1", "n1", t0_, 16, seconds(60));
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
