#ifndef RTGW_STORAGE_JOB_PRUNER_HPP_
#define RTGW_STORAGE_JOB_PRUNER_HPP_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/error.hpp"
#include "storage/job_retention_store.hpp"
#include "storage/prune_walk.hpp"

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
  // Duty cycle (1..100), as WalkPacing::busy_percent: every step of the walk
  // (read, archive write, media release, each delete write) is followed by a
  // sleep of PaceAfter(its time), so the walk keeps the reader threads, the
  // disk and the one SQLite writer busy at most busy_percent of the time and
  // the submits get the rest. 100: no pacing beyond `pause`.
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
  WalkTimes walk;             // batches, and where the run's time went
};

// The WalkPacing of a PruneRun (batch_jobs, delete_jobs, pause, busy_percent,
// max_jobs, stop); shared by both retention walks.
WalkPacing PacingOf(const PruneRun& run);

// Walks the store once (primary-key order) with WalkAndDelete: read a batch
// of prunable jobs, archive it (`archiver` may be null: no archive, the
// caller chose so explicitly), delete it, pace; until the walk ends, max_jobs
// or *stop. Blocks the calling thread (never an HTTP I/O thread). An error
// stops the run: batches before it are archived and deleted, the failed one
// is not deleted (if its archive write failed) or may be archived twice on
// the next run (if the delete failed after the archive was written).
Result<PruneReport> PruneJobs(JobRetentionStore& store, JobArchiver* archiver, const PruneRun& run);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_PRUNER_HPP_
