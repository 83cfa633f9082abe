#include "storage/postgres/pg_database.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/logging.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_job_ops.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace rtgw::storage::postgres {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxWriteAttempts = 5;  // a write that keeps losing deadlocks gets Unavailable

// The LISTEN connection: how long one wait lasts (so Close() is noticed within
// it) and the reconnect backoff bounds.
constexpr int kListenWaitMs = 200;
constexpr int kListenBackoffMinMs = 100;
constexpr int kListenBackoffMaxMs = 5'000;
constexpr const char* kChangesChannel = "rtgw_job_changes";

Status ValidateOptions(const PostgresOptions& o) {
  if (Status s = ValidateConnectionUrl(o.url); !s) return s;
  if (o.pool_size < 1 || o.pool_size > 64) return InvalidArgument("db pool size must be 1..64");
  if (o.max_batch < 1 || o.max_batch > 4096) return InvalidArgument("max_batch must be 1..4096");
  if (o.max_queue < 1) return InvalidArgument("max_queue must be at least 1");
  if (o.reconnect_backoff_ms < 0) return InvalidArgument("reconnect_backoff_ms must be >= 0");
  return Ok{};
}

}  // namespace

class PgDatabase::Impl {
 public:
  Impl(PostgresOptions options, MetricsRegistry* metrics, std::unique_ptr<PgConn> first)
      : options_(std::move(options)),
        conns_(static_cast<std::size_t>(options_.pool_size)),  // opened on first use
        executor_(
            ExecutorOptions{.writer_lanes = 0,
                            .reader_lanes = 0,
                            .mixed_lanes = options_.pool_size,
                            .max_batch = options_.max_batch,
                            .max_queue = options_.max_queue,
                            .completer_thread = false,
                            .batch_size_buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}},
            Executor::Hooks{.run_batch =
                                [this](int lane, Executor::Batch& batch, Executor::Batch& again) {
                                  RunBatch(conns_[static_cast<std::size_t>(lane)], batch, again);
                                },
                            .after_batch = nullptr,
                            .run_read =
                                [this](int lane, Executor::Read& read) {
                                  RunTask(conns_[static_cast<std::size_t>(lane)], read);
                                }},
            metrics) {
    conns_[0] = std::move(first);
    if (metrics != nullptr) {
      reconnects_ = metrics->GetCounter("rtgw_store_reconnects_total",
                                        "New database connections opened after start.", {});
    }
  }

  ~Impl() {
    if (executor_.OnOwnThread() || OnListenThread()) {
      LogError("store destroyed from its own callback; terminating");
      std::terminate();
    }
    executor_.Close();
    StopListening();
  }

  Status Start() {
    Status s = executor_.Start();
    if (!s) return Unavailable("postgresql: " + s.error().message, "store_unavailable");
    return Ok{};
  }
  void Close() {
    executor_.Close();
    if (!OnListenThread()) StopListening();
  }
  Executor& executor() { return executor_; }

  void SetChangeListener(std::function<void(const std::string&)> listener) {
    std::promise<void> first_attempt;
    std::future<void> attempted = first_attempt.get_future();
    {
      std::lock_guard lock(listen_mu_);
      change_listener_ = std::move(listener);
      if (!change_listener_ || listen_thread_.joinable() || listen_stop_) return;
      listen_thread_ =
          std::thread([this, p = std::move(first_attempt)]() mutable noexcept { ListenLoop(p); });
    }
    // Changes committed before the first LISTEN would not be announced.
    attempted.wait();
  }

 private:
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

  // A task on the lane's connection. A read whose connection turns out to be
  // dead (a server restart dropped it while idle) runs once more on a fresh one.
  void RunTask(std::unique_ptr<PgConn>& slot, Executor::Read& task) {
    Result<PgConn*> c = Connection(slot);
    if (!c) {
      task.Fail(std::move(c).error());
      return;
    }
    task.Execute(**c);
    if (!(*c)->ok() && task.rerunnable) {
      c = Connection(slot);
      if (c) task.Execute(**c);
    }
    if (c && (*c)->InTransaction()) (void)(*c)->Exec("ROLLBACK", "rollback");
  }

  enum class Pass { kDone, kNeedsSavepoints };

  // Runs every write of the batch inside the open transaction. Without
  // savepoints, stops at the first SQL error (kNeedsSavepoints). With them,
  // rolls a failing write back alone and marks lost deadlocks for a retry.
  // A broken connection or failing savepoint sets `batch_error`.
  Pass RunWrites(PgConn& conn, Executor::Batch& batch, std::vector<bool>& retry, bool savepoints,
                 std::optional<Error>& batch_error) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (savepoints) {
        if (Status s = conn.Exec("SAVEPOINT w", "savepoint"); !s) {
          batch_error = std::move(s).error();
          return Pass::kDone;
        }
      }
      const std::size_t changes_mark = conn.changes().Mark();
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
      if (!ok) conn.changes().DropFrom(changes_mark);  // rolled back below, with its rows
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

  // BEGIN, then the quota locks of the batch's quota-checked submits before
  // any other lock (docs/contracts/storage-schema.md "Quotas").
  static Status Begin(PgConn& conn, const Executor::Batch& batch) {
    if (Status s = conn.Exec("BEGIN", "begin"); !s) return s;
    std::vector<std::string> quota_tenants;
    for (const auto& w : batch) {
      if (w->quota_lock) quota_tenants.push_back(w->order_tenant);
    }
    return PgLockQuotaTenants(conn, quota_tenants);
  }

  void RunBatch(std::unique_ptr<PgConn>& slot, Executor::Batch& batch, Executor::Batch& again) {
    std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) {
      if (a->order_tenant != b->order_tenant) return a->order_tenant < b->order_tenant;
      return a->order_key < b->order_key;
    });
    std::vector<bool> retry(batch.size(), false);
    std::optional<Error> batch_error;
    Result<PgConn*> c = Connection(slot);
    Status begin = c ? Begin(**c, batch) : Status(c.error());
    if (c && !begin && !(*c)->ok()) {
      // An idle connection the server dropped (restart): nothing was sent yet,
      // so reconnect once and go on.
      c = Connection(slot);
      begin = c ? Begin(**c, batch) : Status(c.error());
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
        conn->changes().Clear();
        std::fill(retry.begin(), retry.end(), false);
        if (Status s = Begin(*conn, batch); !s) {
          batch_error = std::move(s).error();
        } else {
          (void)RunWrites(*conn, batch, retry, /*savepoints=*/true, batch_error);
        }
      }
    }
    // The batch's job changes are numbered last, right before COMMIT, so
    // each tenant's head row is locked only from here to the commit
    // (change_batch.hpp, PgWriteTenantChanges).
    if (!batch_error) {
      Status flushed = conn->changes().Flush(
          0, [conn](const std::string& tenant, std::span<ChangeRecord> changes) {
            return PgWriteTenantChanges(*conn, tenant, changes);
          });
      if (!flushed) batch_error = std::move(flushed).error();
    }
    if (!batch_error) {
      if (Status s = conn->Exec("COMMIT", "commit"); !s) batch_error = std::move(s).error();
    }
    // Other replicas and this one hear of the commit through LISTEN.
    if (conn != nullptr) conn->changes().Clear();
    if (batch_error) {
      if (conn != nullptr && conn->ok() && conn->InTransaction()) {
        (void)conn->Exec("ROLLBACK", "rollback");
      }
      if (conn != nullptr && !conn->ok()) slot.reset();
      FailBatch(batch, *batch_error);
      std::fill(retry.begin(), retry.end(), false);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!retry[i]) continue;
      ++batch[i]->attempts;
      again.push_back(std::move(batch[i]));  // the executor queues it again
    }
  }

  bool OnListenThread() {
    std::lock_guard lock(listen_mu_);
    return listen_thread_.get_id() == std::this_thread::get_id();
  }

  void StopListening() {
    std::thread thread;
    {
      std::lock_guard lock(listen_mu_);
      listen_stop_ = true;
      thread = std::move(listen_thread_);
    }
    listen_cv_.notify_all();
    if (thread.joinable()) thread.join();
  }

  bool ListenStopping() {
    std::lock_guard lock(listen_mu_);
    return listen_stop_;
  }

  void Announce(const std::string& tenant_id) noexcept {
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(listen_mu_);
      listener = change_listener_;
    }
    if (!listener) return;
    try {
      listener(tenant_id);
    } catch (...) {
      LogError("change listener threw");
    }
  }

  // The LISTEN connection's thread: (re)connect with backoff, wait for
  // notifications in short slices so Close() stops it promptly, announce
  // each; after a lost connection is back, announce "" once (notifications
  // sent while it was gone are lost).
  void ListenLoop(std::promise<void>& first_attempt) noexcept {
    std::unique_ptr<PgConn> conn;
    bool first = true;
    bool lost = false;
    int backoff_ms = 0;
    while (!ListenStopping()) {
      if (!conn) {
        Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.url);
        Status listening =
            c ? (*c)->Exec(std::string("LISTEN ") + kChangesChannel, "listen") : Status(c.error());
        if (first) {
          first = false;
          first_attempt.set_value();
        }
        if (!listening) {
          if (!lost) {
            LogWarn("postgresql change notifications: cannot listen; retrying",
                    {{"error", listening.error().message}});
          }
          lost = true;
          backoff_ms = std::clamp(backoff_ms * 2, kListenBackoffMinMs, kListenBackoffMaxMs);
          std::unique_lock lock(listen_mu_);
          listen_cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms),
                              [this] { return listen_stop_; });
          continue;
        }
        conn = std::move(c).value();
        backoff_ms = 0;
        if (lost) {
          LogInfo("postgresql change notifications: listening again");
          lost = false;
          Announce("");
        }
      }
      Result<std::vector<std::string>> tenants = conn->WaitForNotifications(kListenWaitMs);
      if (!tenants) {
        LogWarn("postgresql change notifications: connection lost; reconnecting",
                {{"error", tenants.error().message}});
        conn.reset();
        lost = true;
        continue;
      }
      for (const std::string& tenant : *tenants) Announce(tenant);
    }
    if (first) first_attempt.set_value();
  }

  const PostgresOptions options_;
  Counter* reconnects_ = nullptr;
  std::vector<std::unique_ptr<PgConn>> conns_;  // conns_[i] used only by lane i

  std::mutex down_mu_;
  Clock::time_point retry_at_{};  // GUARDED_BY(down_mu_)
  std::string down_reason_;       // GUARDED_BY(down_mu_)
  bool down_ = false;             // GUARDED_BY(down_mu_)

  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  std::function<void(const std::string&)> change_listener_;  // GUARDED_BY(listen_mu_)
  std::thread listen_thread_;                                // GUARDED_BY(listen_mu_)
  bool listen_stop_ = false;                                 // GUARDED_BY(listen_mu_)

  Executor executor_;  // last: destroyed (closed, joined) first
};

Result<std::unique_ptr<PgDatabase>> PgDatabase::Open(PostgresOptions options,
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
  std::unique_ptr<PgDatabase> db(new PgDatabase());
  db->impl_ = std::make_unique<Impl>(std::move(options), metrics, std::move(conn).value());
  if (Status s = db->impl_->Start(); !s) return std::move(s).error();
  return db;
}

PgDatabase::PgDatabase() : DbStores(*this) {}

PgDatabase::~PgDatabase() = default;

int PgDatabase::SchemaVersion() { return PgLatestSchemaVersion(); }

void PgDatabase::Close() { impl_->Close(); }
PgDatabase::Executor& PgDatabase::executor() { return impl_->executor(); }
void PgDatabase::SetChangeListener(std::function<void(const std::string&)> listener) {
  impl_->SetChangeListener(std::move(listener));
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
