#ifndef RTGW_STORAGE_SQLITE_SHIM_VFS_HPP_
#define RTGW_STORAGE_SQLITE_SHIM_VFS_HPP_

// Private to storage/sqlite: two SQLite VFSes that wrap the default one
// ("unix"), forward everything, and change only how one kind of file reaches
// the disk. Both only merge or add syscalls; what SQLite writes, and when it
// is durable, is unchanged. Numbers: bench/README.md, session 6.
//
// Paced (PacedVfsName), for the background checkpoint connection
// (wal_checkpointer.hpp). A checkpoint copies a few hundred pages into the
// database file (the page cache) and then fsyncs it once. That one fsync
// sends them all to the device together, and a group commit that fsyncs the
// WAL meanwhile waits behind them: on the CI disk a WAL fsync beside a
// 250-page checkpoint has p99 4.2-5.0 ms instead of 0.7 ms. This VFS calls the
// database file's xSync (an fdatasync) after every kPacedVfsPagesPerSync pages
// written; the same WAL fsync then has p99 1.6 ms, and the checkpoint takes
// ~27 ms instead of ~17 ms, on its own thread.
//
// WAL-batching (WalBatchingVfsName), for the writer connection. SQLite writes
// each WAL frame with two pwrite calls (24-byte header, then the page), so a
// group commit of 17 frames makes 34 syscalls, each costly in this VM
// (~7 us; one 70 KB pwrite costs ~13 us in all). This VFS gathers
// consecutive writes to a WAL file in memory and writes them with one pwrite
// when SQLite next syncs, reads, truncates, sizes or closes the file, or
// publishes frames to readers (xShmBarrier, which SQLite calls before it
// updates the WAL-index header). A commit with synchronous=FULL syncs the WAL
// before it publishes its frames, so a write error still fails that commit.
// Only for connections with synchronous=FULL or EXTRA: with NORMAL, a commit
// publishes frames without a sync, and a write error at the barrier could not
// be reported to it.

#include <cstdint>

namespace rtgw::storage::sqlite {

// Register the VFS once per process (thread-safe; never as the default VFS)
// and return its name for sqlite3_open_v2, or nullptr if SQLite refused.
const char* PacedVfsName();
const char* WalBatchingVfsName();

// How many database pages the paced VFS writes between two syncs.
inline constexpr int kPacedVfsPagesPerSync = 16;

// Counters since process start, for tests: syncs the paced VFS added, and
// pwrite calls the WAL-batching VFS made (each covering one or more of
// SQLite's writes).
std::uint64_t PacedVfsSyncs();
std::uint64_t WalBatchingVfsWrites();

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SHIM_VFS_HPP_
