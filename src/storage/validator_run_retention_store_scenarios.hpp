#ifndef RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_SCENARIOS_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_SCENARIOS_HPP_

// Test-only: the ValidatorRunRetentionStore scenarios (with the pruning loop
// of validator_run_pruner.hpp) every backend must pass the same way: only
// finished, synced, old runs go, oldest first, with every execution; batches;
// a failed media delete keeps its run for the next walk; a failed archive
// deletes nothing; a rerun between read and delete keeps the run; the dry run
// changes nothing. A typed gtest suite on StoreScenarioTest
// (store_test_support.hpp), instantiated by RTGW_INSTANTIATE_STORE_SCENARIOS.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "storage/store_test_support.hpp"
#include "storage/validator_run_pruner.hpp"
#include "storage/validator_run_retention_store.hpp"
#include "storage/validator_run_store_scenarios.hpp"

namespace rtgw::storage::test_support {

// Records the runs it was handed; fails when told to.
class RecordingRunArchiver final : public ValidatorRunArchiver {
 public:
  Status PutRuns(const std::vector<PrunableRun>& batch) override {
    if (fail) return Unavailable("archive down");
    sizes.push_back(static_cast<int>(batch.size()));
    for (const PrunableRun& r : batch) runs.push_back(r);
    return Ok{};
  }
  bool fail = false;
  std::vector<int> sizes;
  std::vector<PrunableRun> runs;
};

// Records the runs whose media it was asked to delete; fails for `failing`.
class RecordingMedia final : public RunMediaDeleter {
 public:
  Status DeleteMedia(const PrunableRun& run) override {
    asked.push_back(run.run.run_id);
    if (failing.count(run.run.run_id) > 0) return Unavailable("object storage down");
    return Ok{};
  }
  std::set<std::string> failing;
  std::vector<std::string> asked;
};

template <class Backend>
class ValidatorRunRetentionStoreScenarios : public StoreScenarioTest<Backend> {
 protected:
  // Finished before this: "old"; after: "new".
  static constexpr const char* kCutoff = "2026-04-01T00:00:00.000000Z";

  ValidatorRunRetentionStore& Retention() { return this->store_->validator_run_retention(); }

  // A run whose first execution `<run_id>-cb1` ends FAILED at `finished_at`
  // (empty: stays RUNNING), its job event stored when `synced`.
  void Run(const std::string& run_id, const std::string& finished_at, bool synced = true) {
    ASSERT_TRUE(CreateRunSync(this->ValidatorRuns(), MakeRun(run_id, run_id + "-cb1")).ok());
    if (!finished_at.empty()) Finish(run_id + "-cb1", finished_at, synced);
  }
  void Finish(const std::string& callback_id, const std::string& finished_at, bool synced) {
    Result<bool> done = Await<bool>([&](Callback<bool> cb) {
      this->ValidatorRuns().FinishWithoutCallback(callback_id, kRunFailed, "no callback",
                                                  finished_at, cb);
    });
    ASSERT_TRUE(done.ok() && *done);
    if (!synced) return;
    ASSERT_TRUE(Await<Ok>([&](Callback<Ok> cb) {
                  this->ValidatorRuns().MarkEventSynced(callback_id, cb);
                }).ok());
  }
  // A rerun of `run_id`: execution `<run_id>-cb<attempt>`, open.
  Status Rerun(const std::string& run_id, int attempt) {
    ValidatorExecution next = MakeRun(run_id, run_id + "-cb" + std::to_string(attempt)).current;
    next.attempt = attempt;
    next.job_id = run_id + "-" + std::to_string(attempt);
    return Await<Ok>([&](Callback<Ok> cb) { this->ValidatorRuns().AddExecution(next, cb); });
  }

  Result<RunPruneReport> Prune(RecordingRunArchiver* archiver, RecordingMedia& media,
                               int batch = 500, bool dry_run = false) {
    PruneRun run;
    run.filter.cutoff = kCutoff;
    run.batch_jobs = batch;
    run.delete_jobs = 2;
    run.pause = std::chrono::milliseconds(0);
    run.dry_run = dry_run;
    return PruneValidatorRuns(Retention(), archiver, media, run);
  }

  bool Exists(const std::string& run_id) {
    return Await<ValidatorRun>([&](Callback<ValidatorRun> cb) {
             this->ValidatorRuns().GetRun(std::nullopt, run_id, cb);
           })
        .ok();
  }
  std::int64_t ExecutionsOf(const std::string& run_id) {
    return this->QueryInt("SELECT COUNT(*) FROM validator_executions WHERE run_id = '" + run_id +
                          "'");
  }
};

TYPED_TEST_SUITE_P(ValidatorRunRetentionStoreScenarios);

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, OnlyFinishedSyncedOldRunsGoOldestFirst) {
  this->Run("vr-old-a", "2026-02-01T00:00:00.000000Z");
  this->Run("vr-old-b", "2026-01-01T00:00:00.000000Z");
  // old-b was rerun once, the rerun also finished long ago: both executions go.
  ASSERT_TRUE(this->Rerun("vr-old-b", 2).ok());
  this->Finish("vr-old-b-cb2", "2026-01-15T00:00:00.000000Z", true);
  this->Run("vr-open", "");                                        // RUNNING: stays
  this->Run("vr-unsynced", "2026-01-01T00:00:00.000000Z", false);  // job event not stored
  this->Run("vr-new", "2026-05-01T00:00:00.000000Z");              // not old enough
  // A rerun of an old run that is still open: stays.
  this->Run("vr-rerun-open", "2026-01-01T00:00:00.000000Z");
  ASSERT_TRUE(this->Rerun("vr-rerun-open", 2).ok());

  RecordingRunArchiver archive;
  RecordingMedia media;
  Result<RunPruneReport> r = this->Prune(&archive, media);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted.runs, 2);
  EXPECT_EQ(r->deleted.executions, 3);
  EXPECT_EQ(r->archived, 2);
  ASSERT_EQ(archive.runs.size(), 2u);
  EXPECT_EQ(archive.runs[0].run.run_id, "vr-old-b");  // finished 2026-01-15: the oldest
  EXPECT_EQ(archive.runs[1].run.run_id, "vr-old-a");
  // The archive has every execution, attempt order, and the run's current one.
  ASSERT_EQ(archive.runs[0].executions.size(), 2u);
  EXPECT_EQ(archive.runs[0].executions[0].callback_id, "vr-old-b-cb1");
  EXPECT_EQ(archive.runs[0].executions[1].callback_id, "vr-old-b-cb2");
  EXPECT_EQ(archive.runs[0].run.current.callback_id, "vr-old-b-cb2");
  EXPECT_EQ(archive.runs[0].run.current.status, kRunFailed);
  EXPECT_EQ(archive.runs[0].run.tenant_id, "tenant-a");
  EXPECT_EQ(media.asked, (std::vector<std::string>{"vr-old-b", "vr-old-a"}));

  EXPECT_FALSE(this->Exists("vr-old-a"));
  EXPECT_FALSE(this->Exists("vr-old-b"));
  EXPECT_EQ(this->ExecutionsOf("vr-old-b"), 0);
  for (const char* kept : {"vr-open", "vr-unsynced", "vr-new", "vr-rerun-open"}) {
    EXPECT_TRUE(this->Exists(kept)) << kept;
  }
  EXPECT_EQ(this->ExecutionsOf("vr-rerun-open"), 2);
  EXPECT_EQ(this->CountRows("validator_runs"), 4);
}

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, BatchesOldestFirstUntilTheWalkEnds) {
  // Finished in the reverse order of their ids: the walk follows finished_at.
  for (int i = 0; i < 5; ++i) {
    this->Run("vr-" + std::to_string(i), "2026-01-0" + std::to_string(9 - i) + "T00:00:00Z");
  }
  RecordingRunArchiver archive;
  RecordingMedia media;
  Result<RunPruneReport> r = this->Prune(&archive, media, /*batch=*/2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(archive.sizes, (std::vector<int>{2, 2, 1}));
  EXPECT_EQ(r->walk.batches, 3);
  EXPECT_EQ(r->deleted.runs, 5);
  EXPECT_EQ(media.asked, (std::vector<std::string>{"vr-4", "vr-3", "vr-2", "vr-1", "vr-0"}));
  EXPECT_EQ(this->CountRows("validator_runs"), 0);
  EXPECT_EQ(this->CountRows("validator_executions"), 0);
  RecordingRunArchiver again;
  Result<RunPruneReport> r2 = this->Prune(&again, media, 2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->deleted.runs, 0);
  EXPECT_TRUE(again.runs.empty());
}

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, AFailedMediaDeleteKeepsTheRunForTheNextWalk) {
  this->Run("vr-a", "2026-01-01T00:00:00Z");
  this->Run("vr-b", "2026-01-02T00:00:00Z");
  this->Run("vr-c", "2026-01-03T00:00:00Z");
  RecordingRunArchiver archive;
  RecordingMedia media;
  media.failing = {"vr-b"};
  Result<RunPruneReport> r = this->Prune(&archive, media);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted.runs, 2);
  EXPECT_EQ(r->media_failed, 1);
  EXPECT_TRUE(this->Exists("vr-b"));
  EXPECT_EQ(this->ExecutionsOf("vr-b"), 1);
  EXPECT_FALSE(this->Exists("vr-a"));
  EXPECT_FALSE(this->Exists("vr-c"));
  // The storage is back: the next walk takes it (archived again).
  media.failing.clear();
  Result<RunPruneReport> next = this->Prune(&archive, media);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->deleted.runs, 1);
  EXPECT_EQ(next->media_failed, 0);
  EXPECT_FALSE(this->Exists("vr-b"));
  EXPECT_EQ(archive.runs.size(), 4u);
}

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, AFailedArchiveDeletesNothing) {
  this->Run("vr-a", "2026-01-01T00:00:00Z");
  RecordingRunArchiver archive;
  archive.fail = true;
  RecordingMedia media;
  Result<RunPruneReport> r = this->Prune(&archive, media);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(media.asked.empty());  // not even the media
  EXPECT_TRUE(this->Exists("vr-a"));
}

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, DryRunCountsAndChangesNothing) {
  this->Run("vr-a", "2026-01-01T00:00:00Z");
  this->Run("vr-b", "2026-01-02T00:00:00Z");
  ASSERT_TRUE(this->Rerun("vr-b", 2).ok());
  this->Finish("vr-b-cb2", "2026-01-03T00:00:00Z", true);
  this->Run("vr-open", "");
  RecordingRunArchiver archive;
  RecordingMedia media;
  Result<RunPruneReport> r = this->Prune(&archive, media, 500, /*dry_run=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->counts.runs, 2);
  EXPECT_EQ(r->counts.executions, 3);
  EXPECT_EQ(r->deleted.runs, 0);
  EXPECT_TRUE(archive.runs.empty());
  EXPECT_TRUE(media.asked.empty());
  EXPECT_EQ(this->CountRows("validator_runs"), 3);
  EXPECT_EQ(this->CountRows("validator_executions"), 4);
}

TYPED_TEST_P(ValidatorRunRetentionStoreScenarios, ARerunBetweenReadAndDeleteKeepsTheRun) {
  this->Run("vr-rerun", "2026-01-01T00:00:00Z");
  this->Run("vr-same", "2026-01-02T00:00:00Z");
  Result<PrunableRunBatch> batch = Await<PrunableRunBatch>([&](Callback<PrunableRunBatch> cb) {
    this->Retention().ReadPrunableRuns(this->kCutoff, std::nullopt, 10, cb);
  });
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->runs.size(), 2u);
  EXPECT_FALSE(batch->next.has_value());
  ASSERT_TRUE(this->Rerun("vr-rerun", 2).ok());  // a new execution between read and delete
  Result<RunPruneCounts> del = Await<RunPruneCounts>([&](Callback<RunPruneCounts> cb) {
    this->Retention().DeletePrunedRuns(this->kCutoff, std::move(batch->runs), cb);
  });
  ASSERT_TRUE(del.ok()) << del.error().message;
  EXPECT_EQ(del->runs, 1);
  EXPECT_EQ(del->executions, 1);
  EXPECT_TRUE(this->Exists("vr-rerun"));
  EXPECT_EQ(this->ExecutionsOf("vr-rerun"), 2);
  EXPECT_FALSE(this->Exists("vr-same"));
}

REGISTER_TYPED_TEST_SUITE_P(ValidatorRunRetentionStoreScenarios,
                            OnlyFinishedSyncedOldRunsGoOldestFirst,
                            BatchesOldestFirstUntilTheWalkEnds,
                            AFailedMediaDeleteKeepsTheRunForTheNextWalk,
                            AFailedArchiveDeletesNothing, DryRunCountsAndChangesNothing,
                            ARerunBetweenReadAndDeleteKeepsTheRun);

}  // namespace rtgw::storage::test_support

#endif  // RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_SCENARIOS_HPP_
