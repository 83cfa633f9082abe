#include "storage/validator_run_pruner.hpp"

#include <algorithm>
#include <optional>
#include <thread>
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
  const std::size_t chunk = static_cast<std::size_t>(std::max(1, run.delete_jobs));
  auto delete_rows = [&](std::vector<PrunableRun> runs) -> Status {
    Result<RunPruneCounts> deleted = Await<RunPruneCounts>([&](Callback<RunPruneCounts> cb) {
      store.DeletePrunedRuns(cutoff, std::move(runs), std::move(cb));
    });
    if (!deleted) return std::move(deleted).error();
    report.deleted.runs += deleted->runs;
    report.deleted.executions += deleted->executions;
    return Ok{};
  };
  std::optional<RunPruneKey> after;
  for (;;) {
    if (run.stop != nullptr && run.stop->load()) break;
    Result<PrunableRunBatch> batch = Await<PrunableRunBatch>([&](Callback<PrunableRunBatch> cb) {
      store.ReadPrunableRuns(cutoff, after, run.batch_jobs, std::move(cb));
    });
    if (!batch) return std::move(batch).error();
    if (!batch->runs.empty()) {
      if (archiver != nullptr) {
        if (Status s = archiver->PutRuns(batch->runs); !s) return std::move(s).error();
        report.archived += static_cast<std::int64_t>(batch->runs.size());
      }
      // Media first, rows after: a run whose objects could not all be
      // deleted keeps its rows, so the next walk finds it and tries again.
      std::vector<PrunableRun> gone;
      for (PrunableRun& r : batch->runs) {
        if (Status s = media.DeleteMedia(r); !s) {
          ++report.media_failed;
          LogWarn("retention: deleting a validator run's media failed; the run is kept",
                  {{"run_id", r.run.run_id}, {"error", s.error().message}});
          continue;
        }
        gone.push_back(std::move(r));
        if (gone.size() < chunk) continue;
        if (Status s = delete_rows(std::exchange(gone, {})); !s) return std::move(s).error();
      }
      if (!gone.empty()) {
        if (Status s = delete_rows(std::move(gone)); !s) return std::move(s).error();
      }
      ++report.batches;
    }
    if (!batch->next) break;
    after = std::move(batch->next);
    if (run.pause.count() > 0) std::this_thread::sleep_for(run.pause);
  }
  return report;
}

}  // namespace rtgw::storage
