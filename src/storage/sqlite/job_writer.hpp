#ifndef RTGW_STORAGE_SQLITE_JOB_WRITER_HPP_
#define RTGW_STORAGE_SQLITE_JOB_WRITER_HPP_

// Private to storage/sqlite: the write side, synchronous and single-threaded.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "jobs/job_rules.hpp"
#include "storage/change_batch.hpp"
#include "storage/job_store.hpp"
#include "storage/sqlite/node_sql.hpp"
#include "storage/sqlite/outbox_writer.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/validator_run_writer.hpp"

namespace rtgw::storage::sqlite {

// The only write connection and its cached statements. Implements the write
// semantics of JobStore (error contract in storage/job_store.hpp) as plain
// blocking calls; the caller (the store's writer thread) owns transactions:
// Begin, then per write Savepoint + op + Release or RollbackToSavepoint,
// then FlushChanges and Commit. Every submit and applied event adds its job
// change (storage/job_feed_store.hpp) to changes(); the caller drops those of
// a write it rolls back (ChangeBatch::DropFrom) or of a transaction that did
// not commit (ChangeBatch::Clear).
//
// Thread-safety: not thread-safe; one thread at a time (the writer thread).
class JobWriter {
 public:
  // `db` must already be migrated. Prepares every statement up front. With
  // `write_outbox`, every submit and applied event also inserts its
  // ProjectionUpdate into projection_outbox (storage/outbox_store.hpp), its
  // times on `outbox_clock` (OutboxWriter::Create).
  static Result<std::unique_ptr<JobWriter>> Create(Database db, bool write_outbox,
                                                   const Clock* outbox_clock = nullptr);

  Status Begin();                // BEGIN IMMEDIATE
  Status Commit();               // COMMIT; durable per PRAGMA synchronous when it returns
  void Rollback();               // ROLLBACK when a transaction is open; never fails loudly
  Status Savepoint();            // SAVEPOINT w
  Status ReleaseSavepoint();     // RELEASE w
  Status RollbackToSavepoint();  // ROLLBACK TO w, then RELEASE w
  // False when SQLite rolled the whole transaction back on its own (I/O
  // error, disk full, ...): every write of the batch is then lost.
  bool InTransaction() const { return db_.InTransaction(); }
  // The connection itself (the store's WAL checkpointer hooks its commits).
  Database& db() { return db_; }

  Result<SubmitOutcome> Submit(const SubmitRecord& record);
  Result<EventOutcome> AppendEvent(const EventRecord& record);
  // Upserts the single store_health row: proves the database takes writes.
  Status TouchHealth();
  // The NodeStore statements on this same connection (node_sql.hpp).
  NodeWriter& nodes() { return *nodes_; }

  // The outbox statements of this connection (claims, completions, ...).
  OutboxWriter& outbox() { return *outbox_; }
  // The validator run statements of this connection.
  ValidatorRunWriter& validator_runs() { return *validator_runs_; }
  // Outbox rows inserted since the last call (the store notifies its relay
  // listener after a commit that added some).
  std::int64_t TakeOutboxInserts() { return std::exchange(outbox_inserts_, 0); }

  // The job changes of the open transaction.
  ChangeBatch& changes() { return changes_; }
  // Right before COMMIT: numbers the transaction's changes per tenant from
  // job_change_heads and inserts them into job_changes.
  Status FlushChanges();
  // JobFeedStore::PruneChanges: rows deleted.
  Result<std::int64_t> PruneChanges(std::int64_t older_than_us, int max_rows);

 private:
  JobWriter(Database db, bool write_outbox) : db_(std::move(db)), write_outbox_(write_outbox) {}
  // The outbox row (when write_outbox) and the change of a job state change.
  Status RecordChange(const JobRecord& job, std::string requested_by,
                      const std::string& occurred_at, const std::string& trace_id);
  // The active jobs a quota-checked submit counts (only those it has a quota for).
  Result<jobs::ActiveJobCounts> CountActive(const SubmitRecord& r);
  Status WriteTenantChanges(const std::string& tenant_id, std::span<ChangeRecord> changes);
  Status PrepareAll();

  // Member order matters: statements are finalized before the connection closes.
  Database db_;
  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement savepoint_;
  Statement release_;
  Statement rollback_to_;
  Statement find_by_key_;
  Statement job_exists_;
  Statement count_active_;
  Statement count_user_active_;
  Statement insert_job_;
  Statement find_job_for_event_;
  Statement find_event_;
  Statement first_unapplied_;  // the job's first never-applied event: its count row
  Statement count_unapplied_;  // one more
  Statement insert_event_;
  Statement apply_event_;
  Statement touch_health_;
  Statement advance_head_;
  Statement insert_change_;
  Statement prune_tenants_;
  Statement prune_through_;
  Statement prune_head_;
  Statement prune_delete_;
  std::optional<OutboxWriter> outbox_;
  std::optional<ValidatorRunWriter> validator_runs_;
  bool write_outbox_;
  std::int64_t outbox_inserts_ = 0;
  ChangeBatch changes_;
  std::unique_ptr<NodeWriter> nodes_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_JOB_WRITER_HPP_
