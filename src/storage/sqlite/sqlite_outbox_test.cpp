// The transactional outbox of the SQLite store (storage/outbox_store.hpp).
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/time_format.hpp"
#include "storage/sqlite/sqlite_job_store.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::storage::sqlite {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace): shared test helpers
using std::chrono::milliseconds;

SqliteOptions OutboxOptions(const TempDir& dir) {
  SqliteOptions o = OptionsFor(dir);
  o.write_outbox = true;
  return o;
}

std::vector<OutboxItem> Claim(SqliteJobStore& store, const std::string& owner, int limit = 100,
                              milliseconds lease = milliseconds(60'000)) {
  Result<std::vector<OutboxItem>> r = Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { store.ClaimOutbox(owner, lease, limit, cb); });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::vector<OutboxItem>{};
}

bool Complete(SqliteJobStore& store, const std::string& owner, std::int64_t id) {
  Result<bool> r = Await<bool>([&](Callback<bool> cb) { store.CompleteOutbox(owner, id, cb); });
  EXPECT_TRUE(r.ok());
  return r.ok() && *r;
}

bool Fail(SqliteJobStore& store, const std::string& owner, std::int64_t id, bool dead,
          milliseconds retry_after = milliseconds(0)) {
  Result<bool> r = Await<bool>([&](Callback<bool> cb) {
    store.FailOutbox(owner, id, "sink said 500", retry_after, dead, cb);
  });
  EXPECT_TRUE(r.ok());
  return r.ok() && *r;
}

OutboxStats Stats(SqliteJobStore& store) {
  Result<OutboxStats> r =
      Await<OutboxStats>([&](Callback<OutboxStats> cb) { store.GetOutboxStats(cb); });
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : OutboxStats{};
}

TEST(SqliteOutboxTest, EveryStateChangeWritesOneUpdateInTheSameCommit) {
  TempDir dir;
  auto store = OpenOrDie(OutboxOptions(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(SubmitSync(*store, job).ok());  // replay: no second row
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e-run", JobState::kRunning)).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e-run", JobState::kRunning)).ok());    // replay
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e-queued", JobState::kQueued)).ok());  // late
  EventRecord done = MakeEvent(job, "e-done", JobState::kCompleted);
  done.result_ref_json = R"({"output_uri":"file:///out"})";
  ASSERT_TRUE(AppendSync(*store, done).ok());

  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM projection_outbox"), 3);
  EXPECT_EQ(raw.QueryInt("SELECT MAX(projection_version) FROM projection_outbox"), 3);

  // Only the head (version 1) is claimable; its payload is the submit state.
  std::vector<OutboxItem> first = Claim(*store, "relay-a");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].projection_version, 1);
  EXPECT_NE(first[0].payload_json.find(R"("status":"queued","state":"submitted")"),
            std::string::npos)
      << first[0].payload_json;
  EXPECT_TRUE(ParseRfc3339(first[0].created_at).has_value()) << first[0].created_at;
  EXPECT_EQ(first[0].attempts, 0);
  EXPECT_TRUE(Claim(*store, "relay-b").empty()) << "a leased head is not claimable";
  EXPECT_TRUE(Complete(*store, "relay-a", first[0].id));

  std::vector<OutboxItem> second = Claim(*store, "relay-b");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].projection_version, 2);
  EXPECT_TRUE(Complete(*store, "relay-b", second[0].id));
  std::vector<OutboxItem> third = Claim(*store, "relay-a");
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].projection_version, 3);
  EXPECT_NE(third[0].payload_json.find(
                R"("status":"finished","state":"completed","projection_version":3,)"
                R"("occurred_at":"2026-02-18T00:00:01Z","trace_id":"trace-e-done",)"
                R"("result_ref":{"output_uri":"file:///out"})"),
            std::string::npos)
      << third[0].payload_json;
  EXPECT_TRUE(Complete(*store, "relay-a", third[0].id));
  EXPECT_EQ(Stats(*store).pending, 0);
}

TEST(SqliteOutboxTest, OffWritesNoRows) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e1", JobState::kRunning)).ok());
  EXPECT_TRUE(Claim(*store, "relay").empty());
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM projection_outbox"), 0);
}

TEST(SqliteOutboxTest, HeadsOfDifferentJobsAreClaimedTogetherOldestFirst) {
  TempDir dir;
  auto store = OpenOrDie(OutboxOptions(dir));
  ASSERT_TRUE(store);
  for (int i = 0; i < 5; ++i) {
    SubmitRecord job = MakeSubmit("t1", "job-" + std::to_string(i), "key-" + std::to_string(i));
    ASSERT_TRUE(SubmitSync(*store, job).ok());
    ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e1", JobState::kRunning)).ok());
  }
  std::vector<OutboxItem> heads = Claim(*store, "relay", 3);
  ASSERT_EQ(heads.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(heads[i].job_id, "job-" + std::to_string(i));
    EXPECT_EQ(heads[i].projection_version, 1);
  }
  std::vector<OutboxItem> rest = Claim(*store, "relay", 100);
  ASSERT_EQ(rest.size(), 2u);  // the two other heads; no version 2 while 1 is leased
  for (const OutboxItem& item : rest) EXPECT_EQ(item.projection_version, 1);
}

TEST(SqliteOutboxTest, ExpiredLeaseIsTakenOverAndTheOldOwnerLosesIt) {
  TempDir dir;
  auto store = OpenOrDie(OutboxOptions(dir));
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1")).ok());
  std::vector<OutboxItem> a = Claim(*store, "relay-a", 10, milliseconds(1));
  ASSERT_EQ(a.size(), 1u);
  std::this_thread::sleep_for(milliseconds(5));
  std::vector<OutboxItem> b = Claim(*store, "relay-b", 10);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, a[0].id);
  EXPECT_FALSE(Complete(*store, "relay-a", a[0].id)) << "relay-a lost its lease";
  EXPECT_FALSE(Fail(*store, "relay-a", a[0].id, /*dead=*/false));
  EXPECT_TRUE(Complete(*store, "relay-b", b[0].id));
}

TEST(SqliteOutboxTest, FailureBacksOffAndDeadLetterBlocksItsJobUntilReplayed) {
  TempDir dir;
  auto store = OpenOrDie(OutboxOptions(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "e1", JobState::kRunning)).ok());
  SubmitRecord other = MakeSubmit("t2", "job-9", "key-9");
  ASSERT_TRUE(SubmitSync(*store, other).ok());

  std::vector<OutboxItem> heads = Claim(*store, "relay");
  ASSERT_EQ(heads.size(), 2u);
  const std::int64_t v1 = heads[0].id;
  EXPECT_TRUE(Fail(*store, "relay", v1, /*dead=*/false, milliseconds(60'000)));
  EXPECT_TRUE(Complete(*store, "relay", heads[1].id));
  EXPECT_TRUE(Claim(*store, "relay").empty()) << "backing off, and version 2 waits behind it";

  // Due again at once: attempts counted, last error kept.
  heads.clear();
  ASSERT_TRUE(AppendSync(*store, MakeEvent(other, "e9", JobState::kRunning)).ok());
  std::vector<OutboxItem> other_head = Claim(*store, "relay");
  ASSERT_EQ(other_head.size(), 1u);
  EXPECT_TRUE(Fail(*store, "relay", other_head[0].id, /*dead=*/true));

  Result<std::vector<OutboxItem>> dead = Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { store->ListDeadLetters(std::nullopt, 10, cb); });
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].tenant_id, "t2");
  EXPECT_EQ((*dead)[0].attempts, 1);
  EXPECT_EQ((*dead)[0].last_error, "sink said 500");
  EXPECT_TRUE((*dead)[0].dead_at.has_value());
  OutboxStats stats = Stats(*store);
  EXPECT_EQ(stats.dead, 1);
  EXPECT_EQ(stats.pending, 2);  // job-1 v1 (backing off) and v2 (blocked)
  EXPECT_GT(stats.oldest_pending_age_seconds, 0.0);

  // Tenant scoping: t1 cannot replay t2's dead letter.
  Result<bool> wrong =
      Await<bool>([&](Callback<bool> cb) { store->ReplayDeadLetter("t1", (*dead)[0].id, cb); });
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(*wrong);
  Result<bool> replay =
      Await<bool>([&](Callback<bool> cb) { store->ReplayDeadLetter("t2", (*dead)[0].id, cb); });
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(*replay);
  std::vector<OutboxItem> again = Claim(*store, "relay");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, (*dead)[0].id);
  EXPECT_EQ(again[0].attempts, 0);
}

TEST(SqliteOutboxTest, OutboxRowsSurviveRestartAndListenerFiresAfterCommit) {
  TempDir dir;
  std::atomic<int> notified{0};
  {
    auto store = OpenOrDie(OutboxOptions(dir));
    ASSERT_TRUE(store);
    store->SetOutboxListener([&] { notified.fetch_add(1); });
    ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1")).ok());
    EXPECT_TRUE(WaitFor([&] { return notified.load() >= 1; }));
    const int before = notified.load();
    ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1")).ok());  // replay
    EXPECT_EQ(notified.load(), before) << "a replay adds no row and wakes nobody";
    store->Close();
  }
  auto reopened = OpenOrDie(OutboxOptions(dir));
  ASSERT_TRUE(reopened);
  EXPECT_EQ(Claim(*reopened, "relay").size(), 1u);
}

}  // namespace
}  // namespace rtgw::storage::sqlite
