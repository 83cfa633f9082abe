#ifndef RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/job_store.hpp"
#include "storage/validator_run_store.hpp"

// Validator-run retention (docs/contracts/retention.md "Validator runs"):
// finding the runs that may be pruned, reading them with every execution for
// the archive and the media delete, and deleting their rows. The loop that
// drives these calls (read a batch, archive it, delete its media, delete its
// rows) is storage/validator_run_pruner.hpp.
namespace rtgw::storage {

// A run is prunable when its current execution (the run's last one)
//  - is terminal (SUCCEEDED, FAILED, CANCELLED): a run with an open
//    execution is never pruned, and a rerun makes a pruned-looking run open;
//  - has its terminal runtime-job event stored (event_synced): until then the
//    poller still needs the row to write that event;
//  - finished (finished_at, RFC 3339 UTC text like every stored time) before
//    the cutoff (FormatRfc3339 text, compared as text, which is time order).
// finished_at is the run's last change: a terminal execution is written once
// more only by MarkEventSynced, which clients do not see.

// A position in the walk, oldest first: the (finished_at, run_id) of the last
// run looked at.
struct RunPruneKey {
  std::string finished_at;
  std::string run_id;
};

// One run as read for the archive and the media delete.
struct PrunableRun {
  ValidatorRun run;  // the run with its current execution (as GetRun)
  // Every execution of the run, attempt order (the current one last).
  std::vector<ValidatorExecution> executions;
};

struct PrunableRunBatch {
  std::vector<PrunableRun> runs;
  // Where the next batch starts; nullopt when the walk reached the end.
  std::optional<RunPruneKey> next;
};

// The dry run's answer, and what a delete removed.
struct RunPruneCounts {
  std::int64_t runs = 0;
  std::int64_t executions = 0;
};

// Thread-safety and callbacks: as JobStore (callbacks on a store thread,
// never block in them). Errors: Unavailable(.., "store_unavailable") when the
// store cannot be read or written.
class ValidatorRunRetentionStore {
 public:
  virtual ~ValidatorRunRetentionStore() = default;

  // Up to `limit` (1..10'000) prunable runs with a (finished_at, run_id)
  // after `after` (from the oldest when nullopt), oldest first, each with all
  // its executions. Reads only; a run may change before the delete (a rerun),
  // which re-checks.
  virtual void ReadPrunableRuns(std::string cutoff, std::optional<RunPruneKey> after, int limit,
                                Callback<PrunableRunBatch> done) = 0;

  // Deletes, in ONE write transaction, each of `runs` that is still prunable
  // under `cutoff` and unchanged since it was read (the same current
  // execution, the same number of executions): its executions, then the run
  // row. A run that changed is skipped (it stays; the next walk looks at it
  // again). The runs' runtime jobs are ordinary jobs, pruned by job retention.
  // SQLite: one write of the group commit; PostgreSQL: one short transaction
  // that locks each run row first, as a rerun or a callback does.
  virtual void DeletePrunedRuns(std::string cutoff, std::vector<PrunableRun> runs,
                                Callback<RunPruneCounts> done) = 0;

  // Counts only (the dry run): prunable runs and their executions. Changes
  // nothing.
  virtual void CountPrunableRuns(std::string cutoff, Callback<RunPruneCounts> done) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_VALIDATOR_RUN_RETENTION_STORE_HPP_
