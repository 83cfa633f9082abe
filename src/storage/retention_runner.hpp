#ifndef RTGW_STORAGE_RETENTION_RUNNER_HPP_
#define RTGW_STORAGE_RETENTION_RUNNER_HPP_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/job_feed_store.hpp"
#include "storage/job_pruner.hpp"
#include "storage/job_retention_store.hpp"
#include "storage/validator_run_pruner.hpp"

// The one background retention mechanism of `rtgw serve`
// (docs/contracts/retention.md "In the server"): a thread that prunes the
// change feed (--change-retention) and old finished jobs (--job-retention-days,
// with their archive), then the validator runs and their media of the same age.
namespace rtgw::storage {

struct RetentionOptions {
  // Changes older than this are deleted, 10'000 rows per store call, every
  // min(change_retention / 10, 60 s). 0: keep every change.
  std::chrono::seconds change_retention{0};
  // Jobs prunable with a cutoff this far back are archived and deleted, one
  // walk every `job_interval` (the first right at Start). 0: keep every job.
  std::chrono::seconds job_retention{0};
  std::chrono::milliseconds job_interval{std::chrono::hours(1)};
  bool keep_undelivered = true;  // PruneFilter::keep_undelivered
  int batch_jobs = 500;
  std::chrono::milliseconds pause{20};
  int busy_percent = 100;  // PruneRun::busy_percent
};

// Runs on its own thread from Start until Stop (or destruction), which waits
// for the store call in flight (a batch is never left half done: its delete
// is one transaction). The stores must outlive it; `archiver` may be null
// (jobs deleted without an archive, the operator's explicit choice).
// Failures are logged and retried at the next period.
// Thread-safety: Start/Stop from one owner thread.
class RetentionRunner {
 public:
  RetentionRunner(JobFeedStore& feed, JobRetentionStore& jobs,
                  std::unique_ptr<JobArchiver> archiver, RetentionOptions options);
  ~RetentionRunner();
  RetentionRunner(const RetentionRunner&) = delete;
  RetentionRunner& operator=(const RetentionRunner&) = delete;

  // Also prunes validator runs (PruneValidatorRuns) with the job retention's
  // cutoff, right after each job walk, into the same archive: `archiver` may
  // be null (no archive); `runs`, `*archiver` and `media` must outlive the
  // runner. Call before Start.
  void AddValidatorRuns(ValidatorRunRetentionStore& runs, ValidatorRunArchiver* archiver,
                        RunMediaDeleter& media);

  // Nothing to do (both retentions 0): no thread.
  void Start();
  void Stop();

 private:
  void Loop();
  void PruneChangesNow();
  void PruneJobsNow();
  void PruneValidatorRunsNow();

  JobFeedStore& feed_;
  JobRetentionStore& jobs_;
  std::unique_ptr<JobArchiver> archiver_;
  ValidatorRunRetentionStore* runs_ = nullptr;
  ValidatorRunArchiver* run_archiver_ = nullptr;
  RunMediaDeleter* media_ = nullptr;
  const RetentionOptions options_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_RETENTION_RUNNER_HPP_
