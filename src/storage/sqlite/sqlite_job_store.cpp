#include "storage/sqlite/sqlite_job_store.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "common/logging.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {
namespace {

// Set on every store-owned thread to the Impl that owns it, so Close() can
// tell that it was called from one of its own callbacks (where joining would
// mean joining itself).
thread_local const void* t_store_owner = nullptr;

Error StoreClosed() { return Unavailable("store closed", "store_unavailable"); }
Error StoreOverloaded() { return Unavailable("store overloaded", "store_unavailable"); }

// Calls `done` and swallows whatever it throws: an exception must never
// unwind a store thread.
template <class T>
void InvokeNoThrow(Callback<T>& done, Result<T> result) noexcept {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    LogError("store callback threw", {{"what", e.what()}});
  } catch (...) {
    LogError("store callback threw", {{"what", "unknown exception"}});
  }
}

// Anything that ends in exactly one callback.
class StoreTask {
 public:
  virtual ~StoreTask() = default;
  // Replaces the outcome with `error` (admission refused, batch not durable).
  virtual void Fail(Error error) = 0;
  // Invokes the callback with the outcome. Never throws. Called once.
  virtual void Complete() noexcept = 0;
};

class PendingWrite : public StoreTask {
 public:
  // Runs the write on the writer connection, inside its savepoint, and keeps
  // the outcome. Returns false when the outcome is an error (the caller then
  // rolls the savepoint back).
  virtual bool Execute(JobWriter& writer) noexcept = 0;
};

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
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
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
  return Ok{};
}

Result<Database> OpenWriteConnection(const SqliteOptions& o) {
  Result<Database> db = Database::Open(o.path, Database::Mode::kReadWriteCreate, o.busy_timeout_ms);
  if (!db) return db;
  Result<std::string> journal = db->QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  if (!journal) return std::move(journal).error();
  if (*journal != "wal") {
    return Unavailable(
        "sqlite: could not switch " + o.path + " to WAL (journal_mode=" + *journal + ")",
        "store_unavailable");
  }
  // Validated against a fixed list above, so it is safe to splice in.
  const std::string sync = "PRAGMA synchronous = " + *NormalizeSynchronous(o.synchronous);
  if (Status s = db->Exec(sync, "set synchronous"); !s) return std::move(s).error();
  if (Status s = db->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"); !s) {
    return std::move(s).error();
  }
  return db;
}

std::vector<double> BatchSizeBuckets() {
  std::vector<double> bounds;
  for (double b = 1; b <= 512; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace

// Owns the threads, the queues and the connections. See the class comment in
// the header for the threading model.
class SqliteJobStore::Impl {
 public:
  Impl(SqliteOptions options, std::unique_ptr<JobWriter> writer,
       std::vector<std::unique_ptr<JobReader>> readers, MetricsRegistry* metrics)
      : options_(std::move(options)), writer_(std::move(writer)), readers_(std::move(readers)) {
    if (metrics != nullptr) {
      batch_size_metric_ =
          metrics->GetHistogram("rtgw_store_commit_batch_size",
                                "Writes per group-commit transaction.", {}, BatchSizeBuckets());
      commit_seconds_metric_ = metrics->GetHistogram(
          "rtgw_store_commit_seconds",
          "Time from BEGIN to durable COMMIT of one group-commit transaction.", {},
          MetricsRegistry::LatencyBucketsSeconds());
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
    // Readers before the writer: the last connection to close checkpoints
    // the WAL into the database file.
    readers_.clear();
    writer_.reset();
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
  }

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
    std::vector<std::unique_ptr<PendingWrite>> batch;
    // Reserved once, so taking a batch never allocates while holding the lock.
    // (Out of memory here ends the process: this function is noexcept.)
    batch.reserve(options_.max_batch);
    for (;;) {
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
      CommitBatch(batch);
      // Only now, with the batch durable (or failed as a whole), answer.
      for (auto& op : batch) op->Complete();
      batch.clear();
    }
  }

  // Runs every write of `batch` in one transaction, each in its own
  // savepoint, and commits. On return every op holds its outcome; when the
  // transaction could not be committed every op holds Unavailable.
  void CommitBatch(std::vector<std::unique_ptr<PendingWrite>>& batch) noexcept {
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
  }

  const SqliteOptions options_;
  std::unique_ptr<JobWriter> writer_;                // used only by the writer thread
  std::vector<std::unique_ptr<JobReader>> readers_;  // readers_[i] used only by thread i
  Histogram* batch_size_metric_ = nullptr;
  Histogram* commit_seconds_metric_ = nullptr;
  Gauge* queue_gauge_ = nullptr;

  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<std::unique_ptr<PendingWrite>> write_queue_;  // GUARDED_BY(write_mu_)
  bool writes_closed_ = false;                             // GUARDED_BY(write_mu_)
  bool writer_stopping_ = false;                           // GUARDED_BY(write_mu_)

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<std::unique_ptr<PendingRead>> read_queue_;  // GUARDED_BY(read_mu_)
  std::deque<std::unique_ptr<StoreTask>> rejected_;      // GUARDED_BY(read_mu_)
  bool reads_closed_ = false;                            // GUARDED_BY(read_mu_)
  bool readers_stopping_ = false;                        // GUARDED_BY(read_mu_)
  int live_readers_ = 0;                                 // GUARDED_BY(read_mu_)

  std::mutex close_mu_;
  bool closed_ = false;  // GUARDED_BY(close_mu_)
  std::vector<std::thread> reader_threads_;
  std::thread writer_thread_;
};

// ---- SqliteJobStore ----

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(SqliteOptions options,
                                                             MetricsRegistry* metrics) {
  if (Status s = ValidateOptions(options); !s) return std::move(s).error();
  if (sqlite3_threadsafe() == 0) {
    return Internal("sqlite: library built with SQLITE_THREADSAFE=0; the store needs threads");
  }
  Result<Database> write_db = OpenWriteConnection(options);
  if (!write_db) return std::move(write_db).error();
  Result<int> found = MigrateSchema(*write_db);
  if (!found) return std::move(found).error();
  if (*found < SchemaVersion()) {
    LogInfo("sqlite schema migrated",
            {{"path", options.path}, {"from_version", *found}, {"to_version", SchemaVersion()}});
  }
  Result<std::unique_ptr<JobWriter>> writer = JobWriter::Create(std::move(write_db).value());
  if (!writer) return std::move(writer).error();

  std::vector<std::unique_ptr<JobReader>> readers;
  for (int i = 0; i < options.reader_threads; ++i) {
    Result<Database> read_db =
        Database::Open(options.path, Database::Mode::kReadOnly, options.busy_timeout_ms);
    if (!read_db) return std::move(read_db).error();
    Result<std::unique_ptr<JobReader>> reader = JobReader::Create(std::move(read_db).value());
    if (!reader) return std::move(reader).error();
    readers.push_back(std::move(reader).value());
  }

  auto impl = std::make_unique<Impl>(std::move(options), std::move(writer).value(),
                                     std::move(readers), metrics);
  if (Status s = impl->Start(); !s) return std::move(s).error();
  return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(std::move(impl)));
}

SqliteJobStore::SqliteJobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteJobStore::~SqliteJobStore() = default;  // ~Impl closes

int SqliteJobStore::SchemaVersion() { return LatestSchemaVersion(); }

void SqliteJobStore::Submit(SubmitRecord record, Callback<SubmitOutcome> done) {
  impl_->EnqueueWrite(
      MakeWrite<SubmitOutcome>([r = std::move(record)](JobWriter& w) { return w.Submit(r); },
                               std::move(done)),
      /*internal=*/false);
}

void SqliteJobStore::AppendEvent(EventRecord record, Callback<EventOutcome> done) {
  impl_->EnqueueWrite(
      MakeWrite<EventOutcome>([r = std::move(record)](JobWriter& w) { return w.AppendEvent(r); },
                              std::move(done)),
      /*internal=*/false);
}

void SqliteJobStore::GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) {
  impl_->EnqueueRead(MakeRead<JobRecord>(
      [t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) { return r.GetJob(t, j); },
      std::move(done)));
}

void SqliteJobStore::GetDetail(std::string tenant_id, std::string job_id,
                               Callback<JobDetail> done) {
  impl_->EnqueueRead(MakeRead<JobDetail>(
      [t = std::move(tenant_id), j = std::move(job_id)](JobReader& r) { return r.GetDetail(t, j); },
      std::move(done)));
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

}  // namespace rtgw::storage::sqlite
