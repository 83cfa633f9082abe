#include "storage/job_pruner.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/await.hpp"

namespace rtgw::storage {

Result<PruneReport> PruneJobs(JobRetentionStore& store, JobArchiver* archiver,
                              const PruneRun& run) {
  if (run.batch_jobs < 1 || run.batch_jobs > 10'000) {
    return InvalidArgument("batch size must be 1..10000");
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
  std::optional<PruneKey> after;
  for (;;) {
    if (run.stop != nullptr && run.stop->load()) break;
    int limit = run.batch_jobs;
    if (run.max_jobs > 0) {
      const std::int64_t left = run.max_jobs - report.deleted.jobs;
      if (left <= 0) break;
      if (left < limit) limit = static_cast<int>(left);
    }
    Result<PrunableBatch> batch = Await<PrunableBatch>([&](Callback<PrunableBatch> cb) {
      store.ReadPrunable(run.filter, after, limit, std::move(cb));
    });
    if (!batch) return std::move(batch).error();
    if (!batch->jobs.empty()) {
      if (archiver != nullptr) {
        if (Status s = archiver->Put(batch->jobs); !s) return std::move(s).error();
        report.archived += static_cast<std::int64_t>(batch->jobs.size());
      }
      const std::size_t chunk = static_cast<std::size_t>(std::max(1, run.delete_jobs));
      for (std::size_t i = 0; i < batch->jobs.size(); i += chunk) {
        const auto first = batch->jobs.begin() + static_cast<std::ptrdiff_t>(i);
        const auto last = batch->jobs.begin() +
                          static_cast<std::ptrdiff_t>(std::min(batch->jobs.size(), i + chunk));
        std::vector<PrunableJob> part(std::make_move_iterator(first),
                                      std::make_move_iterator(last));
        Result<PruneDeleted> deleted = Await<PruneDeleted>([&](Callback<PruneDeleted> cb) {
          store.DeletePruned(run.filter, std::move(part), std::move(cb));
        });
        if (!deleted) return std::move(deleted).error();
        report.deleted.jobs += deleted->jobs;
        report.deleted.events += deleted->events;
        report.deleted.outbox_rows += deleted->outbox_rows;
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
