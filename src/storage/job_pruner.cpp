#include "storage/job_pruner.hpp"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "common/await.hpp"

namespace rtgw::storage {

WalkPacing PacingOf(const PruneRun& run) {
  WalkPacing p;
  p.batch = run.batch_jobs;
  p.delete_batch = run.delete_jobs;
  p.pause = run.pause;
  p.busy_percent = run.busy_percent;
  p.max_items = run.max_jobs;
  p.stop = run.stop;
  return p;
}

Result<PruneReport> PruneJobs(JobRetentionStore& store, JobArchiver* archiver,
                              const PruneRun& run) {
  if (run.batch_jobs < 1 || run.batch_jobs > 10'000) {
    return InvalidArgument("batch size must be 1..10000");
  }
  if (run.busy_percent < 1 || run.busy_percent > 100) {
    return InvalidArgument("busy percent must be 1..100");
  }
  PruneReport report;
  report.dry_run = run.dry_run;
  if (run.dry_run) {
    Result<PruneCounts> counts = Await<PruneCounts>(
        [&](Callback<PruneCounts> cb) { store.CountPrunable(run.filter, std::move(cb)); });
    if (!counts) return std::move(counts).error();
    report.counts = *counts;
    return report;
  }
  WalkSteps<PrunableJob, PruneKey> steps;
  steps.read = [&](const std::optional<PruneKey>& after,
                   int limit) -> Result<WalkPage<PrunableJob, PruneKey>> {
    Result<PrunableBatch> batch = Await<PrunableBatch>([&](Callback<PrunableBatch> cb) {
      store.ReadPrunable(run.filter, after, limit, std::move(cb));
    });
    if (!batch) return std::move(batch).error();
    return WalkPage<PrunableJob, PruneKey>{std::move(batch->jobs), std::move(batch->next)};
  };
  if (archiver != nullptr) {
    steps.archive = [&](const std::vector<PrunableJob>& jobs) -> Status {
      Status s = archiver->Put(jobs);
      if (s) report.archived += static_cast<std::int64_t>(jobs.size());
      return s;
    };
  }
  steps.remove = [&](std::vector<PrunableJob> part) -> Status {
    Result<PruneDeleted> deleted = Await<PruneDeleted>([&](Callback<PruneDeleted> cb) {
      store.DeletePruned(run.filter, std::move(part), std::move(cb));
    });
    if (!deleted) return std::move(deleted).error();
    report.deleted.jobs += deleted->jobs;
    report.deleted.events += deleted->events;
    report.deleted.outbox_rows += deleted->outbox_rows;
    return Ok{};
  };
  if (Status s = WalkAndDelete(PacingOf(run), steps, report.walk); !s) return std::move(s).error();
  return report;
}

}  // namespace rtgw::storage
