#ifndef RTGW_STORAGE_STORE_EXECUTOR_HPP_
#define RTGW_STORAGE_STORE_EXECUTOR_HPP_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "storage/job_store.hpp"

// The one engine both store backends (SQLite, PostgreSQL) run their work on:
// typed tasks that end in exactly one callback, bounded admission, store
// threads ("lanes") that take group-commit batches of writes or single reads,
// completion on a store thread, and an orderly Close. A backend supplies only
// what is its own: how a batch runs in one transaction on a lane's
// connection, and how a read runs.
namespace rtgw::storage {

inline Error StoreClosed() { return Unavailable("store closed", "store_unavailable"); }
inline Error StoreOverloaded() { return Unavailable("store overloaded", "store_unavailable"); }

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

// A batch whose transaction did not commit: every write of it gets
// Unavailable ("store_unavailable") with the reason; logged once.
template <class Batch>
void FailBatch(Batch& batch, const Error& error) {
  LogError("store batch not committed",
           {{"writes", static_cast<unsigned long>(batch.size())}, {"error", error.message}});
  Error unavailable = error;
  unavailable.code = ErrorCode::kUnavailable;
  unavailable.api_code = "store_unavailable";
  for (auto& write : batch) write->Fail(unavailable);
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

// A write of a group-commit batch, run on the writer's context `Ctx` (a
// connection in a transaction).
template <class Ctx>
class StoreWrite : public StoreTask {
 public:
  // Runs the write and keeps the outcome. False when the outcome is an error
  // (the backend then rolls the write's savepoint back).
  virtual bool Execute(Ctx& ctx) noexcept = 0;
  // Called only after the transaction holding this write committed durably.
  virtual void AfterCommit() noexcept {}

  // Order of writes within a batch where the backend sorts them (PostgreSQL:
  // replicas lock rows in the same order and rarely deadlock).
  std::string order_tenant;
  std::string order_key;
  // PostgreSQL: a quota-checked submit; its batch takes order_tenant's quota
  // lock before any write (PgLockQuotaTenants).
  bool quota_lock = false;
  int attempts = 0;  // runs so far that the backend gave back for a retry
};

// A read (or any single task outside the batches), run on `Ctx`.
template <class Ctx>
class StoreRead : public StoreTask {
 public:
  virtual void Execute(Ctx& ctx) noexcept = 0;
  // True when running it twice is harmless (a read): a backend may run it
  // again on a fresh connection when the first one died under it.
  bool rerunnable = false;
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

// `fn(ctx)` returns Result<T> (or anything convertible). When Fn has
// `AfterCommit(const T&)`, it is called with the value once the batch is
// durable; it must not throw (catch inside).
template <class Ctx, class T, class Fn>
class TypedWrite final : public StoreWrite<Ctx> {
 public:
  TypedWrite(Fn fn, Callback<T> done) : fn_(std::move(fn)), outcome_(std::move(done)) {}
  bool Execute(Ctx& ctx) noexcept override {
    auto run = [&] { return fn_(ctx); };
    return outcome_.Run(run, "store write");
  }
  void AfterCommit() noexcept override {
    if constexpr (requires(const Fn& f, const T& v) { f.AfterCommit(v); }) {
      const Result<T>* result = outcome_.result();
      if (result != nullptr && result->ok()) fn_.AfterCommit(**result);
    }
  }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
};

template <class Ctx, class T, class Fn>
class TypedRead final : public StoreRead<Ctx> {
 public:
  TypedRead(Fn fn, Callback<T> done) : fn_(std::move(fn)), outcome_(std::move(done)) {}
  void Execute(Ctx& ctx) noexcept override {
    auto run = [&] { return fn_(ctx); };
    (void)outcome_.Run(run, "store read");
  }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
};

template <class Ctx, class T, class Fn>
std::unique_ptr<StoreWrite<Ctx>> MakeWrite(Fn fn, Callback<T> done) {
  return std::make_unique<TypedWrite<Ctx, T, Fn>>(std::move(fn), std::move(done));
}

template <class Ctx, class T, class Fn>
std::unique_ptr<StoreRead<Ctx>> MakeRead(Fn fn, Callback<T> done, bool rerunnable = true) {
  auto read = std::make_unique<TypedRead<Ctx, T, Fn>>(std::move(fn), std::move(done));
  read->rerunnable = rerunnable;
  return read;
}

// How many store threads of each kind, and their limits.
struct ExecutorOptions {
  int writer_lanes = 0;            // take only write batches (SQLite: the one writer)
  int reader_lanes = 0;            // take only reads (SQLite: one per read connection)
  int mixed_lanes = 0;             // take either, alternating when both wait (PostgreSQL)
  std::size_t max_batch = 64;      // writes handed to one run_batch, at most
  std::size_t max_queue = 65'536;  // queued writes, and queued reads, each; beyond: overloaded
  // true: the callbacks of a committed batch run on a completer thread, in
  // commit order, while the lane goes on with the next batch. false: the lane
  // runs them before taking more work.
  bool completer_thread = false;
  std::vector<double> batch_size_buckets;  // rtgw_store_commit_batch_size histogram bounds
};

// Lanes, queues, admission and completion for one store. `WriteCtx` and
// `ReadCtx` are what a backend's writes and reads run on; the executor never
// touches them: the backend's hooks map a lane number to its context.
//
// Admission: after StopAccepting() (or Close()), every call is refused with
// StoreClosed(), except internal writes (a health check's write phase, the
// relay's outbox bookkeeping) while the writer lanes still run. A full queue
// refuses with StoreOverloaded(). A refusal completes on a store thread (a
// reader or mixed lane), never on the caller's, as the store contracts ask;
// once no such thread is left it completes inline.
//
// Metrics (when given): rtgw_store_commit_batch_size, rtgw_store_commit_seconds
// (one run_batch: BEGIN to durable COMMIT), rtgw_store_write_queue.
//
// Thread-safety: every public method is safe for concurrent use. Close()
// from a lane (a callback) only stops accepting; the owner closes from outside.
template <class WriteCtx, class ReadCtx>
class StoreExecutor {
 public:
  using Write = StoreWrite<WriteCtx>;
  using Read = StoreRead<ReadCtx>;
  using Batch = std::vector<std::unique_ptr<Write>>;

  struct Hooks {
    // Runs every write of `batch` in one transaction on `lane`'s connection.
    // On return each write holds its outcome: its own, or the batch's
    // failure (Fail). Writes to run again (a lost deadlock) are moved into
    // `retry`; they go back to the front of the queue. Called on the lane.
    std::function<void(int lane, Batch& batch, Batch& retry)> run_batch;
    // Runs after a batch was handed to its callbacks (SQLite: WAL checkpoint
    // bookkeeping). May be empty.
    std::function<void(int lane)> after_batch;
    // Runs `read` on `lane`'s connection (it keeps its outcome).
    std::function<void(int lane, Read& read)> run_read;
  };

  StoreExecutor(ExecutorOptions options, Hooks hooks, MetricsRegistry* metrics)
      : options_(std::move(options)), hooks_(std::move(hooks)) {
    if (metrics != nullptr) {
      batch_size_metric_ = metrics->GetHistogram("rtgw_store_commit_batch_size",
                                                 "Writes per group-commit transaction.", {},
                                                 options_.batch_size_buckets);
      commit_seconds_metric_ = metrics->GetHistogram(
          "rtgw_store_commit_seconds",
          "Time from BEGIN to durable COMMIT of one group-commit transaction.", {},
          MetricsRegistry::LatencyBucketsSeconds());
      queue_gauge_ = metrics->GetGauge("rtgw_store_write_queue",
                                       "Writes queued and not yet taken by a store thread.", {});
    }
  }

  ~StoreExecutor() {
    if (OnOwnThread()) {
      // Destroying the store from its own callback cannot join the thread it
      // runs on. A programmer error; crash loudly instead of corrupting memory.
      LogError("store destroyed from one of its own callbacks");
      std::terminate();
    }
    Close();
  }

  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Lanes are numbered writers first, then readers, then mixed.
  Status Start() {
    const int lanes = options_.writer_lanes + options_.reader_lanes + options_.mixed_lanes;
    {
      std::lock_guard lock(mu_);
      servers_ = options_.reader_lanes + options_.mixed_lanes;
    }
    try {
      if (options_.completer_thread) completer_ = std::thread([this] { CompleterLoop(); });
      for (int lane = 0; lane < lanes; ++lane) {
        threads_.emplace_back([this, lane] { LaneLoop(lane, KindOf(lane)); });
      }
    } catch (const std::exception& e) {
      {
        // Serving lanes that never started will not count themselves out.
        std::lock_guard lock(mu_);
        for (int lane = static_cast<int>(threads_.size()); lane < lanes; ++lane) {
          if (KindOf(lane) != Kind::kWriter) --servers_;
        }
      }
      Close();
      return Unavailable(std::string("cannot start store threads: ") + e.what(),
                         "store_unavailable");
    }
    return Ok{};
  }

  void EnqueueWrite(std::unique_ptr<Write> write, bool internal = false) {
    Error refusal;
    {
      std::unique_lock lock(mu_);
      if (writers_stopping_ || (!accepting_ && !internal)) {
        refusal = StoreClosed();
      } else if (writes_.size() >= options_.max_queue) {
        refusal = StoreOverloaded();
      } else {
        writes_.push_back(std::move(write));
        SetQueueGauge();
        lock.unlock();
        WakeForWrites();
        return;
      }
    }
    write->Fail(std::move(refusal));
    CompleteOnStoreThread(std::move(write));
  }

  void EnqueueRead(std::unique_ptr<Read> read) {
    Error refusal;
    {
      std::unique_lock lock(mu_);
      if (!accepting_) {
        refusal = StoreClosed();
      } else if (reads_.size() >= options_.max_queue) {
        refusal = StoreOverloaded();
      } else {
        reads_.push_back(std::move(read));
        lock.unlock();
        WakeForReads();
        return;
      }
    }
    read->Fail(std::move(refusal));
    CompleteOnStoreThread(std::move(read));
  }

  // True until StopAccepting(): a store may answer from memory only then.
  // Lock-free (the cache-hit path of a read calls it).
  bool Accepting() const { return open_.load(std::memory_order_acquire); }

  // Refuses new work (internal writes still run while the writers do).
  void StopAccepting() {
    std::lock_guard lock(mu_);
    accepting_ = false;
    open_.store(false, std::memory_order_release);
  }

  // Stops accepting, lets the reader lanes drain and exit (a health check
  // they run may still queue its write), then the writer and mixed lanes,
  // then the completer. Every queued task is answered. Idempotent.
  void Close() {
    if (OnOwnThread()) {
      StopAccepting();
      return;
    }
    std::lock_guard close_lock(close_mu_);
    if (closed_) return;
    StopAccepting();
    StopLanes(Kind::kReader, readers_stopping_, read_cv_);
    {
      std::lock_guard lock(mu_);
      writers_stopping_ = true;
    }
    StopLanes(Kind::kWriter, writers_stopping_, write_cv_);
    StopLanes(Kind::kMixed, writers_stopping_, mixed_cv_);
    {
      std::lock_guard lock(complete_mu_);
      completer_stopping_ = true;
    }
    complete_cv_.notify_all();
    if (completer_.joinable()) completer_.join();
    closed_ = true;
  }

  // True on one of this executor's threads (lanes, completer).
  bool OnOwnThread() const { return OwnerSlot() == this; }

 private:
  enum class Kind { kWriter, kReader, kMixed };

  static const void*& OwnerSlot() {
    static thread_local const void* owner = nullptr;
    return owner;
  }

  Kind KindOf(int lane) const {
    if (lane < options_.writer_lanes) return Kind::kWriter;
    if (lane < options_.writer_lanes + options_.reader_lanes) return Kind::kReader;
    return Kind::kMixed;
  }

  void StopLanes(Kind kind, bool& flag, std::condition_variable& cv) {
    {
      std::lock_guard lock(mu_);
      flag = true;
    }
    cv.notify_all();
    for (std::size_t lane = 0; lane < threads_.size(); ++lane) {
      if (KindOf(static_cast<int>(lane)) == kind && threads_[lane].joinable()) {
        threads_[lane].join();
      }
    }
  }

  void WakeForWrites() {
    if (options_.writer_lanes > 0) write_cv_.notify_one();
    if (options_.mixed_lanes > 0) mixed_cv_.notify_one();
  }

  void WakeForReads() {
    if (options_.reader_lanes > 0) read_cv_.notify_one();
    if (options_.mixed_lanes > 0) mixed_cv_.notify_one();
  }

  void SetQueueGauge() {
    if (queue_gauge_ != nullptr) queue_gauge_->Set(static_cast<std::int64_t>(writes_.size()));
  }

  // Completes a refused task on a serving lane (reader or mixed). Once every
  // one has exited there is no store thread left, so it completes here.
  void CompleteOnStoreThread(std::unique_ptr<StoreTask> task) {
    {
      std::unique_lock lock(mu_);
      if (servers_ > 0) {
        refused_.push_back(std::move(task));
        lock.unlock();
        WakeForReads();
        return;
      }
    }
    task->Complete();
  }

  // What a lane takes next (at most one of the three is set).
  struct Work {
    std::unique_ptr<StoreTask> refused;
    std::unique_ptr<Read> read;
    bool batch = false;
  };

  bool HasWork(Kind kind) {
    switch (kind) {
      case Kind::kWriter:
        return writers_stopping_ || !writes_.empty();
      case Kind::kReader:
        return readers_stopping_ || !refused_.empty() || !reads_.empty();
      case Kind::kMixed:
        return writers_stopping_ || !refused_.empty() || !reads_.empty() || !writes_.empty();
    }
    return true;
  }

  // Under mu_. False: stopping and nothing left for this lane.
  bool Take(Kind kind, bool prefer_read, Batch& batch, Work& work) {
    // Refusals first: they were meant to be answered at once.
    if (kind != Kind::kWriter && !refused_.empty()) {
      work.refused = std::move(refused_.front());
      refused_.pop_front();
      return true;
    }
    const bool reads = kind != Kind::kWriter && !reads_.empty();
    const bool writes = kind != Kind::kReader && !writes_.empty();
    if (reads && (prefer_read || !writes)) {
      work.read = std::move(reads_.front());
      reads_.pop_front();
      return true;
    }
    if (writes) {
      const std::size_t n = std::min(writes_.size(), options_.max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(writes_.front()));
        writes_.pop_front();
      }
      SetQueueGauge();
      work.batch = true;
      return true;
    }
    if (kind != Kind::kWriter) --servers_;  // stopping and drained
    return false;
  }

  std::condition_variable& CvOf(Kind kind) {
    switch (kind) {
      case Kind::kWriter:
        return write_cv_;
      case Kind::kReader:
        return read_cv_;
      case Kind::kMixed:
        return mixed_cv_;
    }
    return mixed_cv_;
  }

  void LaneLoop(int lane, Kind kind) noexcept {
    OwnerSlot() = this;
    bool prefer_read = false;
    Batch batch;
    Batch retry;
    std::condition_variable& cv = CvOf(kind);
    for (;;) {
      // Reserved before the lock is taken, so taking a batch never allocates
      // while holding it. (Out of memory here ends the process: noexcept.)
      if (kind != Kind::kReader) batch.reserve(options_.max_batch);
      Work work;
      {
        std::unique_lock lock(mu_);
        cv.wait(lock, [&] { return HasWork(kind); });
        if (!Take(kind, prefer_read, batch, work)) return;
      }
      prefer_read = !prefer_read;
      if (work.refused) {
        work.refused->Complete();
      } else if (work.read) {
        hooks_.run_read(lane, *work.read);
        work.read->Complete();
      } else {
        RunBatch(lane, batch, retry);
      }
    }
  }

  void RunBatch(int lane, Batch& batch, Batch& retry) noexcept {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t size = batch.size();
    hooks_.run_batch(lane, batch, retry);
    if (batch_size_metric_ != nullptr) batch_size_metric_->Observe(static_cast<double>(size));
    if (commit_seconds_metric_ != nullptr) {
      commit_seconds_metric_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    // run_batch moved the writes to retry out; the others are answered.
    std::erase_if(batch, [](const std::unique_ptr<Write>& w) { return !w; });
    if (!retry.empty()) {
      {
        std::lock_guard lock(mu_);
        for (auto it = retry.rbegin(); it != retry.rend(); ++it) writes_.push_front(std::move(*it));
        SetQueueGauge();
      }
      retry.clear();
      WakeForWrites();
    }
    if (options_.completer_thread) {
      {
        std::lock_guard lock(complete_mu_);
        complete_queue_.push_back(std::move(batch));
      }
      complete_cv_.notify_one();
    } else {
      for (auto& write : batch) write->Complete();
    }
    batch = Batch();
    if (hooks_.after_batch) hooks_.after_batch(lane);
  }

  // Answers committed (or failed) batches in the order the lanes handed them
  // over. Exits once the lanes have stopped and everything is answered.
  void CompleterLoop() noexcept {
    OwnerSlot() = this;
    for (;;) {
      Batch batch;
      {
        std::unique_lock lock(complete_mu_);
        complete_cv_.wait(lock, [this] { return completer_stopping_ || !complete_queue_.empty(); });
        if (complete_queue_.empty()) return;  // stopping and drained
        batch = std::move(complete_queue_.front());
        complete_queue_.pop_front();
      }
      for (auto& write : batch) write->Complete();
    }
  }

  const ExecutorOptions options_;
  const Hooks hooks_;
  Histogram* batch_size_metric_ = nullptr;
  Histogram* commit_seconds_metric_ = nullptr;
  Gauge* queue_gauge_ = nullptr;

  std::mutex mu_;
  std::condition_variable write_cv_;                // writer lanes
  std::condition_variable read_cv_;                 // reader lanes
  std::condition_variable mixed_cv_;                // mixed lanes
  std::deque<std::unique_ptr<Write>> writes_;       // GUARDED_BY(mu_)
  std::deque<std::unique_ptr<Read>> reads_;         // GUARDED_BY(mu_)
  std::deque<std::unique_ptr<StoreTask>> refused_;  // GUARDED_BY(mu_)
  bool accepting_ = true;                           // GUARDED_BY(mu_)
  bool readers_stopping_ = false;                   // GUARDED_BY(mu_)
  bool writers_stopping_ = false;                   // GUARDED_BY(mu_)
  int servers_ = 0;  // reader and mixed lanes still running; GUARDED_BY(mu_)

  std::atomic<bool> open_{true};  // mirrors accepting_ for Accepting()

  std::mutex complete_mu_;
  std::condition_variable complete_cv_;
  std::deque<Batch> complete_queue_;  // GUARDED_BY(complete_mu_)
  bool completer_stopping_ = false;   // GUARDED_BY(complete_mu_)

  std::mutex close_mu_;
  bool closed_ = false;  // GUARDED_BY(close_mu_)
  std::vector<std::thread> threads_;
  std::thread completer_;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_STORE_EXECUTOR_HPP_
