// The transactional outbox of the SQLite store, what only SQLite has: the
// outbox switch (SqliteOptions::write_outbox) and the wake-up listener (the
// backend-neutral scenarios of storage/outbox_store_scenarios.hpp run from
// sqlite_job_store_test.cpp).
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "storage/outbox_store_scenarios.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::storage::sqlite {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): shared test helpers

TEST(SqliteOutboxTest, OffWritesNoRows) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(store->jobs(), job).ok());
  ASSERT_TRUE(AppendSync(store->jobs(), MakeEvent(job, "e1", JobState::kRunning)).ok());
  Result<std::vector<OutboxItem>> claimed = ClaimSync(store->outbox(), "relay");
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->empty());
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM projection_outbox"), 0);
}

TEST(SqliteOutboxTest, ListenerFiresAfterACommitThatAddedRows) {
  SqliteTestDatabase db;
  auto store = db.Open();
  ASSERT_TRUE(store);
  std::atomic<int> notified{0};
  store->outbox().SetOutboxListener([&] { notified.fetch_add(1); });
  ASSERT_TRUE(SubmitSync(store->jobs(), MakeSubmit("t1", "job-1", "key-1")).ok());
  EXPECT_TRUE(WaitFor([&] { return notified.load() >= 1; }));
  const int before = notified.load();
  ASSERT_TRUE(SubmitSync(store->jobs(), MakeSubmit("t1", "job-1", "key-1")).ok());  // replay
  EXPECT_EQ(notified.load(), before) << "a replay adds no row and wakes nobody";
  store->Close();
}

}  // namespace
}  // namespace rtgw::storage::sqlite
