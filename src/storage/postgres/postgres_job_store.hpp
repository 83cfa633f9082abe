#ifndef RTGW_STORAGE_POSTGRES_POSTGRES_JOB_STORE_HPP_
#define RTGW_STORAGE_POSTGRES_POSTGRES_JOB_STORE_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage::postgres {

class PgConn;

struct PostgresOptions {
  std::string url;                 // postgresql://user:pass@host:port/db[?options]
  int pool_size = 4;               // connections = store threads (1-64)
  std::size_t max_batch = 64;      // writes per group-commit transaction, at most
  std::size_t max_queue = 65'536;  // queued tasks; beyond -> Unavailable("store overloaded")
  // true: apply pending schema migrations at Open. false: refuse to open a
  // schema that is behind (run `rtgw migrate`). A newer schema is always refused.
  bool migrate = false;
  // After a failed connect, calls fail at once with Unavailable for this long
  // before the next connect attempt (503 fast while the database is down).
  int reconnect_backoff_ms = 250;
};

// JobStore and OutboxStore on PostgreSQL, safe for several rtgw processes on
// one database (stateless replicas): every rule is enforced by the database
// (unique keys, INSERT .. ON CONFLICT, row locks), never by process memory.
// There is deliberately NO job cache: another replica may change a row at any
// time, so every read goes to PostgreSQL.
//
// Threads: `pool_size` store threads, each owning one connection (the bounded
// pool). All libpq calls run on them, never on the caller's thread. A thread
// takes either one read/outbox task, or every queued write (up to max_batch)
// and runs them in ONE transaction, commits, and only then completes the
// callbacks (group commit; ack only after COMMIT returned). Domain outcomes
// (replay, conflict, not found) come from statements that succeed, so the
// batch first runs without savepoints; if any statement fails (a bug, a
// constraint, a deadlock), the batch is rolled back and run again with each
// write in its own SAVEPOINT, so one failing write does not undo the others.
// If the transaction cannot commit, every write of the batch gets Unavailable.
// A write that lost a deadlock against another replica's batch is rolled back
// to its savepoint and run again after the batch commits (bounded retries).
//
// Outage: a broken connection is dropped and reopened on the next task; while
// connecting fails, tasks fail at once with Unavailable for
// reconnect_backoff_ms between attempts. Nothing acknowledged is lost: an ack
// follows a successful COMMIT; a write whose COMMIT outcome is unknown is
// answered Unavailable and is safe to retry (writes are idempotent).
//
// Outbox: the submit and every applied event insert their projection_outbox row
// in the same statement as the change (storage/outbox_store.hpp).
//
// NodeStore (pg_node_store.cpp, SQL in pg_node_ops.hpp) and ValidatorRunStore
// (pg_validator_run_store.cpp, SQL in pg_validator_run_ops.hpp) on the same
// pool: their writes join the group-commit batches (a gateway cancel's event
// and outbox row commit with the cancel request), their reads are tasks.
// Leases are granted with SELECT .. FOR UPDATE SKIP LOCKED, so replicas
// sharing the database never hand one submission to two agents.
//
// Callbacks: on a store thread (refusals too), except after Close(), when
// calls complete at once on the caller's thread with Unavailable("store
// closed"). Close() drains queued work and joins. Callbacks must not block.
//
// Metrics (when given): rtgw_store_commit_batch_size, rtgw_store_commit_seconds,
// rtgw_store_write_queue (as the SQLite store), rtgw_store_reconnects_total.
class PostgresJobStore final : public JobStore,
                               public OutboxStore,
                               public NodeStore,
                               public ValidatorRunStore {
 public:
  // Connects once (fails when the database cannot be reached), migrates or
  // checks the schema (see PostgresOptions::migrate), starts the threads.
  static Result<std::unique_ptr<PostgresJobStore>> Open(PostgresOptions options,
                                                        MetricsRegistry* metrics);
  ~PostgresJobStore() override;

  void Submit(SubmitRecord record, Callback<SubmitOutcome> done) override;
  void AppendEvent(EventRecord record, Callback<EventOutcome> done) override;
  void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) override;
  void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) override;
  void CheckHealth(Callback<StoreHealth> done) override;
  void Close() override;

  void ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                   Callback<std::vector<OutboxItem>> done) override;
  void CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) override;
  void FailOutbox(std::string owner, std::int64_t id, std::string error,
                  std::chrono::milliseconds retry_after, bool dead, Callback<bool> done) override;
  void ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                       Callback<std::vector<OutboxItem>> done) override;
  void ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                        Callback<bool> done) override;
  void GetOutboxStats(Callback<OutboxStats> done) override;

  // NodeStore (pg_node_store.cpp).
  void RecordHeartbeat(NodeHeartbeat heartbeat, Callback<Ok> done) override;
  void GetNode(std::string tenant_id, std::string node_id, Callback<NodeRecord> done) override;
  void ListNodes(std::optional<std::string> tenant_id,
                 Callback<std::vector<NodeRecord>> done) override;
  void AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) override;
  void RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                  std::chrono::seconds lease, SystemTime now, Callback<SystemTime> done) override;
  void ReleaseLease(std::string tenant_id, std::string node_id, std::string lease_id,
                    Callback<Ok> done) override;
  void RequestCancel(CancelRequest request, Callback<CancelOutcome> done) override;
  void FindSubmit(std::string tenant_id, std::string idempotency_key,
                  Callback<std::optional<StoredSubmit>> done) override;

  // ValidatorRunStore (pg_validator_run_store.cpp).
  void CreateRun(ValidatorRun run, Callback<Ok> done) override;
  void AddExecution(ValidatorExecution execution, Callback<Ok> done) override;
  void MarkLaunched(std::string callback_id, std::string execution_name, std::string status,
                    Callback<bool> done) override;
  void FinishWithoutCallback(std::string callback_id, std::string status, std::string error,
                             std::string finished_at, Callback<bool> done) override;
  void ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) override;
  void MarkEventSynced(std::string callback_id, Callback<Ok> done) override;
  void GetRun(std::optional<std::string> tenant_id, std::string run_id,
              Callback<ValidatorRun> done) override;
  void ListDue(std::int64_t now_us, int limit, Callback<std::vector<ValidatorRun>> done) override;

  static int SchemaVersion();

 private:
  friend struct PgOps;  // pg_node_store.cpp, pg_validator_run_store.cpp
  // Type-erased entry points for those halves: `fn` runs on a store thread
  // (a write inside the group-commit batch, ordered by (tenant, key); a task
  // on its own), `done` gets its Status once committed (or the failure).
  void RunWrite(std::string tenant, std::string key, std::function<Status(PgConn&)> fn,
                Callback<Ok> done);
  void RunTask(bool read_only, std::function<Status(PgConn&)> fn, Callback<Ok> done);

  class Impl;
  explicit PostgresJobStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `rtgw migrate` for PostgreSQL: connects, applies pending migrations (see
// pg_schema.hpp), returns {version found, migrations applied}.
struct PgMigrateReport {
  int found = 0;
  int applied = 0;
  int latest = 0;
};
Result<PgMigrateReport> MigratePostgres(const std::string& url);

// InvalidArgument unless `url` is a postgresql:// or postgres:// URL libpq can parse.
Status ValidatePostgresUrl(const std::string& url);
// `url` with its password replaced by "***" (any scheme://user:password@host form).
std::string RedactPostgresUrl(const std::string& url);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_POSTGRES_JOB_STORE_HPP_
