#ifndef RTGW_STORAGE_JOB_PRUNER_HPP_
#define RTGW_STORAGE_JOB_PRUNER_HPP_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/error.hpp"
#include "storage/job_retention_store.hpp"

// The job retention loop (docs/contracts/retention.md), one for `rtgw store
// prune` and the serve process's retention runner.
namespace rtgw::storage {

// Receives each batch before it is deleted. Put must return only once the
// batch is durable where it went (a file fsynced, an object stored): the
// batch is deleted only after Put returned Ok, and not at all otherwise.
// Called from the pruning thread only; may block.
class JobArchiver {
 public:
  virtual ~JobArchiver() = default;
  virtual Status Put(const std::vector<PrunableJob>& batch) = 0;
};

struct PruneRun {
  PruneFilter filter;
  int batch_jobs = 500;  // jobs per read and archive write (1..10'000)
  // Jobs per delete write (1..batch_jobs): a batch is deleted in writes of at
  // most this many jobs, one after the other, so the submits queued meanwhile
  // never wait behind a whole batch's delete (each is one transaction).
  int delete_jobs = 50;
  // Pause between batches, so the writes of one batch never queue right
  // behind another's: submits get the writer in between.
  std::chrono::milliseconds pause{20};
  // Duty cycle (1..100): after each step that took t (the batch's read, its
  // archive write, each delete write), the walk sleeps
  // t * (100 - busy_percent) / busy_percent, so it keeps the reader threads,
  // the disk and the one SQLite writer busy at most busy_percent of the time
  // and the submits get the rest. 100: no pacing beyond `pause`.
  int busy_percent = 100;
  bool dry_run = false;  // counts only (CountPrunable); changes nothing
  // Stop after this many jobs (0: no limit), and when `*stop` turns true
  // (checked between batches; may be null).
  std::int64_t max_jobs = 0;
  const std::atomic<bool>* stop = nullptr;
};

struct PruneReport {
  bool dry_run = false;
  PruneCounts counts;         // the dry run's answer; empty otherwise
  PruneDeleted deleted;       // what was deleted
  std::int64_t archived = 0;  // jobs handed to the archiver
  std::int64_t batches = 0;
  // Where the run's time went, as the pruning thread waited for each step
  // (a delete write's time includes its wait for the writer and its commit).
  std::chrono::microseconds read_time{0};
  std::chrono::microseconds archive_time{0};
  std::chrono::microseconds delete_time{0};
  std::chrono::microseconds longest_delete{0};
  std::chrono::microseconds paced_time{0};  // slept for the pacing
};

// The duty cycle of a background walk (jobs here, the change feed in
// RetentionRunner): after a step that took `took`, sleeps
// took * (100 - busy_percent) / busy_percent (nothing at 100) and returns the
// time slept. busy_percent: 1..100.
std::chrono::microseconds PaceAfter(std::chrono::microseconds took, int busy_percent);

// Walks the store once (primary-key order): read a batch of prunable jobs,
// archive it (`archiver` may be null: no archive, the caller chose so
// explicitly), delete it, pause; until the walk ends, max_jobs or *stop.
// Blocks the calling thread (never an HTTP I/O thread). An error stops the
// run: batches before it are archived and deleted, the failed one is not
// deleted (if its archive write failed) or may be archived twice on the next
// run (if the delete failed after the archive was written).
Result<PruneReport> PruneJobs(JobRetentionStore& store, JobArchiver* archiver, const PruneRun& run);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_PRUNER_HPP_
