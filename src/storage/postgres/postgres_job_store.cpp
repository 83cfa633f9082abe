#include "storage/postgres/postgres_job_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/logging.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_job_ops.hpp"
#include "storage/postgres/pg_outbox_ops.hpp"
#include "storage/postgres/pg_schema.hpp"
#include "storage/store_task.hpp"

namespace rtgw::storage::postgres {
namespace {

using Clock = std::chrono::steady_clock;

// Set on every store-owned thread to the Impl that owns it, so Close() can
// tell that it was called from one of its own callbacks.
thread_local const void* t_store_owner = nullptr;

constexpr int kMaxWriteAttempts = 5;  // a write that keeps losing deadlocks gets Unavailable

// A write of the group-commit batch.
class WriteTask : public StoreTask {
 public:
  // Runs inside the batch transaction (in its savepoint). False when the
  // outcome is an error (the savepoint is then rolled back).
  virtual bool Execute(PgConn& conn) noexcept = 0;
  // (tenant_id, job_id): batches run their writes in this order, so replicas
  // lock rows in the same order and rarely deadlock.
  virtual const std::string& tenant() const = 0;
  virtual const std::string& job() const = 0;
  int attempts = 0;
};

// A read or an outbox call: one task, on its own (autocommit) statements.
class OneShotTask : public StoreTask {
 public:
  virtual void Execute(PgConn& conn) noexcept = 0;
  // A read: when its connection turns out to be dead (a server restart
  // dropped it while idle), it is run once more on a fresh connection.
  bool read_only = false;
};

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
class TypedWrite final : public WriteTask {
 public:
  TypedWrite(std::string tenant, std::string job, Fn fn, Callback<T> done)
      : tenant_(std::move(tenant)),
        job_(std::move(job)),
        fn_(std::move(fn)),
        outcome_(std::move(done)) {}
  bool Execute(PgConn& conn) noexcept override {
    auto run = [&] { return fn_(conn); };
    return outcome_.Run(run, "store write");
  }
  const std::string& tenant() const override { return tenant_; }
  const std::string& job() const override { return job_; }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  std::string tenant_;
  std::string job_;
  Fn fn_;
  Outcome<T> outcome_;
};

template <class T, class Fn>
class TypedTask final : public OneShotTask {
 public:
  TypedTask(Fn fn, Callback<T> done) : fn_(std::move(fn)), outcome_(std::move(done)) {}
  void Execute(PgConn& conn) noexcept override {
    auto run = [&] { return fn_(conn); };
    (void)outcome_.Run(run, "store call");
  }
  void Fail(Error error) override { outcome_.Set(std::move(error)); }
  void Complete() noexcept override { outcome_.Complete(); }

 private:
  Fn fn_;
  Outcome<T> outcome_;
};

// Health never completes with an Error: failures become an unhealthy value.
class HealthTask final : public OneShotTask {
 public:
  explicit HealthTask(Callback<StoreHealth> done) : done_(std::move(done)) {}
  void Execute(PgConn& conn) noexcept override {
    try {
      Result<PgResult> read = conn.Query("SELECT 1", Params(), "health read");
      if (!read) {
        health_ = Unhealthy(false, "read check failed: " + read.error().message);
        return;
      }
      Status write = PgTouchHealth(conn);
      health_ = write ? StoreHealth{.reachable = true,
                                    .writable = true,
                                    .backend = "postgresql",
                                    .detail = {}}
                      : Unhealthy(true, "write check failed: " + write.error().message);
    } catch (const std::exception& e) {
      health_ = Unhealthy(false, std::string("health check threw: ") + e.what());
    }
  }
  void Fail(Error error) override { health_ = Unhealthy(false, error.message); }
  void Complete() noexcept override { InvokeNoThrow<StoreHealth>(done_, std::move(health_)); }

 private:
  static StoreHealth Unhealthy(bool reachable, std::string detail) {
    return StoreHealth{.reachable = reachable,
                       .writable = false,
                       .backend = "postgresql",
                       .detail = std::move(detail)};
  }
  Callback<StoreHealth> done_;
  StoreHealth health_ = Unhealthy(false, "health check did not run");
};

template <class T, class Fn>
std::unique_ptr<WriteTask> MakeWrite(std::string tenant, std::string job, Fn fn, Callback<T> done) {
  return std::make_unique<TypedWrite<T, Fn>>(std::move(tenant), std::move(job), std::move(fn),
                                             std::move(done));
}

template <class T, class Fn>
std::unique_ptr<OneShotTask> MakeTask(Fn fn, Callback<T> done) {
  return std::make_unique<TypedTask<T, Fn>>(std::move(fn), std::move(done));
}

template <class T, class Fn>
std::unique_ptr<OneShotTask> MakeRead(Fn fn, Callback<T> done) {
  auto task = MakeTask<T>(std::move(fn), std::move(done));
  task->read_only = true;
  return task;
}

Status ValidateOptions(const PostgresOptions& o) {
  if (Status s = ValidateConnectionUrl(o.url); !s) return s;
  if (o.pool_size < 1 || o.pool_size > 64) return InvalidArgument("db pool size must be 1..64");
  if (o.max_batch < 1 || o.max_batch > 4096) return InvalidArgument("max_batch must be 1..4096");
  if (o.max_queue < 1) return InvalidArgument("max_queue must be at least 1");
  if (o.reconnect_backoff_ms < 0) return InvalidArgument("reconnect_backoff_ms must be >= 0");
  return Ok{};
}

}  // namespace

class PostgresJobStore::Impl {
 public:
  Impl(PostgresOptions options, MetricsRegistry* metrics) : options_(std::move(options)) {
    if (metrics != nullptr) {
      batch_size_metric_ = metrics->GetHistogram("rtgw_store_commit_batch_size",
                                                 "Writes per group-commit transaction.", {},
                                                 {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
      commit_seconds_metric_ = metrics->GetHistogram(
          "rtgw_store_commit_seconds",
          "Time from BEGIN to durable COMMIT of one group-commit transaction.", {},
          MetricsRegistry::LatencyBucketsSeconds());
      queue_gauge_ = metrics->GetGauge("rtgw_store_write_queue",
                                       "Writes queued and not yet taken by a store thread.", {});
      reconnects_ = metrics->GetCounter("rtgw_store_reconnects_total",
                                        "New database connections opened after start.", {});
    }
  }

  ~Impl() {
    if (t_store_owner == this) {
      LogError("store destroyed from its own callback; terminating");
      std::terminate();
    }
    Close();
  }

  Status Start(std::unique_ptr<PgConn> first) {
    std::vector<std::unique_ptr<PgConn>> conns;
    conns.push_back(std::move(first));
    for (int i = 1; i < options_.pool_size; ++i) conns.push_back(nullptr);  // opened on first use
    {
      std::lock_guard lock(mu_);
      live_workers_ = options_.pool_size;
    }
    try {
      for (auto& c : conns) {
        workers_.emplace_back(
            [this, conn = std::move(c)]() mutable { WorkerLoop(std::move(conn)); });
      }
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu_);
        live_workers_ -= options_.pool_size - static_cast<int>(workers_.size());
      }
      Close();
      return Unavailable(std::string("postgresql: cannot start store threads: ") + e.what(),
                         "store_unavailable");
    }
    return Ok{};
  }

  void EnqueueWrite(std::unique_ptr<WriteTask> op) {
    Error rejection;
    {
      std::lock_guard lock(mu_);
      if (closed_accepting_) {
        rejection = StoreClosed();
      } else if (writes_.size() + tasks_.size() >= options_.max_queue) {
        rejection = StoreOverloaded();
      } else {
        writes_.push_back(std::move(op));
        SetQueueGauge();
      }
    }
    if (!op) {
      cv_.notify_one();
      return;
    }
    op->Fail(std::move(rejection));
    CompleteOnStoreThread(std::move(op));
  }

  void EnqueueTask(std::unique_ptr<OneShotTask> op) {
    Error rejection;
    {
      std::lock_guard lock(mu_);
      if (closed_accepting_) {
        rejection = StoreClosed();
      } else if (writes_.size() + tasks_.size() >= options_.max_queue) {
        rejection = StoreOverloaded();
      } else {
        tasks_.push_back(std::move(op));
      }
    }
    if (!op) {
      cv_.notify_one();
      return;
    }
    op->Fail(std::move(rejection));
    CompleteOnStoreThread(std::move(op));
  }

  void Close() {
    if (t_store_owner == this) {
      StopAccepting();
      return;
    }
    std::lock_guard close_lock(close_mu_);
    if (closed_) return;
    StopAccepting();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
    closed_ = true;
  }

 private:
  void StopAccepting() {
    std::lock_guard lock(mu_);
    closed_accepting_ = true;
  }

  void SetQueueGauge() {
    if (queue_gauge_ != nullptr) queue_gauge_->Set(static_cast<std::int64_t>(writes_.size()));
  }

  void CompleteOnStoreThread(std::unique_ptr<StoreTask> task) {
    {
      std::lock_guard lock(mu_);
      if (live_workers_ > 0) rejected_.push_back(std::move(task));
    }
    if (!task) {
      cv_.notify_one();
      return;
    }
    task->Complete();
  }

  // The worker's connection, (re)opened when missing or broken. While the
  // database cannot be reached, fails at once between connect attempts.
  Result<PgConn*> Connection(std::unique_ptr<PgConn>& slot) {
    if (slot && slot->ok()) return slot.get();
    slot.reset();
    {
      std::lock_guard lock(down_mu_);
      if (Clock::now() < retry_at_) return Unavailable(down_reason_, "store_unavailable");
    }
    Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(options_.url);
    std::lock_guard lock(down_mu_);
    if (!conn) {
      retry_at_ = Clock::now() + std::chrono::milliseconds(options_.reconnect_backoff_ms);
      down_reason_ = conn.error().message;
      if (!down_) {
        down_ = true;
        LogWarn("postgresql unreachable; failing store calls fast until it is back",
                {{"error", down_reason_}});
      }
      return std::move(conn).error();
    }
    if (down_) {
      down_ = false;
      LogInfo("postgresql reachable again");
    }
    if (reconnects_ != nullptr) reconnects_->Add();
    slot = std::move(conn).value();
    return slot.get();
  }

  void WorkerLoop(std::unique_ptr<PgConn> conn) noexcept {
    t_store_owner = this;
    bool prefer_task = false;
    std::vector<std::unique_ptr<WriteTask>> batch;
    batch.reserve(options_.max_batch);
    for (;;) {
      std::unique_ptr<StoreTask> rejected;
      std::unique_ptr<OneShotTask> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] {
          return stopping_ || !rejected_.empty() || !tasks_.empty() || !writes_.empty();
        });
        if (!rejected_.empty()) {
          rejected = std::move(rejected_.front());
          rejected_.pop_front();
        } else if (!tasks_.empty() && (prefer_task || writes_.empty())) {
          task = std::move(tasks_.front());
          tasks_.pop_front();
        } else if (!writes_.empty()) {
          const std::size_t n = std::min(writes_.size(), options_.max_batch);
          for (std::size_t i = 0; i < n; ++i) {
            batch.push_back(std::move(writes_.front()));
            writes_.pop_front();
          }
          SetQueueGauge();
        } else {
          --live_workers_;  // stopping and drained
          return;
        }
      }
      prefer_task = !prefer_task;
      if (rejected) {
        rejected->Complete();
      } else if (task) {
        Result<PgConn*> c = Connection(conn);
        if (!c) {
          task->Fail(std::move(c).error());
        } else {
          task->Execute(**c);
          if (!(*c)->ok() && task->read_only) {
            c = Connection(conn);
            if (c) task->Execute(**c);
          }
          if (c && (*c)->InTransaction()) (void)(*c)->Exec("ROLLBACK", "rollback");
        }
        task->Complete();
      } else {
        RunBatch(conn, batch);
        batch.clear();
      }
    }
  }

  enum class Pass { kDone, kNeedsSavepoints };

  // Runs every write of the batch inside the open transaction. Without
  // savepoints, stops at the first SQL error (kNeedsSavepoints). With them,
  // rolls a failing write back alone and marks lost deadlocks for a retry.
  // A broken connection or failing savepoint sets `batch_error`.
  Pass RunWrites(PgConn& conn, std::vector<std::unique_ptr<WriteTask>>& batch,
                 std::vector<bool>& retry, bool savepoints, std::optional<Error>& batch_error) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (savepoints) {
        if (Status s = conn.Exec("SAVEPOINT w", "savepoint"); !s) {
          batch_error = std::move(s).error();
          return Pass::kDone;
        }
      }
      const bool ok = batch[i]->Execute(conn);
      if (!conn.ok()) {
        batch_error = Unavailable("postgresql: connection lost during a write; batch not stored",
                                  "store_unavailable");
        return Pass::kDone;
      }
      if (!savepoints) {
        if (conn.TransactionFailed()) return Pass::kNeedsSavepoints;
        continue;
      }
      if (!ok && conn.LastErrorRetryable() && batch[i]->attempts + 1 < kMaxWriteAttempts) {
        retry[i] = true;  // lost a deadlock: run it again once this batch's locks are gone
      }
      Status end =
          ok ? conn.Exec("RELEASE SAVEPOINT w", "release savepoint")
             : conn.Exec("ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w", "rollback to savepoint");
      if (!end) {
        batch_error = std::move(end).error();
        return Pass::kDone;
      }
    }
    return Pass::kDone;
  }

  void RunBatch(std::unique_ptr<PgConn>& slot, std::vector<std::unique_ptr<WriteTask>>& batch) {
    std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) {
      if (a->tenant() != b->tenant()) return a->tenant() < b->tenant();
      return a->job() < b->job();
    });
    const auto start = Clock::now();
    std::vector<bool> retry(batch.size(), false);
    std::optional<Error> batch_error;
    Result<PgConn*> c = Connection(slot);
    Status begin = c ? (*c)->Exec("BEGIN", "begin") : Status(c.error());
    if (c && !begin && !(*c)->ok()) {
      // An idle connection the server dropped (restart): nothing was sent yet,
      // so reconnect once and go on.
      c = Connection(slot);
      begin = c ? (*c)->Exec("BEGIN", "begin") : Status(c.error());
    }
    if (!begin) batch_error = std::move(begin).error();
    PgConn* conn = c ? *c : nullptr;
    if (!batch_error) {
      // Fast path: no savepoints. Domain outcomes (replay, conflicts, not
      // found) come from statements that succeed, so they never abort the
      // transaction; only a real SQL error does. Then the whole batch is
      // rolled back and run again with a savepoint per write, which isolates
      // the failing one.
      if (RunWrites(*conn, batch, retry, /*savepoints=*/false, batch_error) ==
          Pass::kNeedsSavepoints) {
        (void)conn->Exec("ROLLBACK", "rollback");
        std::fill(retry.begin(), retry.end(), false);
        if (Status s = conn->Exec("BEGIN", "begin"); !s) {
          batch_error = std::move(s).error();
        } else {
          (void)RunWrites(*conn, batch, retry, /*savepoints=*/true, batch_error);
        }
      }
    }
    if (!batch_error) {
      if (Status s = conn->Exec("COMMIT", "commit"); !s) batch_error = std::move(s).error();
    }
    if (batch_error) {
      if (conn != nullptr && conn->ok() && conn->InTransaction()) {
        (void)conn->Exec("ROLLBACK", "rollback");
      }
      if (conn != nullptr && !conn->ok()) slot.reset();
      LogError("store batch not committed", {{"writes", static_cast<unsigned long>(batch.size())},
                                             {"error", batch_error->message}});
      Error unavailable = *batch_error;
      unavailable.code = ErrorCode::kUnavailable;
      unavailable.api_code = "store_unavailable";
      for (auto& op : batch) op->Fail(unavailable);
      std::fill(retry.begin(), retry.end(), false);
    }
    if (batch_size_metric_ != nullptr)
      batch_size_metric_->Observe(static_cast<double>(batch.size()));
    if (commit_seconds_metric_ != nullptr) {
      commit_seconds_metric_->Observe(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::vector<std::unique_ptr<WriteTask>> again;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (retry[i]) {
        ++batch[i]->attempts;
        again.push_back(std::move(batch[i]));
      } else {
        batch[i]->Complete();
      }
    }
    if (!again.empty()) {
      {
        std::lock_guard lock(mu_);
        for (auto it = again.rbegin(); it != again.rend(); ++it) writes_.push_front(std::move(*it));
        SetQueueGauge();
      }
      cv_.notify_one();
    }
  }

  const PostgresOptions options_;
  Histogram* batch_size_metric_ = nullptr;
  Histogram* commit_seconds_metric_ = nullptr;
  Gauge* queue_gauge_ = nullptr;
  Counter* reconnects_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteTask>> writes_;    // GUARDED_BY(mu_)
  std::deque<std::unique_ptr<OneShotTask>> tasks_;   // GUARDED_BY(mu_)
  std::deque<std::unique_ptr<StoreTask>> rejected_;  // GUARDED_BY(mu_)
  bool closed_accepting_ = false;                    // GUARDED_BY(mu_)
  bool stopping_ = false;                            // GUARDED_BY(mu_)
  int live_workers_ = 0;                             // GUARDED_BY(mu_)

  std::mutex down_mu_;
  Clock::time_point retry_at_{};  // GUARDED_BY(down_mu_)
  std::string down_reason_;       // GUARDED_BY(down_mu_)
  bool down_ = false;             // GUARDED_BY(down_mu_)

  std::mutex close_mu_;
  bool closed_ = false;  // GUARDED_BY(close_mu_)
  std::vector<std::thread> workers_;
};

// ---- PostgresJobStore ----

Result<std::unique_ptr<PostgresJobStore>> PostgresJobStore::Open(PostgresOptions options,
                                                                 MetricsRegistry* metrics) {
  if (Status s = ValidateOptions(options); !s) return std::move(s).error();
  Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(options.url);
  if (!conn) return std::move(conn).error();
  if (options.migrate) {
    Result<MigrationResult> m = MigratePg(**conn);
    if (!m) return std::move(m).error();
    if (m->applied > 0) {
      LogInfo("postgresql schema migrated",
              {{"from_version", m->found}, {"to_version", PgLatestSchemaVersion()}});
    }
  } else {
    Result<int> v = CheckPgSchema(**conn);
    if (!v) return std::move(v).error();
  }
  auto impl = std::make_unique<Impl>(std::move(options), metrics);
  if (Status s = impl->Start(std::move(conn).value()); !s) return std::move(s).error();
  return std::unique_ptr<PostgresJobStore>(new PostgresJobStore(std::move(impl)));
}

PostgresJobStore::PostgresJobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresJobStore::~PostgresJobStore() = default;

int PostgresJobStore::SchemaVersion() { return PgLatestSchemaVersion(); }

void PostgresJobStore::Submit(SubmitRecord record, Callback<SubmitOutcome> done) {
  std::string tenant = record.tenant_id;
  std::string job = record.job_id;
  impl_->EnqueueWrite(MakeWrite<SubmitOutcome>(
      std::move(tenant), std::move(job),
      [r = std::move(record)](PgConn& c) { return PgSubmit(c, r); }, std::move(done)));
}

void PostgresJobStore::AppendEvent(EventRecord record, Callback<EventOutcome> done) {
  std::string tenant = record.tenant_id;
  std::string job = record.job_id;
  impl_->EnqueueWrite(MakeWrite<EventOutcome>(
      std::move(tenant), std::move(job),
      [r = std::move(record)](PgConn& c) { return PgAppendEvent(c, r); }, std::move(done)));
}

void PostgresJobStore::GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) {
  impl_->EnqueueTask(MakeRead<JobRecord>(
      [t = std::move(tenant_id), j = std::move(job_id)](PgConn& c) { return PgGetJob(c, t, j); },
      std::move(done)));
}

void PostgresJobStore::GetDetail(std::string tenant_id, std::string job_id,
                                 Callback<JobDetail> done) {
  impl_->EnqueueTask(MakeRead<JobDetail>(
      [t = std::move(tenant_id), j = std::move(job_id)](PgConn& c) { return PgGetDetail(c, t, j); },
      std::move(done)));
}

void PostgresJobStore::CheckHealth(Callback<StoreHealth> done) {
  impl_->EnqueueTask(std::make_unique<HealthTask>(std::move(done)));
}

void PostgresJobStore::Close() { impl_->Close(); }

void PostgresJobStore::ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                                   Callback<std::vector<OutboxItem>> done) {
  impl_->EnqueueTask(MakeTask<std::vector<OutboxItem>>(
      [o = std::move(owner), lease, limit](PgConn& c) { return PgClaimOutbox(c, o, lease, limit); },
      std::move(done)));
}

void PostgresJobStore::CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) {
  impl_->EnqueueTask(
      MakeTask<bool>([o = std::move(owner), id](PgConn& c) { return PgCompleteOutbox(c, o, id); },
                     std::move(done)));
}

void PostgresJobStore::FailOutbox(std::string owner, std::int64_t id, std::string error,
                                  std::chrono::milliseconds retry_after, bool dead,
                                  Callback<bool> done) {
  impl_->EnqueueTask(
      MakeTask<bool>([o = std::move(owner), id, e = std::move(error), retry_after,
                      dead](PgConn& c) { return PgFailOutbox(c, o, id, e, retry_after, dead); },
                     std::move(done)));
}

void PostgresJobStore::ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                                       Callback<std::vector<OutboxItem>> done) {
  impl_->EnqueueTask(MakeRead<std::vector<OutboxItem>>(
      [t = std::move(tenant_id), limit](PgConn& c) { return PgListDeadLetters(c, t, limit); },
      std::move(done)));
}

void PostgresJobStore::ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                                        Callback<bool> done) {
  impl_->EnqueueTask(MakeTask<bool>(
      [t = std::move(tenant_id), id](PgConn& c) { return PgReplayDeadLetter(c, t, id); },
      std::move(done)));
}

void PostgresJobStore::GetOutboxStats(Callback<OutboxStats> done) {
  impl_->EnqueueTask(
      MakeRead<OutboxStats>([](PgConn& c) { return PgOutboxStats(c); }, std::move(done)));
}

void PostgresJobStore::RunWrite(std::string tenant, std::string key,
                                std::function<Status(PgConn&)> fn, Callback<Ok> done) {
  impl_->EnqueueWrite(
      MakeWrite<Ok>(std::move(tenant), std::move(key), std::move(fn), std::move(done)));
}

void PostgresJobStore::RunTask(bool read_only, std::function<Status(PgConn&)> fn,
                               Callback<Ok> done) {
  impl_->EnqueueTask(read_only ? MakeRead<Ok>(std::move(fn), std::move(done))
                               : MakeTask<Ok>(std::move(fn), std::move(done)));
}

Result<PgMigrateReport> MigratePostgres(const std::string& url) {
  Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(url);
  if (!conn) return std::move(conn).error();
  Result<MigrationResult> m = MigratePg(**conn);
  if (!m) return std::move(m).error();
  return PgMigrateReport{
      .found = m->found, .applied = m->applied, .latest = PgLatestSchemaVersion()};
}

Status ValidatePostgresUrl(const std::string& url) { return ValidateConnectionUrl(url); }

std::string RedactPostgresUrl(const std::string& url) { return RedactUrl(url); }

}  // namespace rtgw::storage::postgres
