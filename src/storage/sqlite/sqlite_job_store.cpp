#include "storage/sqlite/sqlite_job_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "common/logging.hpp"
#include "storage/job_cache.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/outbox_writer.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/shim_vfs.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/wal_checkpointer.hpp"
#include "storage/store_task.hpp"

namespace rtgw::storage::sqlite {
namespace {

// Set on every store-owned thread to the Impl that owns it, so Close() can
// tell that it was called from one of its own callbacks (where joining would
// mean joining itself).
thread_local const void* t_store_owner = nullptr;

class PendingWrite : public StoreTask {
 public:
  // Runs the write on the writer connection, inside its savepoint, and keeps
  // the outcome. Returns false when the outcome is an error (the caller then
  // rolls the savepoint back).
  virtual bool Execute(JobWriter& writer) noexcept = 0;
  // Called only after the transaction holding this write committed durably:
  // brings the cache in line with what was committed.
  virtual void AfterCommit(JobCache& cache) noexcept = 0;
};

using WriteBatch = std::vector<std::unique_ptr<PendingWrite>>;

class PendingRead : public StoreTask {
 public:
  virtual void Execute(JobReader& reader) noexcept = 0;
};

// Keeps a Result<T> until Complete() hands it to the callback.
template <class T>
class Outcome {
 public:
  explicit Outcome(Callback<T> done) : done_(std::move(done)) {}
  template <class Fn>
  bool Run(Fn& fn, const char* what) noexcept {
    try {
      result_.emplace(fn());
    } catch (const std::exception& e) {
      result_.emplace(Internal(std::string(what) + " threw: " + e.what()));
    } catch (...) {
      result_.emplace(Internal(std::string(what) + " threw"));
    }
    return result_->ok();
  }
  void Set(Error error) { result_.emplace(std::move(error)); }
  const Result<T>* result() const { return result_ ? &*result_ : nullptr; }
  void Complete() noexcept {
    if (!result_) result_.emplace(Internal("store task completed without running"));
    InvokeNoThrow(done_, std::move(*result_));
  }

 private:
  Callback<T> done_;
  std::optional<Result<T>> result_;
};

template <class T, class Fn>
class TypedWrite final : public PendingWrite {
 public:
  TypedWrite(Fn fn, Callback<T> done) : fn_(std::move(fn)), outcome_(std::move(done)) {}
  bool Execute(JobWriter& writer) noexcept override {
    auto run = [&] { return fn_(writer); };
    return outcome_.Run(run, "store write");
  }
  void AfterCommit(JobCache& cache) noexcept override {
    if constexpr (requires(const Fn& f, const T& v) { f.AfterCommit(v, cache); }) {
      const Result<T>* result = outcome_.result();
      if (result == nullptr || !result->ok()) return;
      try {
        fn_.AfterCommit(**result, cache);
      } catch (...) {
        // Out of memory while updating the cache: the row it holds for this
        // job may now be stale, so drop everything (Clear does not allocate).
        cache.Clear();
      }
    }
  }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
};

// The writes whose commit changes a job row, and what that does to the cache.
struct SubmitWrite {
  SubmitRecord r;
  Result<SubmitOutcome> operator()(JobWriter& w) const { return w.Submit(r); }
  void AfterCommit(const SubmitOutcome& outcome, JobCache& cache) const {
    if (outcome.replayed) return;
    // Mirrors the INSERT in JobWriter::Submit.
    cache.PutCommitted(JobRecord{.tenant_id = r.tenant_id,
                                 .job_id = r.job_id,
                                 .workspace_id = r.workspace_id,
                                 .submission_id = r.submission_id,
                                 .management_node_id = r.management_node_id,
                                 .state = jobs::JobState::kSubmitted,
                                 .spec_json = r.spec_json,
                                 .result_ref_json = std::nullopt,
                                 .error_json = std::nullopt,
                                 .accepted_at = r.accepted_at,
                                 .updated_at = r.accepted_at,
                                 .trace_id = r.trace_id,
                                 .projection_version = 1});
  }
};

struct EventWrite {
  EventRecord r;
  Result<EventOutcome> operator()(JobWriter& w) const { return w.AppendEvent(r); }
  void AfterCommit(const EventOutcome& outcome, JobCache& cache) const {
    if (!outcome.applied) return;  // the job row did not change
    // Mirrors the UPDATE in JobWriter::AppendEvent.
    cache.ApplyCommitted(r.tenant_id, r.job_id, outcome.state, outcome.projection_version,
                         r.received_at, r.result_ref_json, r.error_json);
  }
};

template <class T, class Fn>
class TypedRead final : public PendingRead {
 public:
  TypedRead(Fn fn, Callback<T> done) : fn_(std::move(fn)), outcome_(std::move(done)) {}
  void Execute(JobReader& reader) noexcept override {
    auto run = [&] { return fn_(reader); };
    (void)outcome_.Run(run, "store read");
  }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
};

template <class T, class Fn>
std::unique_ptr<PendingWrite> MakeWrite(Fn fn, Callback<T> done) {
  return std::make_unique<TypedWrite<T, Fn>>(std::move(fn), std::move(done));
}

template <class T, class Fn>
std::unique_ptr<PendingRead> MakeRead(Fn fn, Callback<T> done) {
  return std::make_unique<TypedRead<T, Fn>>(std::move(fn), std::move(done));
}

StoreHealth Unhealthy(bool reachable, std::string detail) {
  return StoreHealth{
      .reachable = reachable, .writable = false, .backend = "sqlite", .detail = std::move(detail)};
}

std::optional<std::string> NormalizeSynchronous(std::string mode) {
  std::transform(mode.begin(), mode.end(), mode.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // OFF is refused: the store acknowledges a write only once it is durable.
  if (mode == "FULL" || mode == "NORMAL" || mode == "EXTRA") return mode;
  return std::nullopt;
}

Status ValidateOptions(const SqliteOptions& o) {
  if (o.path.empty() || o.path == ":memory:" || o.path.starts_with("file:")) {
    return InvalidArgument("sqlite path must be a file path (not empty, ':memory:' or a URI)");
  }
  if (!NormalizeSynchronous(o.synchronous)) {
    return InvalidArgument("sqlite synchronous must be FULL, NORMAL or EXTRA, got '" +
                           o.synchronous + "'");
  }
  if (o.reader_threads < 1 || o.reader_threads > 64) {
    return InvalidArgument("sqlite reader_threads must be 1..64");
  }
  if (o.max_batch < 1 || o.max_batch > 65'536) {
    return InvalidArgument("sqlite max_batch must be 1..65536");
  }
  if (o.max_queue < 1) return InvalidArgument("sqlite max_queue must be at least 1");
  if (o.busy_timeout_ms < 0) return InvalidArgument("sqlite busy_timeout_ms must be >= 0");
  if (o.wal_autocheckpoint_pages < 0) {
    return InvalidArgument("sqlite wal_autocheckpoint_pages must be >= 0");
  }
  return Ok{};
}

Result<Database> OpenWriteConnection(const SqliteOptions& o) {
  // Validated against a fixed list above.
  const std::string synchronous = *NormalizeSynchronous(o.synchronous);
  // With FULL or EXTRA every commit syncs the WAL before readers see it, so
  // its frames can go out in one pwrite at that sync (shim_vfs.hpp).
  const char* vfs = nullptr;
  if (synchronous == "FULL" || synchronous == "EXTRA") {
    vfs = WalBatchingVfsName();
    if (vfs == nullptr) return Internal("sqlite: cannot register the WAL-batching VFS");
  }
  Result<Database> db =
      Database::Open(o.path, Database::Mode::kReadWriteCreate, o.busy_timeout_ms, vfs);
  if (!db) return db;
  Result<std::string> journal = db->QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  if (!journal) return std::move(journal).error();
  if (*journal != "wal") {
    return Unavailable(
        "sqlite: could not switch " + o.path + " to WAL (journal_mode=" + *journal + ")",
        "store_unavailable");
  }
  // Validated against a fixed list above, so it is safe to splice in.
  const std::string sync = "PRAGMA synchronous = " + synchronous;
  if (Status s = db->Exec(sync, "set synchronous"); !s) return std::move(s).error();
  if (Status s = db->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"); !s) {
    return std::move(s).error();
  }
  const std::string ac =
      "PRAGMA wal_autocheckpoint = " + std::to_string(o.wal_autocheckpoint_pages);
  if (Status s = db->Exec(ac, "set wal_autocheckpoint"); !s) return std::move(s).error();
  return db;
}

// An exclusive advisory lock (flock) on "<path>.lock", held for the store's
// lifetime. One rtgw process per SQLite file: the write path and the job cache
// assume no other process changes the database. The kernel drops the lock when
// the process dies (kill -9 included), so a restart never finds a stale one.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& db_path) {
    const std::string path = db_path + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Unavailable("sqlite: cannot open lock file " + path + ": " + std::strerror(errno),
                         "store_unavailable");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Unavailable("sqlite: " + db_path + " is in use by another rtgw process (lock file " +
                               path +
                               "); run one rtgw serve per SQLite file, or use PostgreSQL for "
                               "several replicas",
                           "store_unavailable");
      }
      return Unavailable("sqlite: cannot lock " + path + ": " + std::strerror(err),
                         "store_unavailable");
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() { Release(); }
  void Release() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // closing releases the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::vector<double> BatchSizeBuckets() {
  std::vector<double> bounds;
  for (double b = 1; b <= 512; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace

// Owns the threads, the queues and the connections. See the class comment in
// the header for the threading model.
// Without migrating: the schema version, refused when it is not this build's.
Result<int> CheckSchema(Database& db) {
  Result<std::string> has = db.QueryText(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
      "find schema_migrations");
  if (!has) return std::move(has).error();
  int found = 0;
  if (*has != "0") {
    Result<std::string> max_text =
        db.QueryText("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "read version");
    if (!max_text) return std::move(max_text).error();
    found = std::atoi(max_text->c_str());
  }
  const int latest = LatestSchemaVersion();
  if (found > latest) {
    return Unavailable("database schema version " + std::to_string(found) +
                           " is newer than this build's schema version " + std::to_string(latest) +
                           "; refusing to open it (upgrade rtgw, do not downgrade the database)",
                       "store_unavailable");
  }
  if (found < latest) {
    return Unavailable("database schema version " + std::to_string(found) +
                           " is behind this build's schema version " + std::to_string(latest) +
                           "; run `rtgw migrate --database-url URL` (or start with --migrate on)",
                       "store_unavailable");
  }
  return found;
}

class SqliteJobStore::Impl {
 public:
  Impl(SqliteOptions options, FileLock lock, std::unique_ptr<JobWriter> writer,
       std::unique_ptr<WalCheckpointer> checkpointer,
       std::vector<std::unique_ptr<JobReader>> readers, MetricsRegistry* metrics)
      : options_(std::move(options)),
        lock_(std::move(lock)),
        writer_(std::move(writer)),
        checkpointer_(std::move(checkpointer)),
        readers_(std::move(readers)),
        cache_(options_.job_cache_entries) {
    if (metrics != nullptr) {
      batch_size_metric_ =
          metrics->GetHistogram("rtgw_store_commit_batch_size",
                                "Writes per group-commit transaction.", {}, BatchSizeBuckets());
      commit_seconds_metric_ = metrics->GetHistogram(
          "rtgw_store_commit_seconds",
          "Time from BEGIN to durable COMMIT of one group-commit transaction.", {},
          MetricsRegistry::LatencyBucketsSeconds());
      cache_hits_ = metrics->GetCounter("rtgw_store_job_cache_total",
                                        "Job reads by whether the in-memory job cache had the row.",
                                        {{"result", "hit"}});
      cache_misses_ = metrics->GetCounter(
          "rtgw_store_job_cache_total", "Job reads by whether the in-memory job cache had the row.",
          {{"result", "miss"}});
      queue_gauge_ = metrics->GetGauge("rtgw_store_write_queue",
                                       "Writes queued and not yet taken by the writer.", {});
    }
  }

  ~Impl() {
    if (t_store_owner == this) {
      // Destroying the store from its own callback cannot join the thread it
      // runs on. A programmer error; crash loudly instead of corrupting memory.
      LogError("SqliteJobStore destroyed from one of its own callbacks");
      std::terminate();
    }
    Close();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status Start() {
    try {
      {
        std::lock_guard lock(read_mu_);
        live_readers_ = static_cast<int>(readers_.size());
      }
      for (auto& reader : readers_) {
        reader_threads_.emplace_back([this, r = reader.get()] { ReaderLoop(*r); });
      }
      completer_thread_ = std::thread([this] { CompleterLoop(); });
      writer_thread_ = std::thread([this] { WriterLoop(); });
    } catch (const std::exception& e) {
      {
        // Threads that never started will not decrement the count themselves.
        std::lock_guard lock(read_mu_);
        live_readers_ -= static_cast<int>(readers_.size() - reader_threads_.size());
      }
      Close();
      return Unavailable(std::string("sqlite: cannot start store threads: ") + e.what(),
                         "store_unavailable");
    }
    return Ok{};
  }

  void EnqueueWrite(std::unique_ptr<PendingWrite> op, bool internal) {
    Error rejection;
    {
      std::lock_guard lock(write_mu_);
      if (writer_stopping_ || (writes_closed_ && !internal)) {
        rejection = StoreClosed();
      } else if (write_queue_.size() >= options_.max_queue) {
        rejection = StoreOverloaded();
      } else {
        write_queue_.push_back(std::move(op));
        SetQueueGauge();
      }
    }
    if (!op) {
      write_cv_.notify_one();
      return;
    }
    op->Fail(std::move(rejection));
    CompleteOnStoreThread(std::move(op));
  }

  void EnqueueRead(std::unique_ptr<PendingRead> op) {
    Error rejection;
    {
      std::lock_guard lock(read_mu_);
      if (reads_closed_) {
        rejection = StoreClosed();
      } else if (read_queue_.size() >= options_.max_queue) {
        rejection = StoreOverloaded();
      } else {
        read_queue_.push_back(std::move(op));
      }
    }
    if (!op) {
      read_cv_.notify_one();
      return;
    }
    op->Fail(std::move(rejection));
    CompleteOnStoreThread(std::move(op));
  }

  // A hit completes at once on the caller's thread; a miss reads on a reader
  // thread and fills the cache unless a commit raced the read.
  void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) {
    if (std::shared_ptr<const JobRecord> hit = cache_.Find(tenant_id, job_id)) {
      if (cache_hits_ != nullptr) cache_hits_->Add();
      if (!ReadsOpen()) {
        InvokeNoThrow<JobRecord>(done, StoreClosed());
        return;
      }
      InvokeNoThrow<JobRecord>(done, JobRecord(*hit));
      return;
    }
    if (cache_misses_ != nullptr) cache_misses_->Add();
    EnqueueRead(MakeRead<JobRecord>(
        [this, t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) -> Result<JobRecord> {
          const std::uint64_t generation = cache_.Generation();
          Result<JobRecord> job = r.GetJob(t, j);
          if (job) cache_.FillIfUnchanged(generation, *job);
          return job;
        },
        std::move(done)));
  }

  void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) {
    EnqueueRead(MakeRead<JobDetail>(
        [this, t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) -> Result<JobDetail> {
          const std::uint64_t generation = cache_.Generation();
          Result<JobDetail> detail = r.GetDetail(t, j);
          if (detail) cache_.FillIfUnchanged(generation, detail->job);
          return detail;
        },
        std::move(done)));
  }

  void SetOutboxListener(std::function<void()> listener) {
    std::lock_guard lock(write_mu_);  // publishes it to the writer thread
    outbox_listener_ = std::move(listener);
  }

  void Close() {
    if (t_store_owner == this) {
      // Called from one of our own callbacks: stop taking new work now; the
      // owner's Close() (or the destructor) drains and joins.
      StopAccepting();
      return;
    }
    std::lock_guard close_lock(close_mu_);
    if (closed_) return;
    StopAccepting();
    // Readers first: a health check they are running may still queue its
    // write, which the writer (still running) then commits.
    {
      std::lock_guard lock(read_mu_);
      readers_stopping_ = true;
    }
    read_cv_.notify_all();
    for (std::thread& t : reader_threads_) {
      if (t.joinable()) t.join();
    }
    {
      std::lock_guard lock(write_mu_);
      writer_stopping_ = true;
    }
    write_cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    // The writer handed over its last batch; answer it.
    {
      std::lock_guard lock(complete_mu_);
      completer_stopping_ = true;
    }
    complete_cv_.notify_all();
    if (completer_thread_.joinable()) completer_thread_.join();
    // Readers and the checkpointer before the writer: the last connection to
    // close checkpoints the WAL into the database file.
    readers_.clear();
    checkpointer_.reset();
    writer_.reset();
    lock_.Release();  // no connection left: another store may open the file now
    closed_ = true;
  }

 private:
  void StopAccepting() {
    {
      std::lock_guard lock(write_mu_);
      writes_closed_ = true;
    }
    std::lock_guard lock(read_mu_);
    reads_closed_ = true;
    reads_open_.store(false, std::memory_order_release);
  }

  bool ReadsOpen() const { return reads_open_.load(std::memory_order_acquire); }

  void SetQueueGauge() {
    if (queue_gauge_ != nullptr) queue_gauge_->Set(static_cast<std::int64_t>(write_queue_.size()));
  }

  // Completes a refused task on a reader thread, as the JobStore contract
  // asks (never on the caller's thread). Once every reader has exited
  // (Close() is past them) there is no store thread left, so it completes
  // here.
  void CompleteOnStoreThread(std::unique_ptr<StoreTask> task) {
    {
      std::lock_guard lock(read_mu_);
      if (live_readers_ > 0) {
        rejected_.push_back(std::move(task));
      }
    }
    if (!task) {
      read_cv_.notify_one();
      return;
    }
    task->Complete();
  }

  void ReaderLoop(JobReader& reader) noexcept {
    t_store_owner = this;
    for (;;) {
      std::unique_ptr<StoreTask> rejected;
      std::unique_ptr<PendingRead> read;
      {
        std::unique_lock lock(read_mu_);
        read_cv_.wait(lock, [this] {
          return readers_stopping_ || !rejected_.empty() || !read_queue_.empty();
        });
        // Refusals first: they were meant to be answered at once.
        if (!rejected_.empty()) {
          rejected = std::move(rejected_.front());
          rejected_.pop_front();
        } else if (!read_queue_.empty()) {
          read = std::move(read_queue_.front());
          read_queue_.pop_front();
        } else {
          --live_readers_;  // stopping and drained
          return;
        }
      }
      if (rejected) {
        rejected->Complete();
      } else {
        read->Execute(reader);
        read->Complete();
      }
    }
  }

  void WriterLoop() noexcept {
    t_store_owner = this;
    WriteBatch batch;
    for (;;) {
      // Reserved before the lock is taken, so taking a batch never allocates
      // while holding it. (Out of memory here ends the process: noexcept.)
      batch.reserve(options_.max_batch);
      {
        std::unique_lock lock(write_mu_);
        write_cv_.wait(lock, [this] { return writer_stopping_ || !write_queue_.empty(); });
        if (write_queue_.empty()) return;  // stopping and drained
        const std::size_t n = std::min(write_queue_.size(), options_.max_batch);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(write_queue_.front()));
          write_queue_.pop_front();
        }
        SetQueueGauge();
      }
      if (CommitBatch(batch)) {
        for (auto& op : batch) op->AfterCommit(cache_);
        if (writer_->TakeOutboxInserts() > 0 && outbox_listener_) {
          try {
            outbox_listener_();
          } catch (...) {
            LogError("outbox listener threw");
          }
        }
      } else {
        (void)writer_->TakeOutboxInserts();
      }
      // Only now, with the batch durable (or failed as a whole), answer: the
      // completer thread runs the callbacks while this thread goes on with
      // the next batch (or checkpoint work, which then delays only that).
      HandOver(batch);
      if (checkpointer_) checkpointer_->AfterCommit();
    }
  }

  // Moves `batch` to the completer and leaves it empty.
  void HandOver(WriteBatch& batch) noexcept {
    {
      std::lock_guard lock(complete_mu_);
      complete_queue_.push_back(std::move(batch));
    }
    batch = WriteBatch();
    complete_cv_.notify_one();
  }

  // Answers committed (or failed) batches in the order the writer handed
  // them over. Exits once the writer has stopped and everything is answered.
  void CompleterLoop() noexcept {
    t_store_owner = this;
    for (;;) {
      WriteBatch batch;
      {
        std::unique_lock lock(complete_mu_);
        complete_cv_.wait(lock, [this] { return completer_stopping_ || !complete_queue_.empty(); });
        if (complete_queue_.empty()) return;  // stopping and drained
        batch = std::move(complete_queue_.front());
        complete_queue_.pop_front();
      }
      for (auto& op : batch) op->Complete();
    }
  }

  // Runs every write of `batch` in one transaction, each in its own
  // savepoint, and commits. On return every op holds its outcome; when the
  // transaction could not be committed every op holds Unavailable.
  bool CommitBatch(std::vector<std::unique_ptr<PendingWrite>>& batch) noexcept {
    const auto start = std::chrono::steady_clock::now();
    std::optional<Error> batch_error;
    if (Status s = writer_->Begin(); !s) batch_error = std::move(s).error();
    for (std::size_t i = 0; !batch_error && i < batch.size(); ++i) {
      if (Status s = writer_->Savepoint(); !s) {
        batch_error = std::move(s).error();
        break;
      }
      const bool ok = batch[i]->Execute(*writer_);
      // SQLite rolls the whole transaction back by itself on some errors (I/O,
      // disk full); then the earlier writes of the batch are gone too.
      if (!writer_->InTransaction()) {
        batch_error = Unavailable("sqlite: transaction aborted by a failed write; batch not stored",
                                  "store_unavailable");
        break;
      }
      Status end = ok ? writer_->ReleaseSavepoint() : writer_->RollbackToSavepoint();
      if (!end) batch_error = std::move(end).error();
    }
    if (!batch_error) {
      if (Status s = writer_->Commit(); !s) batch_error = std::move(s).error();
    }
    if (batch_error) {
      writer_->Rollback();
      LogError("store batch not committed", {{"writes", static_cast<unsigned long>(batch.size())},
                                             {"error", batch_error->message}});
      Error unavailable = *batch_error;
      unavailable.code = ErrorCode::kUnavailable;
      unavailable.api_code = "store_unavailable";
      for (auto& op : batch) op->Fail(unavailable);
    }
    if (batch_size_metric_ != nullptr)
      batch_size_metric_->Observe(static_cast<double>(batch.size()));
    if (commit_seconds_metric_ != nullptr) {
      commit_seconds_metric_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return !batch_error;
  }

  const SqliteOptions options_;
  std::function<void()> outbox_listener_;            // set before writes start; read by the writer
  FileLock lock_;                                    // released last, after the connections closed
  std::unique_ptr<JobWriter> writer_;                // used only by the writer thread
  std::unique_ptr<WalCheckpointer> checkpointer_;    // null: SQLite's own autocheckpoint (or none)
  std::vector<std::unique_ptr<JobReader>> readers_;  // readers_[i] used only by thread i
  Histogram* batch_size_metric_ = nullptr;
  Histogram* commit_seconds_metric_ = nullptr;
  Counter* cache_hits_ = nullptr;
  Counter* cache_misses_ = nullptr;
  Gauge* queue_gauge_ = nullptr;

  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<std::unique_ptr<PendingWrite>> write_queue_;  // GUARDED_BY(write_mu_)
  bool writes_closed_ = false;                             // GUARDED_BY(write_mu_)
  bool writer_stopping_ = false;                           // GUARDED_BY(write_mu_)

  // Committed batches waiting for their callbacks, oldest first.
  std::mutex complete_mu_;
  std::condition_variable complete_cv_;
  std::deque<WriteBatch> complete_queue_;  // GUARDED_BY(complete_mu_)
  bool completer_stopping_ = false;        // GUARDED_BY(complete_mu_)

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<std::unique_ptr<PendingRead>> read_queue_;  // GUARDED_BY(read_mu_)
  std::deque<std::unique_ptr<StoreTask>> rejected_;      // GUARDED_BY(read_mu_)
  bool reads_closed_ = false;                            // GUARDED_BY(read_mu_)
  bool readers_stopping_ = false;                        // GUARDED_BY(read_mu_)
  int live_readers_ = 0;                                 // GUARDED_BY(read_mu_)

  JobCache cache_;
  std::atomic<bool> reads_open_{true};  // mirrors !reads_closed_ for the lock-free hit path

  std::mutex close_mu_;
  bool closed_ = false;  // GUARDED_BY(close_mu_)
  std::vector<std::thread> reader_threads_;
  std::thread writer_thread_;
  std::thread completer_thread_;
};

// ---- SqliteJobStore ----

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(SqliteOptions options,
                                                             MetricsRegistry* metrics) {
  if (Status s = ValidateOptions(options); !s) return std::move(s).error();
  if (sqlite3_threadsafe() == 0) {
    return Internal("sqlite: library built with SQLITE_THREADSAFE=0; the store needs threads");
  }
  Result<FileLock> lock = FileLock::Acquire(options.path);
  if (!lock) return std::move(lock).error();
  Result<Database> write_db = OpenWriteConnection(options);
  if (!write_db) return std::move(write_db).error();
  Result<int> found = options.migrate ? MigrateSchema(*write_db) : CheckSchema(*write_db);
  if (!found) return std::move(found).error();
  if (*found < SchemaVersion()) {
    LogInfo("sqlite schema migrated",
            {{"path", options.path}, {"from_version", *found}, {"to_version", SchemaVersion()}});
  }
  Result<std::unique_ptr<JobWriter>> writer =
      JobWriter::Create(std::move(write_db).value(), options.write_outbox);
  if (!writer) return std::move(writer).error();
  std::unique_ptr<WalCheckpointer> checkpointer;
  if (options.wal_autocheckpoint_pages > 0 && options.background_checkpoint) {
    Result<std::unique_ptr<WalCheckpointer>> started =
        WalCheckpointer::Start({.path = options.path,
                                .pages = options.wal_autocheckpoint_pages,
                                .busy_timeout_ms = options.busy_timeout_ms},
                               (*writer)->db(), metrics);
    if (!started) return std::move(started).error();
    checkpointer = std::move(started).value();
  }

  std::vector<std::unique_ptr<JobReader>> readers;
  for (int i = 0; i < options.reader_threads; ++i) {
    Result<Database> read_db =
        Database::Open(options.path, Database::Mode::kReadOnly, options.busy_timeout_ms);
    if (!read_db) return std::move(read_db).error();
    Result<std::unique_ptr<JobReader>> reader = JobReader::Create(std::move(read_db).value());
    if (!reader) return std::move(reader).error();
    readers.push_back(std::move(reader).value());
  }

  auto impl =
      std::make_unique<Impl>(std::move(options), std::move(lock).value(), std::move(writer).value(),
                             std::move(checkpointer), std::move(readers), metrics);
  if (Status s = impl->Start(); !s) return std::move(s).error();
  return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(std::move(impl)));
}

SqliteJobStore::SqliteJobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteJobStore::~SqliteJobStore() = default;  // ~Impl closes

int SqliteJobStore::SchemaVersion() { return LatestSchemaVersion(); }

Result<int> SqliteJobStore::MigrateFile(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  if (Status s = ValidateOptions(options); !s) return std::move(s).error();
  Result<FileLock> lock = FileLock::Acquire(options.path);
  if (!lock) return std::move(lock).error();
  Result<Database> db = OpenWriteConnection(options);
  if (!db) return std::move(db).error();
  return MigrateSchema(*db);
}

void SqliteJobStore::Submit(SubmitRecord record, Callback<SubmitOutcome> done) {
  impl_->EnqueueWrite(MakeWrite<SubmitOutcome>(SubmitWrite{std::move(record)}, std::move(done)),
                      /*internal=*/false);
}

void SqliteJobStore::AppendEvent(EventRecord record, Callback<EventOutcome> done) {
  impl_->EnqueueWrite(MakeWrite<EventOutcome>(EventWrite{std::move(record)}, std::move(done)),
                      /*internal=*/false);
}

void SqliteJobStore::GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) {
  impl_->GetJob(std::move(tenant_id), std::move(job_id), std::move(done));
}

void SqliteJobStore::GetDetail(std::string tenant_id, std::string job_id,
                               Callback<JobDetail> done) {
  impl_->GetDetail(std::move(tenant_id), std::move(job_id), std::move(done));
}

void SqliteJobStore::CheckHealth(Callback<StoreHealth> done) {
  // Phase 1, a real read on a reader thread; its callback (still on that
  // thread) queues phase 2, a real write through the writer queue. Every
  // failure becomes an unhealthy StoreHealth with a detail, so `done` always
  // gets a value.
  Impl* impl = impl_.get();
  Callback<Ok> after_read = [impl, done = std::move(done)](Status read) mutable {
    if (!read) {
      InvokeNoThrow<StoreHealth>(done,
                                 Unhealthy(false, "read check failed: " + read.error().message));
      return;
    }
    Callback<Ok> after_write = [done = std::move(done)](Status written) mutable {
      InvokeNoThrow<StoreHealth>(
          done,
          written
              ? StoreHealth{.reachable = true, .writable = true, .backend = "sqlite", .detail = {}}
              : Unhealthy(true, "write check failed: " + written.error().message));
    };
    impl->EnqueueWrite(
        MakeWrite<Ok>([](JobWriter& w) { return w.TouchHealth(); }, std::move(after_write)),
        /*internal=*/true);
  };
  impl_->EnqueueRead(MakeRead<Ok>([](JobReader& r) { return r.Ping(); }, std::move(after_read)));
}

void SqliteJobStore::Close() { impl_->Close(); }

// ---- OutboxStore: every call is a write on the writer thread ----

void SqliteJobStore::ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                                 Callback<std::vector<OutboxItem>> done) {
  const std::int64_t lease_us =
      std::chrono::duration_cast<std::chrono::microseconds>(lease).count();
  impl_->EnqueueWrite(MakeWrite<std::vector<OutboxItem>>(
                          [owner = std::move(owner), lease_us, limit](JobWriter& w) {
                            return w.outbox().Claim(owner, lease_us, limit, NowMicros());
                          },
                          std::move(done)),
                      /*internal=*/true);
}

void SqliteJobStore::CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) {
  impl_->EnqueueWrite(MakeWrite<bool>([owner = std::move(owner),
                                       id](JobWriter& w) { return w.outbox().Complete(owner, id); },
                                      std::move(done)),
                      /*internal=*/true);
}

void SqliteJobStore::FailOutbox(std::string owner, std::int64_t id, std::string error,
                                std::chrono::milliseconds retry_after, bool dead,
                                Callback<bool> done) {
  const std::int64_t retry_us =
      std::chrono::duration_cast<std::chrono::microseconds>(retry_after).count();
  impl_->EnqueueWrite(
      MakeWrite<bool>(
          [owner = std::move(owner), id, error = std::move(error), retry_us, dead](JobWriter& w) {
            return w.outbox().Fail(owner, id, error, retry_us, dead, NowMicros());
          },
          std::move(done)),
      /*internal=*/true);
}

void SqliteJobStore::ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                                     Callback<std::vector<OutboxItem>> done) {
  impl_->EnqueueWrite(MakeWrite<std::vector<OutboxItem>>(
                          [tenant_id = std::move(tenant_id), limit](JobWriter& w) {
                            return w.outbox().ListDead(tenant_id, limit);
                          },
                          std::move(done)),
                      /*internal=*/false);
}

void SqliteJobStore::ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                                      Callback<bool> done) {
  impl_->EnqueueWrite(
      MakeWrite<bool>([tenant_id = std::move(tenant_id),
                       id](JobWriter& w) { return w.outbox().Replay(tenant_id, id, NowMicros()); },
                      std::move(done)),
      /*internal=*/false);
}

void SqliteJobStore::GetOutboxStats(Callback<OutboxStats> done) {
  impl_->EnqueueWrite(
      MakeWrite<OutboxStats>([](JobWriter& w) { return w.outbox().Stats(NowMicros()); },
                             std::move(done)),
      /*internal=*/true);
}

void SqliteJobStore::RunWrite(std::function<Status(JobWriter&)> write, Callback<Ok> done) {
  RunWrite(std::move(write), nullptr, std::move(done));
}

void SqliteJobStore::SetOutboxListener(std::function<void()> listener) {
  impl_->SetOutboxListener(std::move(listener));
}

namespace {
// A NodeStore write as the writer runs it (see SqliteJobStore::RunWrite).
struct ExternalWrite {
  std::function<Status(JobWriter&)> op;
  std::function<void(JobCache&)> after;
  Status operator()(JobWriter& w) const { return op(w); }
  void AfterCommit(const Ok&, JobCache& cache) const {
    if (after) after(cache);
  }
};
}  // namespace

void SqliteJobStore::RunWrite(std::function<Status(JobWriter&)> op,
                              std::function<void(JobCache&)> after_commit, Callback<Ok> done) {
  impl_->EnqueueWrite(
      MakeWrite<Ok>(ExternalWrite{std::move(op), std::move(after_commit)}, std::move(done)),
      /*internal=*/false);
}

void SqliteJobStore::RunRead(std::function<Status(JobReader&)> op, Callback<Ok> done) {
  impl_->EnqueueRead(MakeRead<Ok>(std::move(op), std::move(done)));
}

}  // namespace rtgw::storage::sqlite
