#include "storage/job_pruner.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/await.hpp"

namespace rtgw::storage {

namespace {

using Clock = std::chrono::steady_clock;

// Times one step of the walk into `total` and sleeps its duty-cycle share.
class Step {
 public:
  Step(std::chrono::microseconds& total, PruneReport& report, int busy_percent)
      : total_(total), report_(report), busy_percent_(busy_percent), start_(Clock::now()) {}
  ~Step() = default;
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  // The step's time; then sleeps its PaceAfter share.
  std::chrono::microseconds End() {
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_);
    total_ += took;
    report_.paced_time += PaceAfter(took, busy_percent_);
    return took;
  }

 private:
  std::chrono::microseconds& total_;
  PruneReport& report_;
  const int busy_percent_;
  const Clock::time_point start_;
};

}  // namespace

std::chrono::microseconds PaceAfter(std::chrono::microseconds took, int busy_percent) {
  if (busy_percent >= 100 || busy_percent < 1 || took.count() <= 0) {
    return std::chrono::microseconds(0);
  }
  const auto idle = took * (100 - busy_percent) / busy_percent;
  std::this_thread::sleep_for(idle);
  return idle;
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
  std::optional<PruneKey> after;
  for (;;) {
    if (run.stop != nullptr && run.stop->load()) break;
    int limit = run.batch_jobs;
    if (run.max_jobs > 0) {
      const std::int64_t left = run.max_jobs - report.deleted.jobs;
      if (left <= 0) break;
      if (left < limit) limit = static_cast<int>(left);
    }
    Step read(report.read_time, report, run.busy_percent);
    Result<PrunableBatch> batch = Await<PrunableBatch>([&](Callback<PrunableBatch> cb) {
      store.ReadPrunable(run.filter, after, limit, std::move(cb));
    });
    read.End();
    if (!batch) return std::move(batch).error();
    if (!batch->jobs.empty()) {
      if (archiver != nullptr) {
        Step archive(report.archive_time, report, run.busy_percent);
        Status s = archiver->Put(batch->jobs);
        archive.End();
        if (!s) return std::move(s).error();
        report.archived += static_cast<std::int64_t>(batch->jobs.size());
      }
      const std::size_t chunk = static_cast<std::size_t>(std::max(1, run.delete_jobs));
      for (std::size_t i = 0; i < batch->jobs.size(); i += chunk) {
        const auto first = batch->jobs.begin() + static_cast<std::ptrdiff_t>(i);
        const auto last = batch->jobs.begin() +
                          static_cast<std::ptrdiff_t>(std::min(batch->jobs.size(), i + chunk));
        std::vector<PrunableJob> part(std::make_move_iterator(first),
                                      std::make_move_iterator(last));
        Step write(report.delete_time, report, run.busy_percent);
        Result<PruneDeleted> deleted = Await<PruneDeleted>([&](Callback<PruneDeleted> cb) {
          store.DeletePruned(run.filter, std::move(part), std::move(cb));
        });
        report.longest_delete = std::max(report.longest_delete, write.End());
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
