#ifndef RTGW_STORAGE_SQLITE_WAL_CHECKPOINTER_HPP_
#define RTGW_STORAGE_SQLITE_WAL_CHECKPOINTER_HPP_

// Private to storage/sqlite: moves WAL checkpoints off the group-commit path.
//
// With SQLite's own wal_autocheckpoint, the commit that crosses the mark also
// copies the WAL into the database file and fsyncs it, on the writer thread,
// before that commit returns. Measured at 32 connections (bench/README.md):
// 1,000 frames hold ~280 distinct pages, mostly new ones, and copying them
// stalls every queued write for ~4 ms, about 18 times a second (10 ms at
// 4,000 frames); those stalls were most of the requests over 4 ms.
//
// Here the writer connection's autocheckpoint is off and a WAL hook tells this
// class how many frames the WAL holds after each commit. Once `pages` frames
// are not yet copied, a background thread with its own connection runs a
// PASSIVE checkpoint while the writer keeps committing (a PASSIVE checkpoint
// takes no lock that a writer or reader waits for). That connection writes
// through the paced VFS (shim_vfs.hpp), which syncs every 16 pages, so that
// the writer's WAL fsyncs never queue behind a whole checkpoint's pages.
//
// SQLite restarts the WAL at frame 0 only when a write transaction starts with
// every frame already copied, which a checkpoint running beside a busy writer
// never achieves. So once the WAL holds restart_factor x pages frames, the
// background thread runs catch-up checkpoints, each copying what the writer
// added during the previous one, until at most pages / 8 frames are left;
// then the writer thread copies those itself, between two batches (after
// their answers went out). Its next write then restarts the WAL, so the -wal
// file stays near restart_factor x pages x page size. (Should the catch-up
// not converge, the writer copies the rest once the WAL is twice that long.)
// Durability is SQLite's either way: a frame leaves the WAL only after a
// checkpoint that fsynced the database file.
//
// Thread-safety: the hook and AfterCommit run on the writer thread only;
// Stop() (or the destructor) from the owner once the writer thread is gone.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {

class WalCheckpointer {
 public:
  struct Options {
    std::string path;
    int pages = 1000;        // frames not yet copied that start a background checkpoint
    int restart_factor = 4;  // WAL length, in `pages`, at which the writer rewinds it
    int busy_timeout_ms = 5'000;
  };

  // Opens the checkpoint connection, registers the WAL hook on `writer` (which
  // replaces its autocheckpoint) and starts the thread.
  static Result<std::unique_ptr<WalCheckpointer>> Start(Options options, Database& writer,
                                                        MetricsRegistry* metrics);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Writer thread, after a batch committed and was answered: asks the
  // background thread for a checkpoint, or rewinds the WAL itself (see above).
  void AfterCommit();

  // Joins the background thread (a checkpoint in progress finishes first) and
  // unregisters the hook. The writer connection must not commit meanwhile.
  void Stop();

 private:
  WalCheckpointer(Options options, Database& writer, Database own, MetricsRegistry* metrics);
  static int OnWalCommit(void* self, struct sqlite3* db, const char* name, int frames);
  void Loop();
  struct Outcome {
    int wal_frames = -1;  // frames in the WAL when the checkpoint ran
    int copied = -1;      // frames copied so far (the WAL's backfill mark)
  };
  // Runs one PASSIVE checkpoint on `db`; -1s when SQLite refused.
  Outcome Checkpoint(Database& db, const char* who);

  const Options options_;
  Database& writer_;
  Database own_;  // used only by thread_
  Histogram* seconds_background_ = nullptr;
  Histogram* seconds_writer_ = nullptr;

  int wal_frames_ = 0;  // set by the hook on the writer thread after each commit

  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // GUARDED_BY(mu_)
  bool running_ = false;    // GUARDED_BY(mu_): a checkpoint is in progress
  bool caught_up_ = false;  // GUARDED_BY(mu_): a checkpoint ran at a WAL >= rewind_at_
  int rewind_at_ = 0;       // GUARDED_BY(mu_): WAL frames at which to rewind
  bool stopping_ = false;   // GUARDED_BY(mu_)
  int backfilled_ = 0;      // GUARDED_BY(mu_): frames copied by the last checkpoint
  std::thread thread_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_WAL_CHECKPOINTER_HPP_
