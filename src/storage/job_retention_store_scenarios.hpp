#ifndef RTGW_STORAGE_JOB_RETENTION_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_JOB_RETENTION_STORE_SCENARIOS_HPP_

// Test-only: the JobRetentionStore scenarios (with the pruning loop of
// job_pruner.hpp) every backend must pass the same way: only eligible jobs
// go, with every row that hangs off them; batches; undelivered jobs kept;
// a job changed between read and delete kept; the dry run changes nothing; a
// pruned idempotency key is free. A typed gtest suite on StoreScenarioTest
// (store_test_support.hpp), instantiated by RTGW_INSTANTIATE_STORE_SCENARIOS.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_pruner.hpp"
#include "storage/job_retention_store.hpp"
#include "storage/outbox_store_scenarios.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::test_support {

// Records what it was handed; fails when told to.
class RecordingArchiver final : public JobArchiver {
 public:
  Status Put(const std::vector<PrunableJob>& batch) override {
    if (fail) return Unavailable("archive down");
    sizes.push_back(static_cast<int>(batch.size()));
    for (const PrunableJob& j : batch) jobs.push_back(j.detail);
    return Ok{};
  }
  bool fail = false;
  std::vector<int> sizes;
  std::vector<JobDetail> jobs;
};

template <class Backend>
class JobRetentionStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  // Received before this: "old"; after: "new".
  static constexpr const char* kCutoff = "2026-04-01T00:00:00.000000Z";

  JobRetentionStore& Retention() { return this->store_->retention(); }

  // A job of `tenant` that ends in `end` (kSubmitted: stays active), its
  // last event received at `received_at`.
  SubmitRecord Job(const std::string& tenant, const std::string& id, jobs::JobState end,
                   const std::string& received_at = "2026-02-18T00:00:02.000000Z") {
    SubmitRecord r = MakeSubmit(tenant, id, "key-" + id);
    EXPECT_TRUE(SubmitSync(this->Jobs(), r).ok());
    if (end != jobs::JobState::kSubmitted) {
      EventRecord q = MakeEvent(r, id + "-e1", jobs::JobState::kRunning);
      q.received_at = received_at;
      EXPECT_TRUE(AppendSync(this->Jobs(), q).ok());
      if (end != jobs::JobState::kRunning) {
        EventRecord e = MakeEvent(r, id + "-e2", end);
        e.received_at = received_at;
        EXPECT_TRUE(AppendSync(this->Jobs(), e).ok());
      }
    }
    return r;
  }

  // Delivers every outbox row except those of `keep_job`.
  void DeliverAllBut(const std::string& keep_job) {
    for (int round = 0; round < 20; ++round) {
      Result<std::vector<OutboxItem>> items = ClaimSync(this->Outbox(), "relay-1", 100);
      ASSERT_TRUE(items.ok());
      int completed = 0;
      for (const OutboxItem& item : *items) {
        if (item.job_id == keep_job) continue;
        ASSERT_TRUE(CompleteSync(this->Outbox(), "relay-1", item.id).ok());
        ++completed;
      }
      if (completed == 0) return;
    }
  }

  Result<PruneReport> Prune(RecordingArchiver* archiver, bool keep_undelivered, int batch = 500,
                            bool dry_run = false) {
    PruneRun run;
    run.filter = PruneFilter{kCutoff, keep_undelivered};
    run.batch_jobs = batch;
    run.pause = std::chrono::milliseconds(0);
    run.dry_run = dry_run;
    return PruneJobs(Retention(), archiver, run);
  }

  bool Exists(const std::string& tenant, const std::string& id) {
    return GetJobSync(this->Jobs(), tenant, id).ok();
  }
  std::int64_t RowsOf(const std::string& table, const std::string& job_id) {
    return this->QueryInt("SELECT COUNT(*) FROM " + table + " WHERE job_id = '" + job_id + "'");
  }
};

TYPED_TEST_SUITE_P(JobRetentionStoreScenarios);

using jobs::JobState;

TYPED_TEST_P(JobRetentionStoreScenarios, OnlyTerminalOldJobsGoWithTheirEventsAndArchive) {
  this->Job("t1", "done-old", JobState::kCompleted);
  this->Job("t1", "failed-old", JobState::kFailed);
  this->Job("t2", "cancelled-old", JobState::kCancelled);
  this->Job("t1", "running-old", JobState::kRunning);
  this->Job("t1", "submitted-old", JobState::kSubmitted);
  this->Job("t1", "done-new", JobState::kCompleted, "2026-05-01T00:00:00.000000Z");
  // Read what GET would show before the prune, to compare with the archive.
  Result<JobDetail> before = GetDetailSync(this->Jobs(), "t1", "done-old");
  ASSERT_TRUE(before.ok());

  RecordingArchiver archive;
  Result<PruneReport> r = this->Prune(&archive, /*keep_undelivered=*/false);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted.jobs, 3);
  EXPECT_EQ(r->deleted.events, 6);
  EXPECT_EQ(r->archived, 3);
  std::set<std::string> archived;
  for (const JobDetail& d : archive.jobs) archived.insert(d.job.tenant_id + "/" + d.job.job_id);
  EXPECT_EQ(archived, (std::set<std::string>{"t1/done-old", "t1/failed-old", "t2/cancelled-old"}));
  for (const JobDetail& d : archive.jobs) {
    if (d.job.job_id != "done-old") continue;
    EXPECT_EQ(d.job.projection_version, before->job.projection_version);
    EXPECT_EQ(d.job.updated_at, before->job.updated_at);
    ASSERT_EQ(d.events.size(), before->events.size());
    EXPECT_EQ(d.events[1].event_id, before->events[1].event_id);
  }

  EXPECT_FALSE(this->Exists("t1", "done-old"));
  EXPECT_FALSE(this->Exists("t1", "failed-old"));
  EXPECT_FALSE(this->Exists("t2", "cancelled-old"));
  EXPECT_TRUE(this->Exists("t1", "running-old"));
  EXPECT_TRUE(this->Exists("t1", "submitted-old"));
  EXPECT_TRUE(this->Exists("t1", "done-new"));
  EXPECT_EQ(GetDetailSync(this->Jobs(), "t1", "done-old").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(this->RowsOf("job_events", "done-old"), 0);
  EXPECT_EQ(this->RowsOf("projection_outbox", "done-old"), 0);
  EXPECT_EQ(this->RowsOf("job_events", "done-new"), 2);
  EXPECT_EQ(this->CountRows("jobs"), 3);
}

TYPED_TEST_P(JobRetentionStoreScenarios, BatchesOfTheGivenSizeUntilTheWalkEnds) {
  for (int i = 0; i < 7; ++i) {
    this->Job(i % 2 ? "t1" : "t2", "job-" + std::to_string(i), JobState::kCompleted);
  }
  this->Job("t1", "job-live", JobState::kRunning);
  RecordingArchiver archive;
  Result<PruneReport> r = this->Prune(&archive, false, /*batch=*/3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(archive.sizes, (std::vector<int>{3, 3, 1}));
  EXPECT_EQ(r->walk.batches, 3);
  EXPECT_EQ(r->deleted.jobs, 7);
  EXPECT_EQ(this->CountRows("jobs"), 1);
  // A second run finds nothing.
  RecordingArchiver again;
  Result<PruneReport> r2 = this->Prune(&again, false, 3);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->deleted.jobs, 0);
  EXPECT_TRUE(again.jobs.empty());
}

TYPED_TEST_P(JobRetentionStoreScenarios, UndeliveredJobsStayAndDeliveredGo) {
  this->Job("t1", "delivered", JobState::kCompleted);
  this->Job("t1", "undelivered", JobState::kFailed);
  this->DeliverAllBut("undelivered");
  ASSERT_EQ(this->RowsOf("projection_outbox", "delivered"), 0);
  ASSERT_GT(this->RowsOf("projection_outbox", "undelivered"), 0);

  Result<PruneReport> dry = this->Prune(nullptr, true, 500, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->counts.jobs, 1);
  EXPECT_EQ(dry->counts.events, 2);
  EXPECT_EQ(dry->counts.kept_undelivered, 1);

  RecordingArchiver archive;
  Result<PruneReport> r = this->Prune(&archive, /*keep_undelivered=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted.jobs, 1);
  EXPECT_FALSE(this->Exists("t1", "delivered"));
  EXPECT_TRUE(this->Exists("t1", "undelivered"));

  // Without keep_undelivered (no relay) it goes, its outbox rows with it.
  Result<PruneReport> all = this->Prune(&archive, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->deleted.jobs, 1);
  EXPECT_GT(all->deleted.outbox_rows, 0);
  EXPECT_EQ(this->RowsOf("projection_outbox", "undelivered"), 0);
  EXPECT_EQ(this->CountRows("jobs"), 0);
}

TYPED_TEST_P(JobRetentionStoreScenarios, DryRunCountsAndChangesNothing) {
  this->Job("t1", "a", JobState::kCompleted);
  this->Job("t1", "b", JobState::kCancelled);
  this->Job("t1", "c", JobState::kRunning);
  const std::int64_t events = this->CountRows("job_events");
  const std::int64_t outbox = this->CountRows("projection_outbox");
  RecordingArchiver archive;
  Result<PruneReport> r = this->Prune(&archive, false, 500, /*dry_run=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->counts.jobs, 2);
  EXPECT_EQ(r->counts.events, 4);
  EXPECT_EQ(r->deleted.jobs, 0);
  EXPECT_TRUE(archive.jobs.empty());
  EXPECT_EQ(this->CountRows("jobs"), 3);
  EXPECT_EQ(this->CountRows("job_events"), events);
  EXPECT_EQ(this->CountRows("projection_outbox"), outbox);
}

TYPED_TEST_P(JobRetentionStoreScenarios, AFailedArchiveDeletesNothing) {
  this->Job("t1", "a", JobState::kCompleted);
  RecordingArchiver archive;
  archive.fail = true;
  Result<PruneReport> r = this->Prune(&archive, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(this->Exists("t1", "a"));
  EXPECT_EQ(this->RowsOf("job_events", "a"), 2);
}

TYPED_TEST_P(JobRetentionStoreScenarios, AJobChangedAfterTheReadStaysAndAPrunedKeyIsFree) {
  SubmitRecord changed = this->Job("t1", "changed", JobState::kCompleted);
  SubmitRecord same = this->Job("t1", "same", JobState::kCompleted);
  PruneFilter filter{this->kCutoff, false};
  Result<PrunableBatch> batch = Await<PrunableBatch>([&](Callback<PrunableBatch> cb) {
    this->Retention().ReadPrunable(filter, std::nullopt, 10, cb);
  });
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->jobs.size(), 2u);
  // A late duplicate state arrives between read and delete (not applied, but
  // an event the archive has not seen).
  EventRecord late = MakeEvent(changed, "late-1", JobState::kRunning);
  ASSERT_TRUE(AppendSync(this->Jobs(), late).ok());
  Result<PruneDeleted> del = Await<PruneDeleted>([&](Callback<PruneDeleted> cb) {
    this->Retention().DeletePruned(filter, std::move(batch->jobs), cb);
  });
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->jobs, 1);
  EXPECT_TRUE(this->Exists("t1", "changed"));
  EXPECT_FALSE(this->Exists("t1", "same"));

  // The pruned job's idempotency key makes a new job.
  SubmitRecord again = MakeSubmit("t1", "same-2", same.idempotency_key);
  Result<SubmitOutcome> out = SubmitSync(this->Jobs(), again);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->replayed);
  EXPECT_NE(out->response_json.find("same-2"), std::string::npos);
  EXPECT_TRUE(this->Exists("t1", "same-2"));
}

REGISTER_TYPED_TEST_SUITE_P(JobRetentionStoreScenarios,
                            OnlyTerminalOldJobsGoWithTheirEventsAndArchive,
                            BatchesOfTheGivenSizeUntilTheWalkEnds,
                            UndeliveredJobsStayAndDeliveredGo, DryRunCountsAndChangesNothing,
                            AFailedArchiveDeletesNothing,
                            AJobChangedAfterTheReadStaysAndAPrunedKeyIsFree);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_JOB_RETENTION_STORE_SCENARIOS_HPP_
