#include "storage/sqlite/sqlite_database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "storage/job_cache.hpp"
#include "storage/sqlite/integrity_check.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/shim_vfs.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/wal_checkpointer.hpp"

namespace rtgw::storage::sqlite {
namespace {

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
  if (o.page_size < 512 || o.page_size > 65'536 || (o.page_size & (o.page_size - 1)) != 0) {
    return InvalidArgument("sqlite page_size must be a power of two in 512..65536");
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
  // Takes effect only while the file is still empty (a new database); a no-op
  // afterwards. Validated above, so it is safe to splice in.
  if (Status s = db->Exec("PRAGMA page_size = " + std::to_string(o.page_size), "set page_size");
      !s) {
    return std::move(s).error();
  }
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
  if (Status s = db->Exec("PRAGMA temp_store = MEMORY", "keep temporary files in memory"); !s) {
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
      return Unavailable(
          "sqlite: cannot open lock file " + path + ": " + std::generic_category().message(errno),
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
      return Unavailable(
          "sqlite: cannot lock " + path + ": " + std::generic_category().message(err),
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

class SqliteDatabase::Impl {
 public:
  Impl(SqliteOptions options, FileLock lock, std::unique_ptr<JobWriter> writer,
       std::unique_ptr<WalCheckpointer> checkpointer,
       std::vector<std::unique_ptr<JobReader>> readers, MetricsRegistry* metrics)
      : options_(std::move(options)),
        lock_(std::move(lock)),
        writer_(std::move(writer)),
        checkpointer_(std::move(checkpointer)),
        readers_(std::move(readers)),
        cache_(options_.job_cache_entries),
        executor_(ExecutorOptions{.writer_lanes = 1,
                                  .reader_lanes = static_cast<int>(readers_.size()),
                                  .mixed_lanes = 0,
                                  .max_batch = options_.max_batch,
                                  .max_queue = options_.max_queue,
                                  .completer_thread = true,
                                  .batch_size_buckets = BatchSizeBuckets()},
                  Executor::Hooks{.run_batch = [this](int, Executor::Batch& batch,
                                                      Executor::Batch&) { RunBatch(batch); },
                                  .after_batch =
                                      [this](int) {
                                        if (checkpointer_) checkpointer_->AfterCommit();
                                      },
                                  .run_read =
                                      [this](int lane, Executor::Read& read) {
                                        read.Execute(*readers_[lane - 1]);
                                      }},
                  metrics) {
    if (metrics != nullptr) {
      static constexpr const char* kHelp =
          "Job reads by whether the in-memory job cache had the row.";
      cache_hits_ = metrics->GetCounter("rtgw_store_job_cache_total", kHelp, {{"result", "hit"}});
      cache_misses_ =
          metrics->GetCounter("rtgw_store_job_cache_total", kHelp, {{"result", "miss"}});
    }
  }

  ~Impl() {
    if (executor_.OnOwnThread()) {
      // Destroying the store from its own callback cannot join the thread it
      // runs on. A programmer error; crash loudly instead of corrupting memory.
      LogError("SqliteDatabase destroyed from one of its own callbacks");
      std::terminate();
    }
    Close();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status Start() { return executor_.Start(); }

  void Close() {
    executor_.Close();
    if (executor_.OnOwnThread()) return;  // only stopped accepting; the owner closes
    std::lock_guard lock(close_mu_);
    // Readers and the checkpointer before the writer: the last connection to
    // close checkpoints the WAL into the database file.
    readers_.clear();
    checkpointer_.reset();
    writer_.reset();
    lock_.Release();  // no connection left: another store may open the file now
  }

  void SetOutboxListener(std::function<void()> listener) {
    std::lock_guard lock(listener_mu_);
    outbox_listener_ = std::move(listener);
  }

  void SetChangeListener(std::function<void(const std::string&)> listener) {
    std::lock_guard lock(listener_mu_);
    change_listener_ = std::move(listener);
  }

  Executor& executor() { return executor_; }
  JobCache& cache() { return cache_; }
  IntegrityCheck& integrity() { return integrity_; }
  void CountCacheLookup(bool hit) {
    if (Counter* c = hit ? cache_hits_ : cache_misses_; c != nullptr) c->Add();
  }

 private:
  // On the writer thread: the batch in one transaction, then (once durable)
  // the cache updates and the outbox listener.
  void RunBatch(Executor::Batch& batch) noexcept {
    const bool committed = CommitBatch(batch);
    const bool outbox_rows = writer_->TakeOutboxInserts() > 0;
    if (!committed) {
      writer_->changes().Clear();
      return;
    }
    for (auto& op : batch) op->AfterCommit();
    NotifyChanges(writer_->changes().TakeFlushedTenants());
    if (!outbox_rows) return;
    std::function<void()> listener;
    {
      std::lock_guard lock(listener_mu_);
      listener = outbox_listener_;
    }
    if (!listener) return;
    try {
      listener();
    } catch (...) {
      LogError("outbox listener threw");
    }
  }

  // After a commit: the change listener once per tenant whose changes it added.
  void NotifyChanges(const std::vector<std::string>& tenants) noexcept {
    if (tenants.empty()) return;
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(listener_mu_);
      listener = change_listener_;
    }
    if (!listener) return;
    for (const std::string& tenant : tenants) {
      try {
        listener(tenant);
      } catch (...) {
        LogError("change listener threw");
      }
    }
  }

  // Runs every write of `batch` in one transaction, each in its own
  // savepoint, and commits. On return every op holds its outcome; when the
  // transaction could not be committed every op holds Unavailable.
  bool CommitBatch(Executor::Batch& batch) noexcept {
    std::optional<Error> batch_error;
    if (Status s = writer_->Begin(); !s) batch_error = std::move(s).error();
    for (std::size_t i = 0; !batch_error && i < batch.size(); ++i) {
      if (Status s = writer_->Savepoint(); !s) {
        batch_error = std::move(s).error();
        break;
      }
      const std::size_t changes_mark = writer_->changes().Mark();
      const bool ok = batch[i]->Execute(*writer_);
      // SQLite rolls the whole transaction back by itself on some errors (I/O,
      // disk full); then the earlier writes of the batch are gone too.
      if (!writer_->InTransaction()) {
        batch_error = Unavailable("sqlite: transaction aborted by a failed write; batch not stored",
                                  "store_unavailable");
        break;
      }
      // A failed write's rows are rolled back, so are its changes.
      if (!ok) writer_->changes().DropFrom(changes_mark);
      Status end = ok ? writer_->ReleaseSavepoint() : writer_->RollbackToSavepoint();
      if (!end) batch_error = std::move(end).error();
    }
    // The changes are numbered last, right before COMMIT (storage/change_batch.hpp).
    if (!batch_error) {
      if (Status s = writer_->FlushChanges(); !s) batch_error = std::move(s).error();
    }
    if (!batch_error) {
      if (Status s = writer_->Commit(); !s) batch_error = std::move(s).error();
    }
    if (batch_error) {
      writer_->Rollback();
      FailBatch(batch, *batch_error);
    }
    return !batch_error;
  }

  const SqliteOptions options_;
  FileLock lock_;                                    // released last, after the connections closed
  std::unique_ptr<JobWriter> writer_;                // used only by the writer lane
  std::unique_ptr<WalCheckpointer> checkpointer_;    // null: SQLite's own autocheckpoint (or none)
  std::vector<std::unique_ptr<JobReader>> readers_;  // readers_[i] used only by lane i + 1
  JobCache cache_;
  SteadyClock clock_;
  IntegrityCheck integrity_{&clock_};
  Counter* cache_hits_ = nullptr;
  Counter* cache_misses_ = nullptr;
  std::mutex listener_mu_;
  std::function<void()> outbox_listener_;                    // GUARDED_BY(listener_mu_)
  std::function<void(const std::string&)> change_listener_;  // GUARDED_BY(listener_mu_)
  std::mutex close_mu_;
  Executor executor_;  // last: destroyed (closed, joined) first
};

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(SqliteOptions options,
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
      JobWriter::Create(std::move(write_db).value(), options.write_outbox, options.outbox_clock);
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

  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase());
  db->impl_ =
      std::make_unique<Impl>(std::move(options), std::move(lock).value(), std::move(writer).value(),
                             std::move(checkpointer), std::move(readers), metrics);
  if (Status s = db->impl_->Start(); !s) return std::move(s).error();
  return db;
}

SqliteDatabase::SqliteDatabase() : DbStores(*this) {}

SqliteDatabase::~SqliteDatabase() = default;  // ~Impl closes

int SqliteDatabase::SchemaVersion() { return LatestSchemaVersion(); }

Result<int> SqliteDatabase::MigrateFile(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  if (Status s = ValidateOptions(options); !s) return std::move(s).error();
  Result<FileLock> lock = FileLock::Acquire(options.path);
  if (!lock) return std::move(lock).error();
  Result<Database> db = OpenWriteConnection(options);
  if (!db) return std::move(db).error();
  return MigrateSchema(*db);
}

void SqliteDatabase::Close() { impl_->Close(); }
SqliteDatabase::Executor& SqliteDatabase::executor() { return impl_->executor(); }
JobCache& SqliteDatabase::cache() { return impl_->cache(); }
IntegrityCheck& SqliteDatabase::integrity() { return impl_->integrity(); }
void SqliteDatabase::CountCacheLookup(bool hit) { impl_->CountCacheLookup(hit); }
void SqliteDatabase::SetOutboxListener(std::function<void()> listener) {
  impl_->SetOutboxListener(std::move(listener));
}
void SqliteDatabase::SetChangeListener(std::function<void(const std::string&)> listener) {
  impl_->SetChangeListener(std::move(listener));
}

}  // namespace rtgw::storage::sqlite
