#ifndef RTGW_STORAGE_POSTGRES_PG_DATABASE_HPP_
#define RTGW_STORAGE_POSTGRES_PG_DATABASE_HPP_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "storage/db_stores.hpp"
#include "storage/store_executor.hpp"

namespace rtgw::storage::postgres {

class PgConn;

struct PostgresOptions {
  std::string url;                 // postgresql://user:pass@host:port/db[?options]
  int pool_size = 4;               // connections = store threads (1-64)
  std::size_t max_batch = 64;      // writes per group-commit transaction, at most
  std::size_t max_queue = 65'536;  // queued writes, and reads, each; beyond: "store overloaded"
  // true: apply pending schema migrations at Open. false: refuse to open a
  // schema that is behind (run `rtgw migrate`). A newer schema is always refused.
  bool migrate = false;
  // After a failed connect, calls fail at once with Unavailable for this long
  // before the next connect attempt (503 fast while the database is down).
  int reconnect_backoff_ms = 250;
};

// The stores on PostgreSQL (storage/stores.hpp), safe for several rtgw processes on
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
// JobStore (pg_job_store.cpp), OutboxStore (pg_outbox_store.cpp), NodeStore
// (pg_node_store.cpp) and ValidatorRunStore (pg_validator_run_store.cpp), all
// on one StoreExecutor with `pool_size` mixed lanes; the SQL is in pg_*_ops.
// Writes join the group-commit batches (a gateway cancel's event and outbox
// row commit with the cancel request), reads are tasks.
// Leases are granted with SELECT .. FOR UPDATE SKIP LOCKED, so replicas
// sharing the database never hand one submission to two agents.
//
// Callbacks: on a store thread (refusals too), except after Close(), when
// calls complete at once on the caller's thread with Unavailable("store
// closed"). Close() drains queued work and joins. Callbacks must not block.
//
// Job changes (storage/job_feed_store.hpp): every submit and applied event
// adds one; a batch numbers its changes per tenant right before COMMIT
// (PgWriteTenantChanges) and notifies channel rtgw_job_changes. With a change
// listener set, one more connection (outside the pool, on its own thread)
// LISTENs on that channel and calls the listener with each notification's
// tenant, this replica's commits and other replicas' alike; when that
// connection is lost it reconnects (backoff 100 ms doubling to 5 s) and then
// calls the listener once with "".
//
// Metrics (when given): rtgw_store_commit_batch_size, rtgw_store_commit_seconds,
// rtgw_store_write_queue (as the SQLite store), rtgw_store_reconnects_total.
class PgDatabase final : public DbStores<PgDatabase> {
 public:
  using Executor = StoreExecutor<PgConn, PgConn>;

  // Connects once (fails when the database cannot be reached), migrates or
  // checks the schema (see PostgresOptions::migrate), starts the threads.
  static Result<std::unique_ptr<PgDatabase>> Open(PostgresOptions options,
                                                  MetricsRegistry* metrics);
  ~PgDatabase() override;

  void Close() override;

  static int SchemaVersion();

  // ---- For the stores in this folder ----

  // `fn(PgConn&) -> Result<T>` runs inside the next group-commit batch
  // (ordered by (tenant, key), so replicas lock rows in the same order);
  // `done` gets the value once committed. It may run more than once (a lost
  // deadlock is retried); only the last run's value counts.
  // With `quota_lock`, the batch first takes the tenant's quota lock
  // (PgLockQuotaTenants, a quota-checked submit).
  template <class T, class Fn>
  void Write(const std::string& tenant, const std::string& key, Fn fn, Callback<T> done,
             bool quota_lock = false) {
    auto write = MakeWrite<PgConn, T>(std::move(fn), std::move(done));
    write->order_tenant = tenant;
    write->order_key = key;
    write->quota_lock = quota_lock;
    executor().EnqueueWrite(std::move(write));
  }
  // A task on its own statements (autocommit). A read (`rerunnable`) is run
  // once more on a fresh connection when its connection died under it.
  template <class T, class Fn>
  void Task(Fn fn, Callback<T> done, bool rerunnable) {
    executor().EnqueueRead(MakeRead<PgConn, T>(std::move(fn), std::move(done), rerunnable));
  }
  Executor& executor();
  // JobFeedStore::SetChangeListener: starts (once) the LISTEN connection's
  // thread and returns once it listens or its first attempt failed.
  void SetChangeListener(std::function<void(const std::string&)> listener);

 private:
  class Impl;
  PgDatabase();
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

#endif  // RTGW_STORAGE_POSTGRES_PG_DATABASE_HPP_
