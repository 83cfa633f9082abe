#ifndef RTGW_STORAGE_VALIDATOR_RUN_PRUNER_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_PRUNER_HPP_

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "storage/job_pruner.hpp"
#include "storage/validator_run_retention_store.hpp"

// The validator-run retention loop (docs/contracts/retention.md "Validator
// runs"), one for `rtgw store prune` and the serve process's retention runner
// (which run it after their job walk, with the same cutoff and archive).
namespace rtgw::storage {

// Receives each batch of runs before anything of them is deleted; the same
// contract as JobArchiver::Put (durable when it returns Ok; nothing of the
// batch is deleted otherwise). The archives of app/job_archive.hpp are both.
// Called from the pruning thread only; may block.
class ValidatorRunArchiver {
 public:
  virtual ~ValidatorRunArchiver() = default;
  virtual Status PutRuns(const std::vector<PrunableRun>& batch) = 0;
};

// Deletes a run's media objects (validators/run_media.hpp says which). Ok
// only once every one of them is gone (an object already missing counts as
// gone), so that the run's rows are deleted only then; an error keeps the
// rows, and the next walk deletes again. Called from the pruning thread only;
// may block.
class RunMediaDeleter {
 public:
  virtual ~RunMediaDeleter() = default;
  virtual Status DeleteMedia(const PrunableRun& run) = 0;
};

struct RunPruneReport {
  bool dry_run = false;
  RunPruneCounts counts;      // the dry run's answer; empty otherwise
  RunPruneCounts deleted;     // rows deleted
  std::int64_t archived = 0;  // runs handed to the archiver
  // Runs whose media delete failed: kept with their rows for the next walk.
  std::int64_t media_failed = 0;
  WalkTimes walk;  // batches, and where the run's time went (release: media)
};

// Walks the store once, oldest first, with the job walk's loop and pacing
// (WalkAndDelete with PacingOf(run): batch_jobs, delete_jobs, pause,
// busy_percent, stop): read a batch of prunable runs, archive it (`archiver`
// may be null: no archive, the caller's explicit choice), delete each run's
// media (the walk's release step), then delete the rows of the runs whose
// media are gone in writes of at most run.delete_jobs runs, pace; until the
// walk ends or *run.stop. Uses run.filter.cutoff (keep_undelivered and
// max_jobs do not apply to runs). run.dry_run: counts only
// (CountPrunableRuns). Blocks the calling thread. A store or archive error
// stops the walk (as PruneJobs); a media delete error only keeps that run
// (counted in media_failed, logged).
Result<RunPruneReport> PruneValidatorRuns(ValidatorRunRetentionStore& store,
                                          ValidatorRunArchiver* archiver, RunMediaDeleter& media,
                                          const PruneRun& run);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_VALIDATOR_RUN_PRUNER_HPP_
