#include "storage/sqlite/wal_checkpointer.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include <sqlite3.h>

#include "common/logging.hpp"
#include "storage/sqlite/shim_vfs.hpp"

namespace rtgw::storage::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(Options options, Database& writer,
                                                                MetricsRegistry* metrics) {
  if (options.pages < 1 || options.restart_factor < 1) {
    return InvalidArgument("wal checkpointer: pages and restart_factor must be at least 1");
  }
  // The paced VFS spreads the checkpoint's writes to the disk over many small
  // syncs, so that group commits fsyncing the WAL meanwhile do not queue
  // behind all of them at once (shim_vfs.hpp).
  const char* vfs = PacedVfsName();
  if (vfs == nullptr) return Internal("sqlite: cannot register the paced VFS");
  Result<Database> own =
      Database::Open(options.path, Database::Mode::kReadWriteCreate, options.busy_timeout_ms, vfs);
  if (!own) return std::move(own).error();
  // Opens the WAL on this connection before its first checkpoint.
  if (Result<std::string> r = own->QueryText("SELECT count(*) FROM sqlite_master", "open wal");
      !r) {
    return std::move(r).error();
  }
  std::unique_ptr<WalCheckpointer> c(
      new WalCheckpointer(std::move(options), writer, std::move(own).value(), metrics));
  // Replaces the connection's autocheckpoint (itself a WAL hook).
  sqlite3_wal_hook(writer.handle(), &WalCheckpointer::OnWalCommit, c.get());
  try {
    c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  } catch (const std::exception& e) {
    sqlite3_wal_hook(writer.handle(), nullptr, nullptr);
    return Unavailable(std::string("sqlite: cannot start the checkpoint thread: ") + e.what(),
                       "store_unavailable");
  }
  return c;
}

WalCheckpointer::WalCheckpointer(Options options, Database& writer, Database own,
                                 MetricsRegistry* metrics)
    : options_(std::move(options)),
      writer_(writer),
      own_(std::move(own)),
      rewind_at_(options_.restart_factor * options_.pages) {
  if (metrics != nullptr) {
    const char* help =
        "Time of one WAL checkpoint (copy into the database file and fsync), by the thread "
        "that ran it: background beside the writer, or writer when it rewinds the WAL.";
    seconds_background_ =
        metrics->GetHistogram("rtgw_store_checkpoint_seconds", help, {{"thread", "background"}},
                              MetricsRegistry::LatencyBucketsSeconds());
    seconds_writer_ =
        metrics->GetHistogram("rtgw_store_checkpoint_seconds", help, {{"thread", "writer"}},
                              MetricsRegistry::LatencyBucketsSeconds());
  }
}

WalCheckpointer::~WalCheckpointer() { Stop(); }

int WalCheckpointer::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  static_cast<WalCheckpointer*>(self)->wal_frames_ = frames;
  return SQLITE_OK;
}

void WalCheckpointer::AfterCommit() {
  const int frames = wal_frames_;
  bool wake = false;
  bool rewind = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || running_ || requested_) return;
    if (frames < backfilled_) {  // the WAL restarted at frame 0 since
      backfilled_ = 0;
      caught_up_ = false;
      rewind_at_ = options_.restart_factor * options_.pages;
    }
    if (frames >= rewind_at_) {
      // Frames the writer added since the last checkpoint started.
      const int behind = frames - backfilled_;
      const bool few = behind <= std::max(1, options_.pages / 8);
      const bool too_long = frames >= rewind_at_ + options_.restart_factor * options_.pages;
      if (caught_up_ && (few || too_long)) {
        // The background thread has just copied all but the few frames the
        // writer added meanwhile: copy those here, then the next write
        // restarts the WAL. (Each catch-up checkpoint copies what the writer
        // added during the previous one, so `behind` shrinks; should it not,
        // because the disk cannot keep up, the writer copies more itself
        // rather than let the WAL grow.) Should a reader still hold an old
        // snapshot (no restart then), wait for another `pages` frames before
        // retrying.
        running_ = true;
        rewind = true;
        caught_up_ = false;
        rewind_at_ = frames + options_.pages;
      } else {
        requested_ = true;  // (another) catch-up checkpoint first
        wake = true;
      }
    } else if (frames - backfilled_ >= options_.pages) {
      requested_ = true;
      wake = true;
    }
  }
  if (wake) {
    cv_.notify_one();
    return;
  }
  if (!rewind) return;
  const int done = Checkpoint(writer_, "writer").copied;
  std::lock_guard lock(mu_);
  running_ = false;
  if (done >= 0) backfilled_ = done;
}

void WalCheckpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || requested_; });
      if (stopping_) return;
      requested_ = false;
      running_ = true;
    }
    const Outcome done = Checkpoint(own_, "background");
    std::lock_guard lock(mu_);
    running_ = false;
    if (done.copied >= 0) {
      backfilled_ = done.copied;
      caught_up_ = done.wal_frames >= rewind_at_;
    }
  }
}

WalCheckpointer::Outcome WalCheckpointer::Checkpoint(Database& db, const char* who) {
  const auto start = std::chrono::steady_clock::now();
  int log_frames = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &copied);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Histogram* h = db.handle() == own_.handle() ? seconds_background_ : seconds_writer_;
  if (h != nullptr) h->Observe(seconds);
  if (rc != SQLITE_OK) {
    // Not fatal: the frames stay in the WAL (still durable) and a later
    // checkpoint copies them. BUSY means another checkpoint was running.
    if (rc != SQLITE_BUSY) {
      LogWarn("wal checkpoint failed",
              {{"thread", who}, {"error", SqliteError(rc, db.handle(), "checkpoint").message}});
    }
    return {};
  }
  return {.wal_frames = log_frames, .copied = copied};
}

void WalCheckpointer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (writer_.handle() != nullptr) sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  // Closed before the writer connection, so that one is the last to close
  // and checkpoints the whole WAL into the database file.
  own_ = Database();
}

}  // namespace rtgw::storage::sqlite
