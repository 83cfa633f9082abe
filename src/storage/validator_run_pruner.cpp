#include "storage/validator_run_pruner.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "common/await.hpp"
#include "common/logging.hpp"

namespace rtgw::storage {

Result<RunPruneReport> PruneValidatorRuns(ValidatorRunRetentionStore& store,
                                          ValidatorRunArchiver* archiver, RunMediaDeleter& media,
                                          const PruneRun& run) {
  if (run.batch_jobs < 1 || run.batch_jobs > 10'000) {
    return InvalidArgument("batch size must be 1..10000");
  }
  RunPruneReport report;
  report.dry_run = run.dry_run;
  const std::string& cutoff = run.filter.cutoff;
  if (run.dry_run) {
    Result<RunPruneCounts> counts = Await<RunPruneCounts>(
        [&](Callback<RunPruneCounts> cb) { store.CountPrunableRuns(cutoff, std::move(cb)); });
    if (!counts) return std::move(counts).error();
    report.counts = *counts;
    return report;
  }
  WalkSteps<PrunableRun, RunPruneKey> steps;
  steps.read = [&](const std::optional<RunPruneKey>& after,
                   int limit) -> Result<WalkPage<PrunableRun, RunPruneKey>> {
    Result<PrunableRunBatch> batch = Await<PrunableRunBatch>([&](Callback<PrunableRunBatch> cb) {
      store.ReadPrunableRuns(cutoff, after, limit, std::move(cb));
    });
    if (!batch) return std::move(batch).error();
    return WalkPage<PrunableRun, RunPruneKey>{std::move(batch->runs), std::move(batch->next)};
  };
  if (archiver != nullptr) {
    steps.archive = [&](const std::vector<PrunableRun>& runs) -> Status {
      Status s = archiver->PutRuns(runs);
      if (s) report.archived += static_cast<std::int64_t>(runs.size());
      return s;
    };
  }
  // Media first, rows after: a run whose objects could not all be deleted
  // keeps its rows, so the next walk finds it and tries again.
  steps.release = [&](std::vector<PrunableRun> runs) {
    std::vector<PrunableRun> gone;
    gone.reserve(runs.size());
    for (PrunableRun& r : runs) {
      if (Status s = media.DeleteMedia(r); !s) {
        ++report.media_failed;
        LogWarn("retention: deleting a validator run's media failed; the run is kept",
                {{"run_id", r.run.run_id}, {"error", s.error().message}});
        continue;
      }
      gone.push_back(std::move(r));
    }
    return gone;
  };
  steps.remove = [&](std::vector<PrunableRun> part) -> Status {
    Result<RunPruneCounts> deleted = Await<RunPruneCounts>([&](Callback<RunPruneCounts> cb) {
      store.DeletePrunedRuns(cutoff, std::move(part), std::move(cb));
    });
    if (!deleted) return std::move(deleted).error();
    report.deleted.runs += deleted->runs;
    report.deleted.executions += deleted->executions;
    return Ok{};
  };
  PruneRun runs_only = run;
  runs_only.max_jobs = 0;  // a job limit, not a run limit
  if (Status s = WalkAndDelete(PacingOf(runs_only), steps, report.walk); !s) {
    return std::move(s).error();
  }
  return report;
}

}  // namespace rtgw::storage
