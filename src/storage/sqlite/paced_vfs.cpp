#include "storage/sqlite/paced_vfs.hpp"

#include <atomic>
#include <mutex>

#include <sqlite3.h>

namespace rtgw::storage::sqlite {
namespace {

std::atomic<std::uint64_t> g_syncs{0};
sqlite3_vfs* g_root = nullptr;  // the wrapped VFS, set once before registration
sqlite3_vfs g_vfs{};

// Our file object; the wrapped VFS's file object follows it in the same
// allocation (szOsFile covers both), as in SQLite's own shims (vfstrace).
struct PacedFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool main_db;
  int unsynced;  // main-database pages written since the last sync
};

PacedFile* Self(sqlite3_file* f) { return reinterpret_cast<PacedFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Self(f)->real; }

// ---- sqlite3_io_methods: forward, except xWrite and xSync ----

int Close(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xClose(r);
}
int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xRead(r, buf, amount, offset);
}
int Write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  PacedFile* p = Self(f);
  sqlite3_file* r = p->real;
  int rc = r->pMethods->xWrite(r, buf, amount, offset);
  if (rc != SQLITE_OK || !p->main_db) return rc;
  if (++p->unsynced >= kPacedVfsPagesPerSync) {
    p->unsynced = 0;
    g_syncs.fetch_add(1, std::memory_order_relaxed);
    rc = r->pMethods->xSync(r, SQLITE_SYNC_NORMAL);
  }
  return rc;
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xTruncate(r, size);
}
int Sync(sqlite3_file* f, int flags) {
  Self(f)->unsynced = 0;
  sqlite3_file* r = Real(f);
  return r->pMethods->xSync(r, flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xFileSize(r, size);
}
int Lock(sqlite3_file* f, int level) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xLock(r, level);
}
int Unlock(sqlite3_file* f, int level) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xUnlock(r, level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xCheckReservedLock(r, out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xFileControl(r, op, arg);
}
int SectorSize(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xSectorSize(r);
}
int DeviceCharacteristics(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xDeviceCharacteristics(r);
}
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xShmMap(r, page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  r->pMethods->xShmBarrier(r);
}
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xShmUnmap(r, delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xFetch(r, offset, amount, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  sqlite3_file* r = Real(f);
  return r->pMethods->xUnfetch(r, offset, page);
}

// Version 1 for files whose real methods are version 1 (no WAL index, no
// mmap), version 3 otherwise; SQLite reads iVersion before calling those.
const sqlite3_io_methods kMethodsV1 = {
    .iVersion = 1,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
};
const sqlite3_io_methods kMethodsV3 = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

// ---- sqlite3_vfs: xOpen wraps, the rest forwards to the root VFS ----

int Open(sqlite3_vfs* /*vfs*/, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  PacedFile* p = Self(f);
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  p->unsynced = 0;
  const int rc = g_root->xOpen(g_root, name, p->real, flags, out_flags);
  const sqlite3_io_methods* real = p->real->pMethods;
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  p->base.pMethods = real == nullptr ? nullptr : real->iVersion >= 3 ? &kMethodsV3 : &kMethodsV1;
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_root->xDelete(g_root, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_root->xAccess(g_root, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_root->xFullPathname(g_root, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_root->xDlOpen(g_root, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_root->xDlError(g_root, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_root->xDlSym(g_root, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_root->xDlClose(g_root, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_root->xRandomness(g_root, n, out); }
int Sleep(sqlite3_vfs*, int micros) { return g_root->xSleep(g_root, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_root->xCurrentTime(g_root, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_root->xGetLastError(g_root, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_root->xCurrentTimeInt64(g_root, out);
}

const char* Register() {
  g_root = sqlite3_vfs_find(nullptr);
  // Needs version 2 (xCurrentTimeInt64); the system-call overrides of version
  // 3 are test hooks and deliberately not offered.
  if (g_root == nullptr || g_root->iVersion < 2) return nullptr;
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(PacedFile)) + g_root->szOsFile;
  g_vfs.mxPathname = g_root->mxPathname;
  g_vfs.zName = "rtgw-paced";
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return g_vfs.zName;
}

}  // namespace

const char* PacedVfsName() {
  static const char* const name = Register();  // thread-safe once
  return name;
}

std::uint64_t PacedVfsSyncs() { return g_syncs.load(std::memory_order_relaxed); }

}  // namespace rtgw::storage::sqlite
