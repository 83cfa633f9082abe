#ifndef RTGW_STORAGE_JOB_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_JOB_STORE_SCENARIOS_HPP_

// Test-only: the JobStore scenarios every backend must pass the same way
// (submit idempotency, the event rules, tenant scope, detail order, concurrent
// duplicates, durability across a restart, Close, health). A typed gtest
// suite: sqlite/sqlite_job_store_test.cpp and postgres/postgres_job_store_test.cpp
// instantiate it with their Backend (store_test_support.hpp); what only one
// backend can show (WAL checkpoints, the job cache, the file lock, write-lock
// faults, migrations, replicas, reconnects) stays in its own file.

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "jobs/job_state.hpp"
#include "storage/job_store.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

template <class Backend>
class JobStoreScenarios : public StoreScenarioTest<Backend> {};

TYPED_TEST_SUITE_P(JobStoreScenarios);

using jobs::JobState;

// ---- Submit ----

TYPED_TEST_P(JobStoreScenarios, SubmitCreatesJobInSubmittedState) {
  JobStore& store = this->Jobs();
  SubmitRecord r = MakeSubmit("t1", "job-1", "key-1");
  Result<SubmitOutcome> out = SubmitSync(store, r);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->replayed);
  EXPECT_EQ(out->response_json, r.response_json);

  Result<JobRecord> job = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->tenant_id, "t1");
  EXPECT_EQ(job->job_id, "job-1");
  EXPECT_EQ(job->workspace_id, "t1");
  EXPECT_EQ(job->submission_id, r.submission_id);
  EXPECT_EQ(job->management_node_id, "mgmt-node-1");
  EXPECT_EQ(job->state, JobState::kSubmitted);
  EXPECT_EQ(job->spec_json, r.spec_json);
  EXPECT_FALSE(job->result_ref_json.has_value());
  EXPECT_FALSE(job->error_json.has_value());
  EXPECT_EQ(job->accepted_at, r.accepted_at);
  EXPECT_EQ(job->updated_at, r.accepted_at);
  EXPECT_EQ(job->trace_id, r.trace_id);
  EXPECT_EQ(job->projection_version, 1);
}

TYPED_TEST_P(JobStoreScenarios, ReplayReturnsOriginalResponseByteForByte) {
  JobStore& store = this->Jobs();
  SubmitRecord first = MakeSubmit("t1", "job-1", "key-1");
  // Unusual but legal bytes must come back unchanged.
  first.response_json = "{\"job_id\": \"job-1\",  \"note\":\"caf\xc3\xa9 \\u00e9 \\\"q\\\"\"}\n";
  ASSERT_TRUE(SubmitSync(store, first).ok());

  SubmitRecord retry = first;  // same key and fingerprint, fresh per-request values
  retry.submission_id = "sub-other";
  retry.accepted_at = "2026-02-18T00:00:09Z";
  retry.response_json = R"({"job_id":"job-1","submission_id":"sub-other"})";
  Result<SubmitOutcome> out = SubmitSync(store, retry);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->replayed);
  EXPECT_EQ(out->response_json, first.response_json);

  Result<JobRecord> job = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->submission_id, first.submission_id);
  EXPECT_EQ(job->accepted_at, first.accepted_at);
  EXPECT_EQ(this->CountRows("jobs"), 1);
}

TYPED_TEST_P(JobStoreScenarios, SameKeyOtherFingerprintIsIdempotencyConflict) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeSubmit("t1", "job-1", "key-1", "fp-a")).ok());
  Result<SubmitOutcome> out = SubmitSync(store, MakeSubmit("t1", "job-1", "key-1", "fp-b"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "idempotency_conflict");
}

TYPED_TEST_P(JobStoreScenarios, NewKeyForTakenJobIdIsJobIdConflict) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeSubmit("t1", "job-1", "key-1")).ok());
  Result<SubmitOutcome> out = SubmitSync(store, MakeSubmit("t1", "job-1", "key-2"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "job_id_conflict");
}

TYPED_TEST_P(JobStoreScenarios, KeysAndJobIdsAreScopedByTenant) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeSubmit("t1", "job-1", "key-1", "fp-a")).ok());
  // Same job_id and key in another tenant: a different job.
  Result<SubmitOutcome> out = SubmitSync(store, MakeSubmit("t2", "job-1", "key-1", "fp-b"));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->replayed);
  EXPECT_EQ(this->CountRows("jobs"), 2);
}

// ---- Active-job quotas (docs/contracts/limits.md "Active-job quotas") ----

inline SubmitRecord MakeQuotaSubmit(const std::string& tenant, const std::string& job_id,
                                    std::optional<std::int64_t> max_active_jobs,
                                    std::optional<std::int64_t> max_per_user = std::nullopt,
                                    const std::string& user = "alice") {
  SubmitRecord r = MakeSubmit(tenant, job_id, "key-" + job_id);
  r.requested_by = user;
  r.max_active_jobs = max_active_jobs;
  r.max_active_jobs_per_user = max_per_user;
  return r;
}

TYPED_TEST_P(JobStoreScenarios, SubmitOverTenantQuotaIsRefusedAndWritesNothing) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-1", 2)).ok());
  ASSERT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-2", 2, std::nullopt, "bob")).ok());
  const std::int64_t changes = this->CountRows("job_changes");

  Result<SubmitOutcome> out = SubmitSync(store, MakeQuotaSubmit("t1", "job-3", 2));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(out.error().api_code, "quota_exceeded");
  EXPECT_NE(out.error().message.find("max_active_jobs is 2"), std::string::npos)
      << out.error().message;
  EXPECT_EQ(this->CountRows("jobs"), 2);
  EXPECT_EQ(this->CountRows("job_changes"), changes);
  EXPECT_FALSE(GetJobSync(store, "t1", "job-3").ok());
  // A taken job_id over quota: the quota answers (key, then quota, then job id).
  SubmitRecord taken = MakeQuotaSubmit("t1", "job-1", 2);
  taken.idempotency_key = "key-other";
  EXPECT_EQ(SubmitSync(store, taken).error().api_code, "quota_exceeded");

  // Another tenant's jobs do not count; a submit without the quota is not counted.
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t2", "job-1", 1)).ok());
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-4", std::nullopt)).ok());
  EXPECT_EQ(SubmitSync(store, MakeQuotaSubmit("t1", "job-5", 3)).error().api_code,
            "quota_exceeded");
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-5", 4)).ok());
}

TYPED_TEST_P(JobStoreScenarios, ReplayWhileOverQuotaGetsTheOriginalOutcome) {
  JobStore& store = this->Jobs();
  SubmitRecord first = MakeQuotaSubmit("t1", "job-1", 1, 1);
  ASSERT_TRUE(SubmitSync(store, first).ok());
  ASSERT_EQ(SubmitSync(store, MakeQuotaSubmit("t1", "job-2", 1, 1)).error().api_code,
            "quota_exceeded");

  SubmitRecord replay = first;  // same key and fingerprint, fresh per-request values
  replay.submission_id = "sub-other";
  replay.response_json = R"({"job_id":"job-1","submission_id":"sub-other"})";
  Result<SubmitOutcome> out = SubmitSync(store, replay);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->replayed);
  EXPECT_EQ(out->response_json, first.response_json);

  SubmitRecord other_body = first;
  other_body.request_fingerprint = "fp-other";
  Result<SubmitOutcome> conflict = SubmitSync(store, other_body);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().api_code, "idempotency_conflict");
  EXPECT_EQ(this->CountRows("jobs"), 1);
}

TYPED_TEST_P(JobStoreScenarios, TerminalJobsFreeQuotaSlots) {
  JobStore& store = this->Jobs();
  SubmitRecord a = MakeQuotaSubmit("t1", "job-a", 2);
  SubmitRecord b = MakeQuotaSubmit("t1", "job-b", 2);
  ASSERT_TRUE(SubmitSync(store, a).ok());
  ASSERT_TRUE(SubmitSync(store, b).ok());
  // queued and running are active too.
  ASSERT_TRUE(AppendSync(store, MakeEvent(a, "e-a1", JobState::kQueued)).ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(b, "e-b1", JobState::kRunning)).ok());
  EXPECT_EQ(SubmitSync(store, MakeQuotaSubmit("t1", "job-c", 2)).error().api_code,
            "quota_exceeded");
  ASSERT_TRUE(AppendSync(store, MakeEvent(a, "e-a2", JobState::kCompleted)).ok());
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-c", 2)).ok());
  EXPECT_EQ(SubmitSync(store, MakeQuotaSubmit("t1", "job-d", 2)).error().api_code,
            "quota_exceeded");
  ASSERT_TRUE(AppendSync(store, MakeEvent(b, "e-b2", JobState::kFailed)).ok());
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "job-d", 2)).ok());
}

TYPED_TEST_P(JobStoreScenarios, PerUserQuotaIsIndependentOfOtherUsers) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "alice-1", std::nullopt, 1, "alice")).ok());
  Result<SubmitOutcome> out =
      SubmitSync(store, MakeQuotaSubmit("t1", "alice-2", std::nullopt, 1, "alice"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().api_code, "quota_exceeded");
  EXPECT_NE(out.error().message.find("max_active_jobs_per_user is 1"), std::string::npos)
      << out.error().message;
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t1", "bob-1", std::nullopt, 1, "bob")).ok());
  // The same user in another tenant is another user.
  EXPECT_TRUE(SubmitSync(store, MakeQuotaSubmit("t2", "alice-1", std::nullopt, 1, "alice")).ok());
  // Both quotas: the tenant's is named first.
  out = SubmitSync(store, MakeQuotaSubmit("t1", "carol-1", 2, 1, "carol"));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("max_active_jobs is 2"), std::string::npos);
  EXPECT_EQ(this->CountRows("jobs"), 3);
}

TYPED_TEST_P(JobStoreScenarios, ConcurrentQuotaSubmitsCreateExactlyTheLimit) {
  JobStore& store = this->Jobs();
  constexpr int kSubmits = 64;
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::promise<void>> done(kSubmits);
  for (int i = 0; i < kSubmits; ++i) {
    store.Submit(MakeQuotaSubmit("t1", "job-" + std::to_string(i), 10),
                 [&, i](const Result<SubmitOutcome>& r) {
                   if (r.ok()) accepted.fetch_add(1);
                   if (!r.ok() && r.error().api_code == "quota_exceeded") refused.fetch_add(1);
                   done[static_cast<std::size_t>(i)].set_value();
                 });
  }
  for (auto& d : done) d.get_future().wait();
  EXPECT_EQ(accepted.load(), 10);
  EXPECT_EQ(refused.load(), kSubmits - 10);
  EXPECT_EQ(this->CountRows("jobs"), 10);
}

// ---- Events ----

TYPED_TEST_P(JobStoreScenarios, AppliedEventsMoveStateAndProjectionVersion) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());

  EventRecord queued = MakeEvent(job, "evt-q", JobState::kQueued);
  queued.received_at = "2026-02-18T00:00:01.000000Z";
  Result<EventOutcome> q = AppendSync(store, queued);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_FALSE(q->idempotent);
  EXPECT_TRUE(q->applied);
  EXPECT_EQ(q->state, JobState::kQueued);
  EXPECT_EQ(q->projection_version, 2);

  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  running.received_at = "2026-02-18T00:00:02.000000Z";
  Result<EventOutcome> r = AppendSync(store, running);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->projection_version, 3);

  EventRecord completed = MakeEvent(job, "evt-c", JobState::kCompleted);
  completed.received_at = "2026-02-18T00:00:03.000000Z";
  completed.result_ref_json = R"({"output_uri":"s3://out/x"})";
  Result<EventOutcome> c = AppendSync(store, completed);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->applied);
  EXPECT_EQ(c->state, JobState::kCompleted);
  EXPECT_EQ(c->projection_version, 4);

  Result<JobRecord> stored = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kCompleted);
  EXPECT_EQ(stored->projection_version, 4);
  EXPECT_EQ(stored->updated_at, "2026-02-18T00:00:03.000000Z");
  EXPECT_EQ(stored->result_ref_json, completed.result_ref_json);
  EXPECT_FALSE(stored->error_json.has_value());
  EXPECT_EQ(stored->accepted_at, job.accepted_at);
}

TYPED_TEST_P(JobStoreScenarios, AppliedEventWithoutResultKeepsStoredOne) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  running.result_ref_json = R"({"output_uri":"s3://partial"})";
  running.error_json = R"({"code":"Warn"})";
  ASSERT_TRUE(AppendSync(store, running).ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(job, "evt-f", JobState::kFailed)).ok());
  Result<JobRecord> stored = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kFailed);
  EXPECT_EQ(stored->result_ref_json, running.result_ref_json);
  EXPECT_EQ(stored->error_json, running.error_json);
}

TYPED_TEST_P(JobStoreScenarios, ReplayedEventIsIdempotentAndChangesNothing) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  ASSERT_TRUE(AppendSync(store, running).ok());

  EventRecord again = running;
  again.received_at = "2026-02-18T00:09:00Z";  // gateway clock differs; payload does not
  Result<EventOutcome> out = AppendSync(store, again);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->idempotent);
  EXPECT_FALSE(out->applied);
  EXPECT_EQ(out->state, JobState::kRunning);
  EXPECT_EQ(out->projection_version, 2);

  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->events.size(), 1u);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_EQ(detail->job.updated_at, running.received_at);
}

TYPED_TEST_P(JobStoreScenarios, ReusedEventIdWithOtherPayloadIsEventConflict) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(job, "evt-1", JobState::kQueued, "fp-a")).ok());
  Result<EventOutcome> out = AppendSync(store, MakeEvent(job, "evt-1", JobState::kRunning, "fp-b"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "event_conflict");
}

TYPED_TEST_P(JobStoreScenarios, EventForUnknownOrOtherTenantsJobIsNotFound) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());

  SubmitRecord missing = MakeSubmit("t1", "job-missing", "key-x");
  Result<EventOutcome> unknown = AppendSync(store, MakeEvent(missing, "evt-1", JobState::kQueued));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  EventRecord foreign = MakeEvent(job, "evt-1", JobState::kQueued);
  foreign.tenant_id = "t2";
  Result<EventOutcome> other = AppendSync(store, foreign);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(other.error().message, unknown.error().message);  // indistinguishable
}

TYPED_TEST_P(JobStoreScenarios, EventForOtherSubmissionIsSubmissionMismatch) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  EventRecord e = MakeEvent(job, "evt-1", JobState::kQueued);
  e.submission_id = "sub-stale";
  Result<EventOutcome> out = AppendSync(store, e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "submission_mismatch");
  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_TRUE(detail->events.empty());
}

TYPED_TEST_P(JobStoreScenarios, OutOfOrderEventIsStoredButNeverRegresses) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(job, "evt-r", JobState::kRunning)).ok());

  EventRecord late = MakeEvent(job, "evt-q", JobState::kQueued);
  late.received_at = "2026-02-18T00:05:00Z";
  Result<EventOutcome> out = AppendSync(store, late);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->idempotent);
  EXPECT_FALSE(out->applied);
  EXPECT_EQ(out->state, JobState::kRunning);
  EXPECT_EQ(out->projection_version, 2);

  // Same-rank event: also history only.
  Result<EventOutcome> same = AppendSync(store, MakeEvent(job, "evt-r2", JobState::kRunning));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->applied);

  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, JobState::kRunning);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_NE(detail->job.updated_at, late.received_at);
  ASSERT_EQ(detail->events.size(), 3u);
  EXPECT_TRUE(detail->events[0].applied);
  EXPECT_FALSE(detail->events[1].applied);
  EXPECT_FALSE(detail->events[2].applied);
}

TYPED_TEST_P(JobStoreScenarios, EventsAfterTerminalAreStoredButNotApplied) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  EventRecord failed = MakeEvent(job, "evt-f", JobState::kFailed);
  failed.error_json = R"({"code":"NonZeroExitCode","exit_code":3})";
  ASSERT_TRUE(AppendSync(store, failed).ok());

  EventRecord completed = MakeEvent(job, "evt-c", JobState::kCompleted);
  completed.result_ref_json = R"({"output_uri":"s3://late"})";
  Result<EventOutcome> c = AppendSync(store, completed);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->applied);
  EXPECT_EQ(c->state, JobState::kFailed);
  Result<EventOutcome> r = AppendSync(store, MakeEvent(job, "evt-r", JobState::kRunning));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->applied);

  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, JobState::kFailed);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_EQ(detail->job.error_json, failed.error_json);
  EXPECT_FALSE(detail->job.result_ref_json.has_value());
  ASSERT_EQ(detail->events.size(), 3u);
  EXPECT_EQ(detail->events[1].result_ref_json, completed.result_ref_json);  // kept in history
}

// Issue 18: one buggy agent cannot grow a job without bound.
TYPED_TEST_P(JobStoreScenarios, UnappliedEventsAreCappedPerJob) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  auto capped = [&](const std::string& event_id, JobState state, const std::string& fp = "") {
    EventRecord e = MakeEvent(job, event_id, state, fp);
    e.max_unapplied_events = 3;
    return e;
  };
  ASSERT_TRUE(AppendSync(store, capped("evt-r", JobState::kRunning)).ok());
  for (const char* id : {"evt-q1", "evt-q2", "evt-q3"}) {
    Result<EventOutcome> late = AppendSync(store, capped(id, JobState::kQueued));
    ASSERT_TRUE(late.ok()) << id << ": " << late.error().message;
    EXPECT_FALSE(late->applied);
  }

  Result<EventOutcome> fourth = AppendSync(store, capped("evt-q4", JobState::kQueued));
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code, ErrorCode::kConflict);
  EXPECT_EQ(fourth.error().api_code, "event_limit");
  EXPECT_EQ(this->CountRows("job_events"), 4);  // nothing written

  // A replay of a stored one is answered as before, and so is a drifted reuse.
  Result<EventOutcome> replay = AppendSync(store, capped("evt-q2", JobState::kQueued));
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_TRUE(replay->idempotent);
  Result<EventOutcome> drift = AppendSync(store, capped("evt-q2", JobState::kQueued, "fp-other"));
  ASSERT_FALSE(drift.ok());
  EXPECT_EQ(drift.error().api_code, "event_conflict");

  // An applied event is never refused; a late one after it still is.
  Result<EventOutcome> done = AppendSync(store, capped("evt-c", JobState::kCompleted));
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_TRUE(done->applied);
  EXPECT_EQ(done->projection_version, 3);
  Result<EventOutcome> after = AppendSync(store, capped("evt-r2", JobState::kRunning));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().api_code, "event_limit");

  // The cap is per job: another job of the tenant still stores its late events.
  SubmitRecord other = MakeSubmit("t1", "job-2", "key-2");
  ASSERT_TRUE(SubmitSync(store, other).ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(other, "evt-2r", JobState::kRunning)).ok());
  EventRecord other_late = MakeEvent(other, "evt-2q", JobState::kQueued);
  other_late.max_unapplied_events = 3;
  Result<EventOutcome> stored = AppendSync(store, other_late);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_FALSE(stored->applied);

  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, JobState::kCompleted);
  EXPECT_EQ(detail->events.size(), 5u);
}

TYPED_TEST_P(JobStoreScenarios, DetailListsEventsInArrivalOrder) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  SubmitRecord other = MakeSubmit("t1", "job-2", "key-2");
  ASSERT_TRUE(SubmitSync(store, other).ok());
  // Arrival order differs from occurred_at order and from event_id order.
  const std::vector<std::pair<std::string, JobState>> sent = {{"z-running", JobState::kRunning},
                                                              {"a-queued", JobState::kQueued},
                                                              {"m-done", JobState::kCompleted}};
  int minute = 9;
  for (const auto& [id, state] : sent) {
    EventRecord e = MakeEvent(job, id, state);
    e.occurred_at = "2026-02-18T00:0" + std::to_string(minute--) + ":00Z";
    ASSERT_TRUE(AppendSync(store, e).ok());
    // Interleave another job's events: seq is global, order is per job.
    ASSERT_TRUE(AppendSync(store, MakeEvent(other, "o-" + id, state)).ok());
  }
  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok()) << detail.error().message;
  ASSERT_EQ(detail->events.size(), 3u);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(detail->events[i].event_id, sent[i].first);
    EXPECT_EQ(detail->events[i].state, sent[i].second);
    if (i > 0) {
      EXPECT_GT(detail->events[i].seq, detail->events[i - 1].seq);
    }
  }
  EXPECT_EQ(detail->events[0].execution_id, "aiida-1");
  EXPECT_EQ(detail->events[0].trace_id, "trace-z-running");
  EXPECT_EQ(detail->events[0].occurred_at, "2026-02-18T00:09:00Z");
  EXPECT_EQ(detail->events[0].received_at, "2026-02-18T00:00:02.000000Z");
  EXPECT_TRUE(detail->events[0].applied);
  EXPECT_FALSE(detail->events[1].applied);  // queued after running
  EXPECT_TRUE(detail->events[2].applied);
  EXPECT_EQ(detail->job.state, JobState::kCompleted);
  EXPECT_EQ(detail->job.projection_version, 3);
}

TYPED_TEST_P(JobStoreScenarios, ReadsAreScopedByTenant) {
  JobStore& store = this->Jobs();
  ASSERT_TRUE(SubmitSync(store, MakeSubmit("t1", "job-1", "key-1")).ok());
  Result<JobRecord> other = GetJobSync(store, "t2", "job-1");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  Result<JobDetail> other_detail = GetDetailSync(store, "t2", "job-1");
  ASSERT_FALSE(other_detail.ok());
  EXPECT_EQ(other_detail.error().code, ErrorCode::kNotFound);
  Result<JobRecord> missing = GetJobSync(store, "t1", "job-2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, other.error().message);
  EXPECT_TRUE(GetJobSync(store, "t1", "job-1").ok());
}

// What a read of the job row returns (from a cache or not) agrees with the
// detail read, field by field, after each committed event.
TYPED_TEST_P(JobStoreScenarios, ReadsFollowCommittedEvents) {
  JobStore& store = this->Jobs();
  const SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  ASSERT_TRUE(GetJobSync(store, "t1", "job-1").ok());
  ASSERT_TRUE(AppendSync(store, MakeEvent(job, "e1", JobState::kRunning)).ok());
  EventRecord done = MakeEvent(job, "e2", JobState::kCompleted);
  done.result_ref_json = R"({"output_uri":"file:///out"})";
  ASSERT_TRUE(AppendSync(store, done).ok());
  Result<JobRecord> after = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, JobState::kCompleted);
  EXPECT_EQ(after->projection_version, 3);
  EXPECT_EQ(after->result_ref_json, R"({"output_uri":"file:///out"})");
  Result<JobDetail> detail = GetDetailSync(store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, after->state);
  EXPECT_EQ(detail->job.updated_at, after->updated_at);
  EXPECT_EQ(detail->job.projection_version, after->projection_version);
  EXPECT_EQ(detail->job.result_ref_json, after->result_ref_json);
  EXPECT_EQ(detail->job.spec_json, after->spec_json);
  EXPECT_EQ(detail->job.accepted_at, after->accepted_at);
  EXPECT_EQ(detail->job.trace_id, after->trace_id);
}

// ---- Concurrency and durability ----

TYPED_TEST_P(JobStoreScenarios, ConcurrentSubmitsOfSameKeyCreateExactlyOneJob) {
  JobStore& store = this->Jobs();
  constexpr int kThreads = 32;
  std::vector<std::promise<Result<SubmitOutcome>>> promises(kThreads);
  std::vector<std::future<Result<SubmitOutcome>>> futures;
  futures.reserve(promises.size());
  for (auto& p : promises) futures.push_back(p.get_future());
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      SubmitRecord r = MakeSubmit("t1", "job-1", "key-1");
      // Each request carries its own would-be identity; only one may win.
      r.submission_id = "sub-" + std::to_string(i);
      r.response_json = R"({"job_id":"job-1","submission_id":"sub-)" + std::to_string(i) + "\"}";
      while (!go.load()) std::this_thread::yield();
      store.Submit(std::move(r), [&promises, i](Result<SubmitOutcome> out) {
        promises[static_cast<std::size_t>(i)].set_value(std::move(out));
      });
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  int created = 0;
  std::set<std::string> bodies;
  for (auto& f : futures) {
    Result<SubmitOutcome> out = f.get();
    ASSERT_TRUE(out.ok()) << out.error().message;
    if (!out->replayed) ++created;
    bodies.insert(out->response_json);
  }
  EXPECT_EQ(created, 1);
  ASSERT_EQ(bodies.size(), 1u);
  Result<JobRecord> job = GetJobSync(store, "t1", "job-1");
  ASSERT_TRUE(job.ok());
  EXPECT_NE(bodies.begin()->find(job->submission_id), std::string::npos);
  EXPECT_EQ(this->CountRows("jobs"), 1);
}

// ---- Actor trail ----

TYPED_TEST_P(JobStoreScenarios, SubmitterAndEventActorsAreStoredAndReadBack) {
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  job.submitted_by = "alice";
  ASSERT_TRUE(SubmitSync(this->Jobs(), job).ok());
  ASSERT_TRUE(SubmitSync(this->Jobs(), MakeSubmit("t1", "job-2", "key-2")).ok());  // no sub
  EventRecord by_node = MakeEvent(job, "e-1", JobState::kRunning);
  by_node.actor = jobs::Actor{.sub = "agent-1", .node_id = "mgmt-node-1"};
  ASSERT_TRUE(AppendSync(this->Jobs(), by_node).ok());
  EventRecord by_user = MakeEvent(job, "e-2", JobState::kFailed);
  by_user.actor = jobs::Actor{.sub = "bob", .node_id = std::nullopt};
  ASSERT_TRUE(AppendSync(this->Jobs(), by_user).ok());
  auto check = [&] {
    Result<JobRecord> got = GetJobSync(this->Jobs(), "t1", "job-1");
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->submitted_by, "alice");
    EXPECT_EQ(GetJobSync(this->Jobs(), "t1", "job-2")->submitted_by, "");
    Result<JobDetail> detail = GetDetailSync(this->Jobs(), "t1", "job-1");
    ASSERT_TRUE(detail.ok()) << detail.error().message;
    EXPECT_EQ(detail->job.submitted_by, "alice");
    ASSERT_EQ(detail->events.size(), 2u);
    EXPECT_EQ(detail->events[0].actor.sub, "agent-1");
    EXPECT_EQ(detail->events[0].actor.node_id, "mgmt-node-1");
    EXPECT_EQ(detail->events[1].actor.sub, "bob");
    EXPECT_FALSE(detail->events[1].actor.node_id.has_value());
  };
  check();  // SQLite: from the job cache the writes filled
  this->Reopen();
  check();  // from the database
}

TYPED_TEST_P(JobStoreScenarios, AcknowledgedWritesSurviveCloseAndReopen) {
  constexpr int kThreads = 8;
  constexpr int kJobsPerThread = 40;
  std::mutex mu;
  std::vector<std::pair<std::string, JobState>> acked;  // job_id, state after the last ack
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kJobsPerThread; ++j) {
        const std::string id = "job-" + std::to_string(t) + "-" + std::to_string(j);
        SubmitRecord r = MakeSubmit("t1", id, "key-" + id);
        if (!SubmitSync(this->Jobs(), r).ok()) continue;
        JobState last = JobState::kSubmitted;
        if (j % 2 == 0) {
          Result<EventOutcome> e =
              AppendSync(this->Jobs(), MakeEvent(r, "evt-" + id, JobState::kRunning));
          if (e.ok()) last = e->state;
        }
        std::lock_guard lock(mu);
        acked.emplace_back(id, last);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(acked.size(), static_cast<std::size_t>(kThreads * kJobsPerThread));
  this->Reopen();
  for (const auto& [id, state] : acked) {
    Result<JobRecord> job = GetJobSync(this->Jobs(), "t1", id);
    ASSERT_TRUE(job.ok()) << id;
    EXPECT_EQ(job->state, state) << id;
  }
}

TYPED_TEST_P(JobStoreScenarios, WriterCommitsTheNextBatchWhileACallbackRuns) {
  JobStore& store = this->Jobs();
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  store.Submit(MakeSubmit("t1", "job-1", "key-1"), [&, released](const Result<SubmitOutcome>& r) {
    EXPECT_TRUE(r.ok());
    started.set_value();
    released.wait_for(std::chrono::seconds(10));  // bounded: a failure must not hang
  });
  ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // The first callback still runs; the second write is committed meanwhile.
  store.Submit(MakeSubmit("t1", "job-2", "key-2"), [](const Result<SubmitOutcome>&) {});
  bool committed = false;
  for (int i = 0; i < 500 && !committed; ++i) {
    committed = GetJobSync(store, "t1", "job-2").ok();
    if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  release.set_value();
  EXPECT_TRUE(committed) << "the writer waited for a callback of the previous batch";
  store.Close();
}

// ---- Close ----

TYPED_TEST_P(JobStoreScenarios, CloseCompletesEveryPendingCallback) {
  JobStore& store = this->Jobs();
  constexpr int kWrites = 500;
  constexpr int kReads = 100;
  std::atomic<int> completed{0};
  std::atomic<int> succeeded{0};
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = "job-" + std::to_string(i);
    store.Submit(MakeSubmit("t1", id, "key-" + id), [&](const Result<SubmitOutcome>& r) {
      if (r.ok()) succeeded.fetch_add(1);
      completed.fetch_add(1);
    });
  }
  for (int i = 0; i < kReads; ++i) {
    store.GetJob("t1", "job-0", [&](const Result<JobRecord>&) { completed.fetch_add(1); });
  }
  store.Close();
  EXPECT_EQ(completed.load(), kWrites + kReads);
  EXPECT_EQ(succeeded.load(), kWrites);  // queued before Close: drained, not dropped

  Result<SubmitOutcome> late = SubmitSync(store, MakeSubmit("t1", "late", "key-late"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
  Result<JobRecord> late_read = GetJobSync(store, "t1", "job-0");
  ASSERT_FALSE(late_read.ok());
  EXPECT_EQ(late_read.error().code, ErrorCode::kUnavailable);
  Result<StoreHealth> health = HealthSync(store);
  ASSERT_TRUE(health.ok());
  EXPECT_FALSE(health->reachable);
  store.Close();  // idempotent

  this->Reopen();
  EXPECT_TRUE(GetJobSync(this->Jobs(), "t1", "job-" + std::to_string(kWrites - 1)).ok());
}

TYPED_TEST_P(JobStoreScenarios, CloseFromOwnCallbackDoesNotDeadlock) {
  JobStore& store = this->Jobs();
  Result<SubmitOutcome> first = Await<SubmitOutcome>([&](const Callback<SubmitOutcome>& cb) {
    store.Submit(MakeSubmit("t1", "job-1", "key-1"), [&, cb](Result<SubmitOutcome> r) {
      store.Close();  // from a store thread: stops accepting, cannot join itself
      cb(std::move(r));
    });
  });
  EXPECT_TRUE(first.ok());
  Result<SubmitOutcome> after = SubmitSync(store, MakeSubmit("t1", "job-2", "key-2"));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  store.Close();
}

// ---- Health ----

TYPED_TEST_P(JobStoreScenarios, HealthIsReachableAndWritable) {
  JobStore& store = this->Jobs();
  Result<StoreHealth> health = HealthSync(store);
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->reachable);
  EXPECT_TRUE(health->writable);
  EXPECT_EQ(health->backend, TypeParam::kName);
  EXPECT_EQ(health->detail, "");
  ASSERT_TRUE(HealthSync(store).ok());
  store.Close();
  // Each check is a real write.
  EXPECT_EQ(this->QueryInt("SELECT write_count FROM store_health WHERE id = 1"), 2);
}

TYPED_TEST_P(JobStoreScenarios, IntegrityOfAHealthyStoreIsOk) {
  JobStore& store = this->Jobs();
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store, job).ok());
  Result<StoreIntegrity> integrity = IntegritySync(store);
  ASSERT_TRUE(integrity.ok()) << integrity.error().message;
  EXPECT_TRUE(integrity->ok) << integrity->detail;
}

REGISTER_TYPED_TEST_SUITE_P(
    JobStoreScenarios, SubmitCreatesJobInSubmittedState, ReplayReturnsOriginalResponseByteForByte,
    SameKeyOtherFingerprintIsIdempotencyConflict, NewKeyForTakenJobIdIsJobIdConflict,
    KeysAndJobIdsAreScopedByTenant, SubmitOverTenantQuotaIsRefusedAndWritesNothing,
    ReplayWhileOverQuotaGetsTheOriginalOutcome, TerminalJobsFreeQuotaSlots,
    PerUserQuotaIsIndependentOfOtherUsers, ConcurrentQuotaSubmitsCreateExactlyTheLimit,
    AppliedEventsMoveStateAndProjectionVersion, AppliedEventWithoutResultKeepsStoredOne,
    ReplayedEventIsIdempotentAndChangesNothing, ReusedEventIdWithOtherPayloadIsEventConflict,
    EventForUnknownOrOtherTenantsJobIsNotFound, EventForOtherSubmissionIsSubmissionMismatch,
    OutOfOrderEventIsStoredButNeverRegresses, EventsAfterTerminalAreStoredButNotApplied,
    UnappliedEventsAreCappedPerJob, DetailListsEventsInArrivalOrder, ReadsAreScopedByTenant,
    ReadsFollowCommittedEvents, SubmitterAndEventActorsAreStoredAndReadBack,
    ConcurrentSubmitsOfSameKeyCreateExactlyOneJob, AcknowledgedWritesSurviveCloseAndReopen,
    WriterCommitsTheNextBatchWhileACallbackRuns, CloseCompletesEveryPendingCallback,
    CloseFromOwnCallbackDoesNotDeadlock, HealthIsReachableAndWritable,
    IntegrityOfAHealthyStoreIsOk);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_JOB_STORE_SCENARIOS_HPP_
