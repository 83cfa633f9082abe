// The shim VFSes (shim_vfs.hpp): a checkpoint through the paced one syncs the
// database file every kPacedVfsPagesPerSync pages; a commit through the
// WAL-batching one writes its frames with one pwrite per ~128 KB. Either way
// what reaches the file is SQLite's ordinary database, read back here by a
// connection on the default VFS.

#include "storage/sqlite/shim_vfs.hpp"

#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::storage::sqlite {
namespace {

using test_support::RawDb;

TEST(ShimVfsTest, EachRegistersOnceAndNeverAsTheDefault) {
  for (const char* (*get)() : {&PacedVfsName, &WalBatchingVfsName}) {
    const char* name = get();
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(get(), name);
    EXPECT_NE(sqlite3_vfs_find(name), nullptr);
    EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(name));
  }
  EXPECT_STRNE(PacedVfsName(), WalBatchingVfsName());
}

void ExecOrFail(sqlite3* db, const char* sql) {
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK)
      << sql << ": " << (err ? err : "");
  sqlite3_free(err);
}

TEST(ShimVfsTest, WalBatchingWritesEachCommitsFramesTogetherAndReadersSeeThem) {
  TempDir dir;
  const std::string path = dir.File("batched.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            WalBatchingVfsName()),
            SQLITE_OK);
  ExecOrFail(db, "PRAGMA journal_mode = WAL");
  ExecOrFail(db, "PRAGMA synchronous = FULL");
  ExecOrFail(db, "PRAGMA wal_autocheckpoint = 0");
  ExecOrFail(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  RawDb reader(path);  // default VFS, as the store's readers

  // 20 commits of ~10 pages each: SQLite writes 2 pieces per frame (header,
  // page), so unbatched that is 400+ writes; batched, one per commit.
  const std::uint64_t before = WalBatchingVfsWrites();
  for (int c = 0; c < 20; ++c) {
    const std::string sql =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)"
        " INSERT INTO t (body) SELECT randomblob(3000) FROM n";
    ExecOrFail(db, sql.c_str());
    EXPECT_EQ(reader.QueryInt("SELECT COUNT(*) FROM t"), 10 * (c + 1));  // visible at once
  }
  const std::uint64_t writes = WalBatchingVfsWrites() - before;
  EXPECT_GE(writes, 20u);
  EXPECT_LE(writes, 40u);

  // One commit larger than one write (~128 KB): split, nothing lost.
  ExecOrFail(db,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
             " INSERT INTO t (body) SELECT randomblob(3000) FROM n");
  EXPECT_EQ(reader.QueryInt("SELECT COUNT(*) FROM t"), 500);
  // A checkpoint by the batching connection reads the WAL back.
  ExecOrFail(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  EXPECT_EQ(reader.QueryInt("SELECT SUM(length(body)) FROM t"), 500 * 3000);
  EXPECT_EQ(reader.QueryInt("SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}

TEST(ShimVfsTest, ACheckpointThroughThePacedVfsSyncsEverySixteenPagesAndTheDataIsIntact) {
  TempDir dir;
  const std::string path = dir.File("paced.db");
  RawDb writer(path);  // default VFS
  writer.Exec("PRAGMA journal_mode = WAL");
  writer.Exec("PRAGMA wal_autocheckpoint = 0");
  writer.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  // ~400 pages of rows, all in the WAL.
  writer.Exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)"
      " INSERT INTO t SELECT i, randomblob(3000) FROM n");

  sqlite3* paced = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &paced, SQLITE_OPEN_READWRITE, PacedVfsName()),
            SQLITE_OK);
  // A first read opens the WAL on this connection (as in WalCheckpointer::Start).
  ASSERT_EQ(sqlite3_exec(paced, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr),
            SQLITE_OK);
  const std::uint64_t syncs_before = PacedVfsSyncs();
  int wal_frames = 0;
  int copied = 0;
  ASSERT_EQ(
      sqlite3_wal_checkpoint_v2(paced, "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied),
      SQLITE_OK)
      << sqlite3_errmsg(paced);
  ASSERT_EQ(copied, wal_frames);
  ASSERT_GT(copied, 400);
  // Every frame here is a distinct page, so the checkpoint wrote ~copied pages.
  const std::uint64_t syncs = PacedVfsSyncs() - syncs_before;
  EXPECT_GE(syncs, static_cast<std::uint64_t>(copied / kPacedVfsPagesPerSync) - 1);
  EXPECT_LE(syncs, static_cast<std::uint64_t>(copied / kPacedVfsPagesPerSync) + 1);
  // The paced connection reads and writes like any other.
  ASSERT_EQ(sqlite3_exec(paced, "INSERT INTO t VALUES (401, x'00')", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(paced);

  EXPECT_EQ(writer.QueryInt("SELECT COUNT(*) FROM t"), 401);
  EXPECT_EQ(writer.QueryInt("SELECT SUM(length(body)) FROM t"), 400 * 3000 + 1);
  EXPECT_EQ(writer.QueryInt("SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}

TEST(ShimVfsTest, AFailedOpenIsReportedAndLeavesNothingOpen) {
  TempDir dir;
  const std::string missing = dir.File("no/such/dir/x.db");
  for (const char* vfs : {PacedVfsName(), WalBatchingVfsName()}) {
    sqlite3* db = nullptr;
    EXPECT_EQ(
        sqlite3_open_v2(missing.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
        SQLITE_CANTOPEN);
    EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  }
}

}  // namespace
}  // namespace rtgw::storage::sqlite
