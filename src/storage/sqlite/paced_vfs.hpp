#ifndef RTGW_STORAGE_SQLITE_PACED_VFS_HPP_
#define RTGW_STORAGE_SQLITE_PACED_VFS_HPP_

// Private to storage/sqlite: a SQLite VFS that writes a database file back to
// the disk in small steps, for the background checkpoint connection
// (wal_checkpointer.hpp).
//
// A checkpoint copies a few hundred pages into the database file (the page
// cache) and then fsyncs it once. That one fsync sends them all to the device
// together, and a group commit that fsyncs the WAL meanwhile waits behind
// them: measured on the CI disk (bench/README.md, session 6), a WAL fsync
// beside a 250-page checkpoint has p99 4.2-5.0 ms instead of 0.7 ms. With an
// fdatasync after every 16 pages written, the same WAL fsync has p99 1.6 ms;
// the checkpoint takes ~27 ms instead of ~17 ms, on its own thread.
//
// The VFS wraps the default one ("unix") and forwards everything; only writes
// to a main database file are counted, and after every `pages_per_sync` of
// them it calls the file's own xSync (an fdatasync) before returning. That only
// adds syncs, so SQLite's durability guarantees are unchanged.

#include <cstdint>

namespace rtgw::storage::sqlite {

// Registers the VFS once per process (thread-safe; never the default VFS) and
// returns its name for sqlite3_open_v2, or nullptr if SQLite refused.
const char* PacedVfsName();

// How many pages the paced VFS writes between two syncs.
inline constexpr int kPacedVfsPagesPerSync = 16;

// Syncs the paced VFS has issued so far in this process (for tests).
std::uint64_t PacedVfsSyncs();

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_PACED_VFS_HPP_
