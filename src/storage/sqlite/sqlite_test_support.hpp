#ifndef RTGW_STORAGE_SQLITE_SQLITE_TEST_SUPPORT_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_TEST_SUPPORT_HPP_

// Test-only helpers shared by the SQLite store tests: a raw connection for
// fault injection, options and opening in a TempDir (common/temp_dir.hpp),
// the Backend of the scenario suites (the backend-neutral helpers come from
// storage/store_test_support.hpp).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/metrics.hpp"
#include "common/temp_dir.hpp"
#include "jobs/job_state.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::sqlite::test_support {

using namespace rtgw::storage::test_support;  // MakeSubmit, SubmitSync, Await, ...
using jobs::JobState;
namespace fs = std::filesystem;

// A second, raw connection to the same file: the fault-injection seam (hold
// the write lock, add a failing trigger, bump the schema version).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5'000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  std::int64_t QueryInt(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

inline SqliteOptions OptionsFor(const TempDir& dir) {
  SqliteOptions o;
  o.path = dir.File("rtgw.db");
  return o;
}

// A database whose stores the test uses: db->jobs(), ->outbox(), ->nodes(),
// ->validator_runs().
inline std::unique_ptr<SqliteDatabase> OpenOrDie(SqliteOptions options,
                                                 MetricsRegistry* metrics = nullptr) {
  Result<std::unique_ptr<SqliteDatabase>> store = SqliteDatabase::Open(std::move(options), metrics);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  if (!store.ok()) return nullptr;
  return std::move(store).value();
}

// The SQLite Backend of the scenario suites (StoreScenarioTest in
// storage/store_test_support.hpp): a file in a fresh directory, every Open()
// on that file, with the outbox on.
class SqliteTestDatabase {
 public:
  static constexpr const char* kName = "sqlite";
  void SetUpDatabase() {}
  void TearDownDatabase() {}
  std::unique_ptr<SqliteDatabase> Open() {
    SqliteOptions o = OptionsFor(dir_);
    o.write_outbox = true;
    return OpenOrDie(std::move(o));
  }
  std::int64_t QueryInt(const std::string& sql) {
    return RawDb(OptionsFor(dir_).path).QueryInt(sql);
  }

 private:
  TempDir dir_;
};

// Polls until `pred` holds (the writer thread reached a point we need), at
// most 10 s so a bug fails the test instead of hanging it.
template <class Pred>
inline bool WaitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace rtgw::storage::sqlite::test_support

#endif  // RTGW_STORAGE_SQLITE_SQLITE_TEST_SUPPORT_HPP_
