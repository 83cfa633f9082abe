#ifndef RTGW_STORAGE_JOB_RETENTION_STORE_HPP_
#define RTGW_STORAGE_JOB_RETENTION_STORE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/job_store.hpp"

// Job retention (docs/contracts/retention.md): finding the jobs that may be
// pruned, reading them for the archive, and deleting them with everything
// that hangs off them. The loop that drives these calls (read a batch,
// archive it, delete it, pause) is storage/job_pruner.hpp.
namespace rtgw::storage {

// Which jobs may go. A job is prunable when
//  - its state is terminal (completed, failed, cancelled),
//  - its updated_at (fixed-width RFC 3339 UTC text) is before `cutoff`
//    (FormatRfc3339 text, compared as text, which is time order), and
//  - with `keep_undelivered`, it has no projection_outbox row. Outbox rows
//    exist only while a ProjectionUpdate is undelivered (the relay deletes a
//    delivered one), so this keeps every job the product has not heard the
//    end of, dead letters included: a dead-lettered job stays until its dead
//    letter is replayed and delivered (or the operator prunes with
//    keep_undelivered off, which then deletes its outbox rows too). Without a
//    relay (SQLite without --relay-url writes no outbox rows) it holds nothing
//    back.
struct PruneFilter {
  std::string cutoff;
  bool keep_undelivered = true;
};

// A position in the walk: the (tenant_id, job_id) primary key of the last
// job looked at. The walk goes in primary-key order, one pass per run, not in
// updated_at order: an index on updated_at would be written by every applied
// event (the write path), and the walk must not read the whole table per
// batch.
struct PruneKey {
  std::string tenant_id;
  std::string job_id;
};

// One job as read for the archive, with what the delete re-checks.
struct PrunableJob {
  JobDetail detail;  // the job row and all its events, ascending seq
};

struct PrunableBatch {
  std::vector<PrunableJob> jobs;
  // Where the next batch starts; nullopt when the walk reached the end.
  std::optional<PruneKey> next;
};

// What a dry run reports: the prunable jobs now and their events, and the
// terminal, old-enough jobs kept because of an undelivered outbox row.
struct PruneCounts {
  std::int64_t jobs = 0;
  std::int64_t events = 0;
  std::int64_t kept_undelivered = 0;
};

// What one delete removed.
struct PruneDeleted {
  std::int64_t jobs = 0;
  std::int64_t events = 0;
  std::int64_t outbox_rows = 0;  // only with keep_undelivered off
};

// Thread-safety and callbacks: as JobStore (callbacks on a store thread,
// never block in them). Errors: Unavailable(.., "store_unavailable") when the
// store cannot be read or written.
class JobRetentionStore {
 public:
  virtual ~JobRetentionStore() = default;

  // Up to `limit` (1..10'000) prunable jobs with a primary key after `after`
  // (from the start when nullopt), key order, each with all its events.
  // Reads only; the jobs may change before the delete, which re-checks.
  virtual void ReadPrunable(PruneFilter filter, std::optional<PruneKey> after, int limit,
                            Callback<PrunableBatch> done) = 0;

  // Deletes, in ONE write transaction, each of `jobs` that is still prunable
  // under `filter` and unchanged since it was read (same projection_version,
  // same number of events): its events, outbox rows, lease, cancel request
  // and the job row itself (which is also its idempotency record: the key is
  // free afterwards). A job that changed is skipped (it stays; the next run
  // looks at it again). SQLite: one write of the group commit; PostgreSQL: one
  // short transaction that locks each job row first, as an event does.
  virtual void DeletePruned(PruneFilter filter, std::vector<PrunableJob> jobs,
                            Callback<PruneDeleted> done) = 0;

  // Counts only (the dry run). Changes nothing.
  virtual void CountPrunable(PruneFilter filter, Callback<PruneCounts> done) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_RETENTION_STORE_HPP_
