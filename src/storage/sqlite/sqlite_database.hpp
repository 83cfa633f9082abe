#ifndef RTGW_STORAGE_SQLITE_SQLITE_DATABASE_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_DATABASE_HPP_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"
#include "storage/db_stores.hpp"
#include "storage/store_executor.hpp"

namespace rtgw::storage {
class JobCache;
}

namespace rtgw::storage::sqlite {

class JobWriter;
class JobReader;
class IntegrityCheck;

struct SqliteOptions {
  std::string path;                  // file path; ":memory:" is refused (readers need a file)
  std::string synchronous = "FULL";  // PRAGMA synchronous: FULL (default) or NORMAL/EXTRA
  // WAL pages after which the WAL is copied back into the database file
  // (0 = never; the WAL then grows until the last connection closes).
  int wal_autocheckpoint_pages = 1000;
  // Page size of a NEW database file (PRAGMA page_size; a power of two in
  // 512..65536); an existing file keeps the one it was made with. 2 KiB, not
  // SQLite's 4 KiB: every commit rewrites the right-most leaf (and often its
  // two siblings) of each index a submit writes, whatever the entry size, so
  // smaller pages halve those WAL frame bytes, their checksums and copies
  // (docs/contracts/storage-schema.md "Cost on the write path"); a job row
  // (~1.5 KiB) still fits one page.
  int page_size = 2048;
  // true: a background thread checkpoints beside the writer and the writer
  // only rewinds the WAL now and then (wal_checkpointer.hpp). false: SQLite's
  // own PRAGMA wal_autocheckpoint, run by the commit that crosses the mark.
  bool background_checkpoint = true;
  int reader_threads = 2;          // threads serving reads, each with its own connection
  std::size_t max_batch = 256;     // writes per group-commit transaction, at most
  std::size_t max_queue = 65'536;  // queued writes, and reads, each; beyond: "store overloaded"
  int busy_timeout_ms = 5'000;
  // Jobs whose committed row is kept in memory (LRU) so GET job/projection
  // skip the reader threads; 0 disables. See storage/job_cache.hpp.
  std::size_t job_cache_entries = 65'536;
  // Insert a ProjectionUpdate into projection_outbox with every job state
  // change (the relay's transactional outbox). Off: no outbox rows are written
  // (the OutboxStore methods still work on whatever rows exist).
  bool write_outbox = false;
  // true: apply pending schema migrations at Open (the embedded default).
  // false: refuse a schema that is behind (run `rtgw migrate`). A newer schema
  // is always refused.
  bool migrate = true;
  // The clock of the outbox's leases and retry times (claim, fail, replay, stats); nullptr is the
  // system clock. Its Now() is mapped onto the system clock read at Open. Tests pass a FakeClock
  // so that a lease runs out when the test advances that clock, not when a loaded machine is
  // slow. Must outlive the store.
  const Clock* outbox_clock = nullptr;
};

// The stores on one SQLite file in WAL mode (storage/stores.hpp): jobs,
// outbox, management nodes and validator runs, on one StoreExecutor.
//
// Writes: one writer thread owns the only write connection. It takes every
// queued write (up to max_batch), runs them in ONE transaction (each in its own
// SAVEPOINT so one failing write does not undo the others), commits with the
// configured synchronous mode, and only then completes their callbacks (group
// commit). The callbacks run on a completer thread, batch after batch in commit
// order, while the writer goes on with the next batch. If the transaction
// cannot be committed, every write of the batch gets Unavailable and none is
// acknowledged. Because all writes are serialized on the writer thread, a
// duplicate submit that arrives while the first is still queued sees the first
// one's row. More than max_queue queued writes (or reads) -> Unavailable("store
// overloaded") at once (answered on a store thread, not the caller's).
// Reads: `reader_threads` threads with their own read connections and prepared
// statements. GetDetail reads the job and its events in one read transaction.
// GetJob is first looked up in a JobCache of committed rows (filled by the
// writer after each commit and by reader misses); a hit completes at once on
// the CALLER'S thread without touching SQLite.
//
// Schema: versioned migrations in a `schema_migrations` table; Open applies
// pending ones and refuses a database whose schema is newer than this build
// (docs/contracts/storage-schema.md).
//
// Details of the store contracts as implemented here:
//  - AppendEvent replaying a known event (idempotent=true) reports
//    applied=false: the call changed nothing. state/projection_version are the
//    job's current ones.
//  - CheckHealth always completes with a StoreHealth value; failures are
//    reachable/writable=false with a `detail`, never an Error.
//  - CheckIntegrity runs PRAGMA quick_check on a reader thread (it reads
//    every page of the file: seconds per GB, holding that reader): ok only
//    for its single row "ok"; else `detail` holds its first rows. One at a
//    time, its result reused for 30 s (integrity_check.hpp).
//  - After Close() there is no store thread left, so later calls complete at
//    once ON THE CALLER'S THREAD with Unavailable("store closed").
//  - Close() called from one of the store's own callbacks only stops
//    accepting work (a thread cannot join itself); the owner must still call
//    Close() or destroy the store from outside. Destroying the store from its
//    own callback terminates the process.
//
// Metrics (when `metrics` is given): rtgw_store_commit_batch_size histogram,
// rtgw_store_commit_seconds histogram, rtgw_store_write_queue gauge,
// rtgw_store_job_cache_total{result="hit"|"miss"} counter.
//
// Thread-safety: safe for concurrent use. `*metrics` must outlive the store.
// Callbacks must not block: they run on the completer or a reader thread.
//
// Job changes (storage/job_feed_store.hpp): every submit and applied event
// adds one, whatever write_outbox says; a batch numbers its changes per
// tenant right before COMMIT (JobWriter::FlushChanges), and after the commit
// the change listener is called on the writer thread once per such tenant.
// JobFeedStore (sqlite_job_feed_store.cpp): list and change reads on the
// reader threads, each in one read transaction; pruning is a write.
// OutboxStore (sqlite_outbox_store.cpp): every outbox call is a write through
// the writer thread (claims set leases), committed durably like any other
// write. The outbox listener is called on the writer thread after a commit
// that inserted outbox rows.
// NodeStore (sqlite_node_store.cpp): its writes go through the same writer
// thread and group commit as the job writes, its reads through the same
// reader threads. ValidatorRunStore (sqlite_validator_run_store.cpp): every
// call, reads too, is a write, so it sees every job write queued before it.
class SqliteDatabase final : public DbStores<SqliteDatabase> {
 public:
  using Executor = StoreExecutor<JobWriter, JobReader>;

  static Result<std::unique_ptr<SqliteDatabase>> Open(SqliteOptions options,
                                                      MetricsRegistry* metrics);
  ~SqliteDatabase() override;

  void Close() override;

  // Current schema version this build knows (the newest migration).
  static int SchemaVersion();

  // `rtgw migrate`: takes the file lock, applies pending migrations, returns
  // the version found before. Fails while a store has the file open.
  static Result<int> MigrateFile(const std::string& path);

  // ---- For the stores in this folder ----

  // `fn(JobWriter&) -> Result<T>` runs on the writer thread in its own
  // savepoint of the next group-commit transaction (an error rolls the
  // savepoint back); `done` gets the value only once that transaction is
  // durable. An `internal` write is still taken while the store closes. Fn
  // may have `AfterCommit(const T&)` (noexcept in effect), run once durable.
  template <class T, class Fn>
  void Write(Fn fn, Callback<T> done, bool internal = false) {
    executor().EnqueueWrite(MakeWrite<JobWriter, T>(std::move(fn), std::move(done)), internal);
  }
  // `fn(JobReader&) -> Result<T>` on a reader thread.
  template <class T, class Fn>
  void Read(Fn fn, Callback<T> done) {
    executor().EnqueueRead(MakeRead<JobReader, T>(std::move(fn), std::move(done)));
  }
  Executor& executor();
  JobCache& cache();
  // JobStore::CheckIntegrity's single flight and reuse (integrity_check.hpp).
  IntegrityCheck& integrity();
  void CountCacheLookup(bool hit);  // rtgw_store_job_cache_total{result}
  void SetOutboxListener(std::function<void()> listener);
  // Called on the writer thread after each commit, once per tenant whose job
  // changes it added (JobFeedStore::SetChangeListener).
  void SetChangeListener(std::function<void(const std::string&)> listener);

 private:
  class Impl;
  SqliteDatabase();
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_DATABASE_HPP_
