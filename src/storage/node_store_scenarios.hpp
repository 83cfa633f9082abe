#ifndef RTGW_STORAGE_NODE_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_NODE_STORE_SCENARIOS_HPP_

// Test-only: the NodeStore scenarios every backend must pass the same way
// (leases: grant, expiry, renew, release; cancels per job state; heartbeats;
// stored submits). A typed gtest suite on StoreScenarioTest
// (store_test_support.hpp): sqlite/sqlite_job_store_test.cpp and
// postgres/postgres_job_store_test.cpp instantiate it with their Backend;
// what only one backend can show (replicas, raw tables) stays in its own file.
// Time is injected through the `now` of each call.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

using jobs::JobState;
using Seconds = std::chrono::seconds;

// A submit for `node` whose answer and fingerprint the scenarios check.
inline void SubmitForNode(JobStore& jobs, const std::string& tenant, const std::string& job_id,
                          const std::string& node,
                          const std::string& accepted_at = "2026-02-18T00:00:00.000001Z") {
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
  auto out = Await<SubmitOutcome>([&](auto cb) { jobs.Submit(r, cb); });
  ASSERT_TRUE(out) << out.error().message;
}

inline Result<AcquireResult> AcquireSync(NodeStore& nodes, const std::string& tenant,
                                         const std::string& node, SystemTime now, int max_jobs = 16,
                                         std::chrono::seconds lease = std::chrono::seconds(60)) {
  LeaseRequest req{
      .tenant_id = tenant, .node_id = node, .max_jobs = max_jobs, .lease = lease, .now = now};
  return Await<AcquireResult>([&](auto cb) { nodes.AcquireLeases(req, cb); });
}

inline Result<CancelOutcome> CancelSync(NodeStore& nodes, const std::string& tenant,
                                        const std::string& job_id, SystemTime now,
                                        std::optional<std::string> node = std::nullopt) {
  CancelRequest req{.tenant_id = tenant,
                    .job_id = job_id,
                    .node_id = std::move(node),
                    .requested_by = "alice",
                    .trace_id = "t-cancel",
                    .now = now};
  return Await<CancelOutcome>([&](auto cb) { nodes.RequestCancel(req, cb); });
}

// The fixture: StoreScenarioTest (store_test_support.hpp) on a Backend, with
// the calls the scenarios repeat, bound to its stores.
template <class Backend>
class NodeStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  void Submit(const std::string& tenant, const std::string& job_id, const std::string& node,
              const std::string& accepted_at = "2026-02-18T00:00:00.000001Z") {
    SubmitForNode(this->Jobs(), tenant, job_id, node, accepted_at);
  }
  Result<AcquireResult> Acquire(const std::string& tenant, const std::string& node, SystemTime now,
                                int max_jobs = 16, Seconds lease = Seconds(60)) {
    return AcquireSync(this->Nodes(), tenant, node, now, max_jobs, lease);
  }
  Result<CancelOutcome> Cancel(const std::string& tenant, const std::string& job_id, SystemTime now,
                               std::optional<std::string> node = std::nullopt) {
    return CancelSync(this->Nodes(), tenant, job_id, now, std::move(node));
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
    return Await<EventOutcome>([&](auto cb) { this->Jobs().AppendEvent(e, cb); });
  }

  const SystemTime t0_ = SystemTime(Seconds(1'800'000'000));
};

TYPED_TEST_SUITE_P(NodeStoreScenarios);

TYPED_TEST_P(NodeStoreScenarios, LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce) {
  this->Submit("t1", "j2", "n1", "2026-02-18T00:00:02.000000Z");
  this->Submit("t1", "j1", "n1", "2026-02-18T00:00:01.000000Z");
  this->Submit("t1", "j3", "n2");
  this->Submit("t2", "j4", "n1");  // same node id, other tenant
  auto a = this->Acquire("t1", "n1", this->t0_);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->leases.size(), 2u);
  EXPECT_EQ(a->leases[0].job.job_id, "j1");
  EXPECT_EQ(a->leases[1].job.job_id, "j2");
  EXPECT_EQ(a->leases[0].expires_at, this->t0_ + Seconds(60));
  EXPECT_NE(a->leases[0].lease_id, a->leases[1].lease_id);
  EXPECT_EQ(a->leases[0].job.spec_json, R"({"execution_profile":{"queue_name":"default"}})");
  // Held leases are not granted again, to this node or any other.
  auto again = this->Acquire("t1", "n1", this->t0_ + Seconds(59));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->leases.empty());
  auto other = this->Acquire("t1", "n2", this->t0_);
  ASSERT_EQ(other->leases.size(), 1u);
  EXPECT_EQ(other->leases[0].job.job_id, "j3");
}

TYPED_TEST_P(NodeStoreScenarios, AnExpiredLeaseReturnsTheWork) {
  this->Submit("t1", "j1", "n1");
  auto a = this->Acquire("t1", "n1", this->t0_, 16, Seconds(10));
  ASSERT_EQ(a->leases.size(), 1u);
  const std::string first = a->leases[0].lease_id;
  EXPECT_TRUE(this->Acquire("t1", "n1", this->t0_ + Seconds(9))->leases.empty());
  auto b = this->Acquire("t1", "n1", this->t0_ + Seconds(10));  // expires_at <= now: expired
  ASSERT_EQ(b->leases.size(), 1u);
  EXPECT_NE(b->leases[0].lease_id, first);
  // The old lease is lost for good, the new one renews.
  auto lost = Await<SystemTime>([&](auto cb) {
    this->Nodes().RenewLease("t1", "n1", first, Seconds(60), this->t0_ + Seconds(11), cb);
  });
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().api_code, "lease_lost");
  auto renewed = Await<SystemTime>([&](auto cb) {
    this->Nodes().RenewLease("t1", "n1", b->leases[0].lease_id, Seconds(60),
                             this->t0_ + Seconds(11), cb);
  });
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(*renewed, this->t0_ + Seconds(71));
  EXPECT_TRUE(this->Acquire("t1", "n1", this->t0_ + Seconds(70))->leases.empty());
}

TYPED_TEST_P(NodeStoreScenarios, RenewRulesAndRelease) {
  this->Submit("t1", "j1", "n1");
  auto a = this->Acquire("t1", "n1", this->t0_, 16, Seconds(10));
  const std::string lease = a->leases[0].lease_id;
  auto renew = [&](const std::string& tenant, const std::string& node, SystemTime now) {
    return Await<SystemTime>(
        [&](auto cb) { this->Nodes().RenewLease(tenant, node, lease, Seconds(30), now, cb); });
  };
  EXPECT_EQ(renew("t1", "n2", this->t0_).error().api_code, "lease_lost");  // another node
  EXPECT_EQ(renew("t2", "n1", this->t0_).error().api_code, "lease_lost");  // another tenant
  // Expired but not taken over yet: may still be renewed.
  ASSERT_TRUE(renew("t1", "n1", this->t0_ + Seconds(15)));
  // Release: leasable again at once; releasing twice is fine.
  ASSERT_TRUE(Await<Ok>([&](auto cb) { this->Nodes().ReleaseLease("t1", "n1", lease, cb); }));
  ASSERT_TRUE(Await<Ok>([&](auto cb) { this->Nodes().ReleaseLease("t1", "n1", lease, cb); }));
  EXPECT_EQ(renew("t1", "n1", this->t0_ + Seconds(16)).error().api_code, "lease_lost");
  auto b = this->Acquire("t1", "n1", this->t0_ + Seconds(16));
  ASSERT_EQ(b->leases.size(), 1u);
  // Once the job leaves 'submitted' its lease ends.
  ASSERT_TRUE(this->Event("t1", "j1", JobState::kQueued));
  auto after = Await<SystemTime>([&](auto cb) {
    this->Nodes().RenewLease("t1", "n1", b->leases[0].lease_id, Seconds(30),
                             this->t0_ + Seconds(17), cb);
  });
  EXPECT_EQ(after.error().api_code, "lease_lost");
  EXPECT_TRUE(this->Acquire("t1", "n1", this->t0_ + Seconds(1000))->leases.empty());
}

TYPED_TEST_P(NodeStoreScenarios, CancelSemanticsPerState) {
  // Never leased: the gateway cancels it itself, with an event in the history.
  this->Submit("t1", "fresh", "n1");
  auto c1 = this->Cancel("t1", "fresh", this->t0_);
  ASSERT_TRUE(c1) << c1.error().message;
  EXPECT_TRUE(c1->cancelled_now);
  EXPECT_EQ(c1->state, JobState::kCancelled);
  auto detail = Await<JobDetail>([&](auto cb) { this->Jobs().GetDetail("t1", "fresh", cb); });
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->job.state, JobState::kCancelled);
  EXPECT_EQ(detail->job.projection_version, 2);
  ASSERT_EQ(detail->events.size(), 1u);
  EXPECT_EQ(detail->events[0].event_id, "cancel:sub-fresh");
  EXPECT_EQ(detail->events[0].actor.sub, "alice");  // the cancelling token's sub
  EXPECT_FALSE(detail->events[0].actor.node_id.has_value());
  auto job = Await<JobRecord>([&](auto cb) { this->Jobs().GetJob("t1", "fresh", cb); });
  EXPECT_EQ(job->state, JobState::kCancelled);  // SQLite: its cache followed the commit
  auto c1b = this->Cancel("t1", "fresh", this->t0_);
  ASSERT_TRUE(c1b);
  EXPECT_TRUE(c1b->already_requested);
  EXPECT_FALSE(c1b->cancelled_now);
  // A node token's cancel records its node too.
  this->Submit("t1", "fresh-node", "n1");
  ASSERT_TRUE(this->Cancel("t1", "fresh-node", this->t0_, "n1"));
  auto by_node = Await<JobDetail>([&](auto cb) { this->Jobs().GetDetail("t1", "fresh-node", cb); });
  ASSERT_TRUE(by_node);
  ASSERT_EQ(by_node->events.size(), 1u);
  EXPECT_EQ(by_node->events[0].actor.sub, "alice");
  EXPECT_EQ(by_node->events[0].actor.node_id, "n1");

  // Leased (maybe already in Slurm): only a request; no longer leasable; listed.
  this->Submit("t1", "leased", "n1");
  this->Submit("t1", "running", "n1");
  ASSERT_EQ(this->Acquire("t1", "n1", this->t0_)->leases.size(), 2u);
  ASSERT_TRUE(this->Event("t1", "running", JobState::kRunning));
  auto c2 = this->Cancel("t1", "leased", this->t0_);
  ASSERT_TRUE(c2);
  EXPECT_FALSE(c2->cancelled_now);
  EXPECT_EQ(c2->state, JobState::kSubmitted);
  auto c3 = this->Cancel("t1", "running", this->t0_, "n1");  // a node token of the job's node
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->state, JobState::kRunning);
  auto listed = this->Acquire("t1", "n1", this->t0_ + Seconds(3600));
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->leases.empty());  // the expired lease of a cancelled job is not regranted
  ASSERT_EQ(listed->cancellations.size(), 2u);
  EXPECT_TRUE(listed->new_cancellations);
  EXPECT_EQ(listed->cancellations[0].job_id, "leased");
  EXPECT_FALSE(listed->cancellations[0].execution_id.has_value());
  EXPECT_EQ(listed->cancellations[1].job_id, "running");
  EXPECT_EQ(listed->cancellations[1].execution_id, "4242");
  // Listed until terminal (no longer new).
  ASSERT_TRUE(this->Event("t1", "running", JobState::kCancelled));
  auto relisted = this->Acquire("t1", "n1", this->t0_);
  EXPECT_EQ(relisted->cancellations.size(), 1u);
  EXPECT_FALSE(relisted->new_cancellations);
  EXPECT_TRUE(this->Acquire("t1", "n2", this->t0_)->cancellations.empty());

  // Terminal, another node, another tenant.
  this->Submit("t1", "done", "n1");
  ASSERT_TRUE(this->Event("t1", "done", JobState::kCompleted));
  EXPECT_EQ(this->Cancel("t1", "done", this->t0_).error().api_code, "job_terminal");
  this->Submit("t1", "elsewhere", "n2");
  EXPECT_EQ(this->Cancel("t1", "elsewhere", this->t0_, "n1").error().api_code, "node_mismatch");
  EXPECT_EQ(this->Cancel("t2", "leased", this->t0_).error().code, ErrorCode::kNotFound);
}

TYPED_TEST_P(NodeStoreScenarios, HeartbeatUpsertsAndLists) {
  NodeHeartbeat hb{.tenant_id = "t1",
                   .node_id = "n1",
                   .sub = "agent",
                   .agent_version = "0.1",
                   .executor = "slurm",
                   .catalogue_json = R"({"version":"22"})",
                   .in_flight = 2,
                   .now = this->t0_};
  ASSERT_TRUE(Await<Ok>([&](auto cb) { this->Nodes().RecordHeartbeat(hb, cb); }));
  hb.now = this->t0_ + Seconds(5);
  hb.in_flight = 3;
  ASSERT_TRUE(Await<Ok>([&](auto cb) { this->Nodes().RecordHeartbeat(hb, cb); }));
  hb.tenant_id = "t2";
  hb.catalogue_json.reset();
  ASSERT_TRUE(Await<Ok>([&](auto cb) { this->Nodes().RecordHeartbeat(hb, cb); }));
  auto n = Await<NodeRecord>([&](auto cb) { this->Nodes().GetNode("t1", "n1", cb); });
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->first_seen, this->t0_);
  EXPECT_EQ(n->last_seen, this->t0_ + Seconds(5));
  EXPECT_EQ(n->in_flight, 3);
  EXPECT_EQ(n->catalogue_json, R"({"version":"22"})");
  EXPECT_EQ(Await<NodeRecord>([&](auto cb) { this->Nodes().GetNode("t1", "nx", cb); }).error().code,
            ErrorCode::kNotFound);
  auto all =
      Await<std::vector<NodeRecord>>([&](auto cb) { this->Nodes().ListNodes(std::nullopt, cb); });
  ASSERT_EQ(all->size(), 2u);
  auto t2 = Await<std::vector<NodeRecord>>([&](auto cb) { this->Nodes().ListNodes("t2", cb); });
  ASSERT_EQ(t2->size(), 1u);
  EXPECT_FALSE((*t2)[0].catalogue_json.has_value());
}

TYPED_TEST_P(NodeStoreScenarios, FindSubmitReturnsTheStoredAnswer) {
  this->Submit("t1", "j1", "n1");
  auto found = Await<std::optional<NodeStore::StoredSubmit>>(
      [&](auto cb) { this->Nodes().FindSubmit("t1", "key-j1", cb); });
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->request_fingerprint, "fp");
  EXPECT_EQ((*found)->response_json, "{}");
  auto other = Await<std::optional<NodeStore::StoredSubmit>>(
      [&](auto cb) { this->Nodes().FindSubmit("t2", "key-j1", cb); });
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_value());
}

REGISTER_TYPED_TEST_SUITE_P(NodeStoreScenarios, LeasesOnlyTheNodesSubmittedJobsOldestFirstAndOnce,
                            AnExpiredLeaseReturnsTheWork, RenewRulesAndRelease,
                            CancelSemanticsPerState, HeartbeatUpsertsAndLists,
                            FindSubmitReturnsTheStoredAnswer);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_NODE_STORE_SCENARIOS_HPP_
