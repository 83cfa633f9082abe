#include "storage/sqlite/shim_vfs.hpp"

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

#include <sqlite3.h>

namespace rtgw::storage::sqlite {
namespace {

std::atomic<std::uint64_t> g_paced_syncs{0};
std::atomic<std::uint64_t> g_batched_writes{0};
// The wrapped VFS: the process default when this file first registers.
sqlite3_vfs* Root() {
  static sqlite3_vfs* const root = sqlite3_vfs_find(nullptr);
  return root;
}

enum class Behaviour { kPaced, kWalBatching };
enum class Kind { kPlain, kPacedDb, kBatchedWal };

// Bytes gathered for a WAL file, written with one pwrite of at most
// kMaxPending bytes: the unix VFS writes at most 0x1ffff bytes per call (its
// seekAndWrite masks the length to 17 bits), which is ~31 WAL frames of 4 KiB.
constexpr std::size_t kMaxPending = 0x1ffff;
struct Pending {
  std::vector<char> bytes;
  sqlite3_int64 offset = 0;  // file offset of bytes[0]
};

// Our file object; the wrapped VFS's file object follows it in the same
// allocation (szOsFile covers both), as in SQLite's own shims (vfstrace).
struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  Kind kind;
  int unsynced;      // kPacedDb: pages written since the last sync
  Pending* pending;  // kBatchedWal: owned, freed in xClose
};

ShimFile* Self(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Self(f)->real; }

// Writes what a WAL file has gathered; a no-op for every other file.
int Flush(ShimFile* p) {
  if (p->pending == nullptr || p->pending->bytes.empty()) return SQLITE_OK;
  Pending& q = *p->pending;
  g_batched_writes.fetch_add(1, std::memory_order_relaxed);
  const int rc = p->real->pMethods->xWrite(p->real, q.bytes.data(),
                                           static_cast<int>(q.bytes.size()), q.offset);
  q.bytes.clear();
  return rc;
}

// ---- sqlite3_io_methods: forward; xWrite paces or gathers, and every call
// that looks at a WAL file's bytes (or syncs them) writes what was gathered.

int Close(sqlite3_file* f) {
  ShimFile* p = Self(f);
  const int flushed = Flush(p);
  delete p->pending;
  p->pending = nullptr;
  const int rc = p->real->pMethods->xClose(p->real);
  return flushed != SQLITE_OK ? flushed : rc;
}
int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  ShimFile* p = Self(f);
  if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  return p->real->pMethods->xRead(p->real, buf, amount, offset);
}
int WriteBatched(ShimFile* p, const void* buf, int amount, sqlite3_int64 offset) {
  Pending& q = *p->pending;
  const auto n = static_cast<std::size_t>(amount);
  const bool extends = !q.bytes.empty() &&
                       offset == q.offset + static_cast<sqlite3_int64>(q.bytes.size()) &&
                       q.bytes.size() + n <= kMaxPending;
  if (!extends) {
    if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
    if (n > kMaxPending) return p->real->pMethods->xWrite(p->real, buf, amount, offset);
    q.offset = offset;
  }
  const char* bytes = static_cast<const char*>(buf);
  q.bytes.insert(q.bytes.end(), bytes, bytes + n);
  return SQLITE_OK;
}
int Write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  ShimFile* p = Self(f);
  if (p->kind == Kind::kBatchedWal) return WriteBatched(p, buf, amount, offset);
  sqlite3_file* r = p->real;
  int rc = r->pMethods->xWrite(r, buf, amount, offset);
  if (rc != SQLITE_OK || p->kind != Kind::kPacedDb) return rc;
  if (++p->unsynced >= kPacedVfsPagesPerSync) {
    p->unsynced = 0;
    g_paced_syncs.fetch_add(1, std::memory_order_relaxed);
    rc = r->pMethods->xSync(r, SQLITE_SYNC_NORMAL);
  }
  return rc;
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  ShimFile* p = Self(f);
  if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  return p->real->pMethods->xTruncate(p->real, size);
}
int Sync(sqlite3_file* f, int flags) {
  ShimFile* p = Self(f);
  p->unsynced = 0;
  if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  return p->real->pMethods->xSync(p->real, flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  ShimFile* p = Self(f);
  if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  return p->real->pMethods->xFileSize(p->real, size);
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
  ShimFile* p = Self(f);
  if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  return p->real->pMethods->xFileControl(p->real, op, arg);
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
sqlite3_io_methods WithWalIndexAndMmap(sqlite3_io_methods m) {
  m.iVersion = 3;
  m.xShmMap = ShmMap;
  m.xShmLock = ShmLock;
  m.xShmBarrier = ShmBarrier;
  m.xShmUnmap = ShmUnmap;
  m.xFetch = Fetch;
  m.xUnfetch = Unfetch;
  return m;
}
const sqlite3_io_methods kMethodsV3 = WithWalIndexAndMmap(kMethodsV1);

// ---- sqlite3_vfs: xOpen wraps, the rest forwards to the root VFS ----

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  const auto behaviour = *static_cast<const Behaviour*>(vfs->pAppData);
  ShimFile* p = Self(f);
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->kind = Kind::kPlain;
  if (behaviour == Behaviour::kPaced && (flags & SQLITE_OPEN_MAIN_DB) != 0) {
    p->kind = Kind::kPacedDb;
  } else if (behaviour == Behaviour::kWalBatching && (flags & SQLITE_OPEN_WAL) != 0) {
    p->kind = Kind::kBatchedWal;
  }
  p->unsynced = 0;
  p->pending = nullptr;
  const int rc = Root()->xOpen(Root(), name, p->real, flags, out_flags);
  const sqlite3_io_methods* real = p->real->pMethods;
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  p->base.pMethods = real == nullptr ? nullptr : real->iVersion >= 3 ? &kMethodsV3 : &kMethodsV1;
  if (real != nullptr && p->kind == Kind::kBatchedWal) {
    p->pending = new (std::nothrow) Pending;
    if (p->pending == nullptr) p->kind = Kind::kPlain;
  }
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return Root()->xDelete(Root(), name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return Root()->xAccess(Root(), name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Root()->xFullPathname(Root(), name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return Root()->xDlOpen(Root(), name); }
void DlError(sqlite3_vfs*, int n, char* out) { Root()->xDlError(Root(), n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return Root()->xDlSym(Root(), handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { Root()->xDlClose(Root(), handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return Root()->xRandomness(Root(), n, out); }
int Sleep(sqlite3_vfs*, int micros) { return Root()->xSleep(Root(), micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return Root()->xCurrentTime(Root(), out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return Root()->xGetLastError(Root(), n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return Root()->xCurrentTimeInt64(Root(), out);
}

const Behaviour kPaced = Behaviour::kPaced;
const Behaviour kWalBatching = Behaviour::kWalBatching;

// Called once per VFS, from a function-local static initializer.
const char* Register(sqlite3_vfs& vfs, const char* name, const Behaviour* behaviour) {
  sqlite3_vfs* const root = Root();
  // Needs version 2 (xCurrentTimeInt64); the system-call overrides of version
  // 3 are test hooks and deliberately not offered.
  if (root == nullptr || root->iVersion < 2) return nullptr;
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + root->szOsFile;
  vfs.mxPathname = root->mxPathname;
  vfs.zName = name;
  vfs.pAppData = const_cast<Behaviour*>(behaviour);
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return vfs.zName;
}

}  // namespace

const char* PacedVfsName() {
  static sqlite3_vfs vfs{};
  static const char* const name = Register(vfs, "rtgw-paced", &kPaced);  // thread-safe once
  return name;
}

const char* WalBatchingVfsName() {
  static sqlite3_vfs vfs{};
  static const char* const name = Register(vfs, "rtgw-wal-batching", &kWalBatching);
  return name;
}

std::uint64_t PacedVfsSyncs() { return g_paced_syncs.load(std::memory_order_relaxed); }
std::uint64_t WalBatchingVfsWrites() { return g_batched_writes.load(std::memory_order_relaxed); }

}  // namespace rtgw::storage::sqlite
