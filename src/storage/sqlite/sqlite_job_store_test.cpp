#include "storage/sqlite/sqlite_job_store.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/metrics.hpp"
#include "jobs/job_state.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/shim_vfs.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::storage::sqlite {
namespace {

using jobs::JobState;
namespace fs = std::filesystem;

using namespace test_support;  // NOLINT(google-build-using-namespace): shared test helpers

// ---- Open and schema ----

TEST(SqliteJobStoreTest, OpenRefusesInMemoryAndBadOptions) {
  TempDir dir;
  SqliteOptions memory = OptionsFor(dir);
  memory.path = ":memory:";
  Result<std::unique_ptr<SqliteJobStore>> r1 = SqliteJobStore::Open(memory, nullptr);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ErrorCode::kInvalidArgument);

  SqliteOptions off = OptionsFor(dir);
  off.synchronous = "OFF";
  Result<std::unique_ptr<SqliteJobStore>> r2 = SqliteJobStore::Open(off, nullptr);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kInvalidArgument);

  SqliteOptions no_readers = OptionsFor(dir);
  no_readers.reader_threads = 0;
  EXPECT_FALSE(SqliteJobStore::Open(no_readers, nullptr).ok());

  SqliteOptions missing_dir = OptionsFor(dir);
  missing_dir.path = dir.File("no-such-dir/rtgw.db");
  Result<std::unique_ptr<SqliteJobStore>> r3 = SqliteJobStore::Open(missing_dir, nullptr);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, ErrorCode::kUnavailable);
}

TEST(SqliteJobStoreTest, OpenRecordsEveryMigrationOnce) {
  TempDir dir;
  OpenOrDie(OptionsFor(dir))->Close();
  OpenOrDie(OptionsFor(dir))->Close();  // reopening applies nothing new
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(Migrations().size()));
  EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"),
            SqliteJobStore::SchemaVersion());
  EXPECT_EQ(
      raw.QueryInt("SELECT COUNT(*) FROM schema_migrations WHERE applied_at LIKE '____-__-__T%Z'"),
      static_cast<std::int64_t>(Migrations().size()));
}

TEST(SqliteJobStoreTest, UsesWalMode) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(OptionsFor(dir).path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteJobStoreTest, RefusesDatabaseWithNewerSchema) {
  TempDir dir;
  OpenOrDie(OptionsFor(dir))->Close();
  const int newer = SqliteJobStore::SchemaVersion() + 1;
  {
    RawDb raw(OptionsFor(dir).path);
    raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
             std::to_string(newer) + ", '2030-01-01T00:00:00Z')");
  }
  Result<std::unique_ptr<SqliteJobStore>> reopened = SqliteJobStore::Open(OptionsFor(dir), nullptr);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, ErrorCode::kUnavailable);
  const std::string& message = reopened.error().message;
  EXPECT_NE(message.find("version " + std::to_string(newer)), std::string::npos) << message;
  EXPECT_NE(message.find("version " + std::to_string(SqliteJobStore::SchemaVersion())),
            std::string::npos)
      << message;
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT MAX(version) FROM schema_migrations"), newer);  // untouched
}

// ---- Submit ----

TEST(SqliteJobStoreTest, SubmitCreatesJobInSubmittedState) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord r = MakeSubmit("t1", "job-1", "key-1");
  Result<SubmitOutcome> out = SubmitSync(*store, r);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->replayed);
  EXPECT_EQ(out->response_json, r.response_json);

  Result<JobRecord> job = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->tenant_id, "t1");
  EXPECT_EQ(job->job_id, "job-1");
  EXPECT_EQ(job->workspace_id, "t1");
  EXPECT_EQ(job->submission_id, r.submission_id);
  EXPECT_EQ(job->management_node_id, "mgmt-node-1");
  EXPECT_EQ(job->state, JobState::kSubmitted);
  EXPECT_EQ(job->spec_json, r.spec_json);
  EXPECT_FALSE(job->result_ref_json.has_value());
  EXPECT_FALSE(job->error_json.has_value());
  EXPECT_EQ(job->accepted_at, r.accepted_at);
  EXPECT_EQ(job->updated_at, r.accepted_at);
  EXPECT_EQ(job->trace_id, r.trace_id);
  EXPECT_EQ(job->projection_version, 1);
}

TEST(SqliteJobStoreTest, ReplayReturnsOriginalResponseByteForByte) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord first = MakeSubmit("t1", "job-1", "key-1");
  // Unusual but legal bytes must come back unchanged.
  first.response_json = "{\"job_id\": \"job-1\",  \"note\":\"caf\xc3\xa9 \\u00e9 \\\"q\\\"\"}\n";
  ASSERT_TRUE(SubmitSync(*store, first).ok());

  SubmitRecord retry = first;  // same key and fingerprint, fresh per-request values
  retry.submission_id = "sub-other";
  retry.accepted_at = "2026-02-18T00:00:09Z";
  retry.response_json = R"({"job_id":"job-1","submission_id":"sub-other"})";
  Result<SubmitOutcome> out = SubmitSync(*store, retry);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->replayed);
  EXPECT_EQ(out->response_json, first.response_json);

  Result<JobRecord> job = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->submission_id, first.submission_id);
  EXPECT_EQ(job->accepted_at, first.accepted_at);
}

TEST(SqliteJobStoreTest, SameKeyOtherFingerprintIsIdempotencyConflict) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1", "fp-a")).ok());
  Result<SubmitOutcome> out = SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1", "fp-b"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "idempotency_conflict");
}

TEST(SqliteJobStoreTest, NewKeyForTakenJobIdIsJobIdConflict) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1")).ok());
  Result<SubmitOutcome> out = SubmitSync(*store, MakeSubmit("t1", "job-1", "key-2"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "job_id_conflict");
}

TEST(SqliteJobStoreTest, KeysAndJobIdsAreScopedByTenant) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1", "fp-a")).ok());
  // Same job_id and key in another tenant: a different job.
  Result<SubmitOutcome> out = SubmitSync(*store, MakeSubmit("t2", "job-1", "key-1", "fp-b"));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->replayed);
}

// ---- Events ----

TEST(SqliteJobStoreTest, AppliedEventsMoveStateAndProjectionVersion) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());

  EventRecord queued = MakeEvent(job, "evt-q", JobState::kQueued);
  queued.received_at = "2026-02-18T00:00:01.000000Z";
  Result<EventOutcome> q = AppendSync(*store, queued);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_FALSE(q->idempotent);
  EXPECT_TRUE(q->applied);
  EXPECT_EQ(q->state, JobState::kQueued);
  EXPECT_EQ(q->projection_version, 2);

  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  running.received_at = "2026-02-18T00:00:02.000000Z";
  Result<EventOutcome> r = AppendSync(*store, running);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->projection_version, 3);

  EventRecord completed = MakeEvent(job, "evt-c", JobState::kCompleted);
  completed.received_at = "2026-02-18T00:00:03.000000Z";
  completed.result_ref_json = R"({"output_uri":"s3://out/x"})";
  Result<EventOutcome> c = AppendSync(*store, completed);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->applied);
  EXPECT_EQ(c->state, JobState::kCompleted);
  EXPECT_EQ(c->projection_version, 4);

  Result<JobRecord> stored = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kCompleted);
  EXPECT_EQ(stored->projection_version, 4);
  EXPECT_EQ(stored->updated_at, "2026-02-18T00:00:03.000000Z");
  EXPECT_EQ(stored->result_ref_json, completed.result_ref_json);
  EXPECT_FALSE(stored->error_json.has_value());
  EXPECT_EQ(stored->accepted_at, job.accepted_at);
}

TEST(SqliteJobStoreTest, AppliedEventWithoutResultKeepsStoredOne) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  running.result_ref_json = R"({"output_uri":"s3://partial"})";
  running.error_json = R"({"code":"Warn"})";
  ASSERT_TRUE(AppendSync(*store, running).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "evt-f", JobState::kFailed)).ok());
  Result<JobRecord> stored = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, JobState::kFailed);
  EXPECT_EQ(stored->result_ref_json, running.result_ref_json);
  EXPECT_EQ(stored->error_json, running.error_json);
}

TEST(SqliteJobStoreTest, ReplayedEventIsIdempotentAndChangesNothing) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  EventRecord running = MakeEvent(job, "evt-r", JobState::kRunning);
  ASSERT_TRUE(AppendSync(*store, running).ok());

  EventRecord again = running;
  again.received_at = "2026-02-18T00:09:00Z";  // gateway clock differs; payload does not
  Result<EventOutcome> out = AppendSync(*store, again);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->idempotent);
  EXPECT_FALSE(out->applied);
  EXPECT_EQ(out->state, JobState::kRunning);
  EXPECT_EQ(out->projection_version, 2);

  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->events.size(), 1u);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_EQ(detail->job.updated_at, running.received_at);
}

TEST(SqliteJobStoreTest, ReusedEventIdWithOtherPayloadIsEventConflict) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "evt-1", JobState::kQueued, "fp-a")).ok());
  Result<EventOutcome> out =
      AppendSync(*store, MakeEvent(job, "evt-1", JobState::kRunning, "fp-b"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "event_conflict");
}

TEST(SqliteJobStoreTest, EventForUnknownOrOtherTenantsJobIsNotFound) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());

  SubmitRecord missing = MakeSubmit("t1", "job-missing", "key-x");
  Result<EventOutcome> unknown = AppendSync(*store, MakeEvent(missing, "evt-1", JobState::kQueued));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  EventRecord foreign = MakeEvent(job, "evt-1", JobState::kQueued);
  foreign.tenant_id = "t2";
  Result<EventOutcome> other = AppendSync(*store, foreign);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(other.error().message, unknown.error().message);  // indistinguishable
}

TEST(SqliteJobStoreTest, EventForOtherSubmissionIsSubmissionMismatch) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  EventRecord e = MakeEvent(job, "evt-1", JobState::kQueued);
  e.submission_id = "sub-stale";
  Result<EventOutcome> out = AppendSync(*store, e);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
  EXPECT_EQ(out.error().api_code, "submission_mismatch");
  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_TRUE(detail->events.empty());
}

TEST(SqliteJobStoreTest, OutOfOrderEventIsStoredButNeverRegresses) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(job, "evt-r", JobState::kRunning)).ok());

  EventRecord late = MakeEvent(job, "evt-q", JobState::kQueued);
  late.received_at = "2026-02-18T00:05:00Z";
  Result<EventOutcome> out = AppendSync(*store, late);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->idempotent);
  EXPECT_FALSE(out->applied);
  EXPECT_EQ(out->state, JobState::kRunning);
  EXPECT_EQ(out->projection_version, 2);

  // Same-rank event: also history only.
  Result<EventOutcome> same = AppendSync(*store, MakeEvent(job, "evt-r2", JobState::kRunning));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->applied);

  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, JobState::kRunning);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_NE(detail->job.updated_at, late.received_at);
  ASSERT_EQ(detail->events.size(), 3u);
  EXPECT_TRUE(detail->events[0].applied);
  EXPECT_FALSE(detail->events[1].applied);
  EXPECT_FALSE(detail->events[2].applied);
}

TEST(SqliteJobStoreTest, EventsAfterTerminalAreStoredButNotApplied) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  EventRecord failed = MakeEvent(job, "evt-f", JobState::kFailed);
  failed.error_json = R"({"code":"NonZeroExitCode","exit_code":3})";
  ASSERT_TRUE(AppendSync(*store, failed).ok());

  EventRecord completed = MakeEvent(job, "evt-c", JobState::kCompleted);
  completed.result_ref_json = R"({"output_uri":"s3://late"})";
  Result<EventOutcome> c = AppendSync(*store, completed);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->applied);
  EXPECT_EQ(c->state, JobState::kFailed);
  Result<EventOutcome> r = AppendSync(*store, MakeEvent(job, "evt-r", JobState::kRunning));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->applied);

  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, JobState::kFailed);
  EXPECT_EQ(detail->job.projection_version, 2);
  EXPECT_EQ(detail->job.error_json, failed.error_json);
  EXPECT_FALSE(detail->job.result_ref_json.has_value());
  ASSERT_EQ(detail->events.size(), 3u);
  EXPECT_EQ(detail->events[1].result_ref_json, completed.result_ref_json);  // kept in history
}

TEST(SqliteJobStoreTest, DetailListsEventsInArrivalOrder) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  SubmitRecord other = MakeSubmit("t1", "job-2", "key-2");
  ASSERT_TRUE(SubmitSync(*store, other).ok());
  // Arrival order differs from occurred_at order and from event_id order.
  const std::vector<std::pair<std::string, JobState>> sent = {{"z-running", JobState::kRunning},
                                                              {"a-queued", JobState::kQueued},
                                                              {"m-done", JobState::kCompleted}};
  int minute = 9;
  for (const auto& [id, state] : sent) {
    EventRecord e = MakeEvent(job, id, state);
    e.occurred_at = "2026-02-18T00:0" + std::to_string(minute--) + ":00Z";
    ASSERT_TRUE(AppendSync(*store, e).ok());
    // Interleave another job's events: seq is global, order is per job.
    ASSERT_TRUE(AppendSync(*store, MakeEvent(other, "o-" + id, state)).ok());
  }
  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok()) << detail.error().message;
  ASSERT_EQ(detail->events.size(), 3u);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(detail->events[i].event_id, sent[i].first);
    EXPECT_EQ(detail->events[i].state, sent[i].second);
    if (i > 0) {
      EXPECT_GT(detail->events[i].seq, detail->events[i - 1].seq);
    }
  }
  EXPECT_EQ(detail->events[0].execution_id, "aiida-1");
  EXPECT_EQ(detail->events[0].trace_id, "trace-z-running");
  EXPECT_EQ(detail->events[0].occurred_at, "2026-02-18T00:09:00Z");
  EXPECT_EQ(detail->events[0].received_at, "2026-02-18T00:00:02.000000Z");
  EXPECT_TRUE(detail->events[0].applied);
  EXPECT_FALSE(detail->events[1].applied);  // queued after running
  EXPECT_TRUE(detail->events[2].applied);
  EXPECT_EQ(detail->job.state, JobState::kCompleted);
  EXPECT_EQ(detail->job.projection_version, 3);
}

TEST(SqliteJobStoreTest, ReadsAreScopedByTenant) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1")).ok());
  Result<JobRecord> other = GetJobSync(*store, "t2", "job-1");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  Result<JobDetail> other_detail = GetDetailSync(*store, "t2", "job-1");
  ASSERT_FALSE(other_detail.ok());
  EXPECT_EQ(other_detail.error().code, ErrorCode::kNotFound);
  Result<JobRecord> missing = GetJobSync(*store, "t1", "job-2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, other.error().message);
  EXPECT_TRUE(GetJobSync(*store, "t1", "job-1").ok());
}

// ---- Concurrency, batching, durability ----

TEST(SqliteJobStoreTest, ConcurrentSubmitsOfSameKeyCreateExactlyOneJob) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  constexpr int kThreads = 32;
  std::vector<std::promise<Result<SubmitOutcome>>> promises(kThreads);
  std::vector<std::future<Result<SubmitOutcome>>> futures;
  futures.reserve(promises.size());
  for (auto& p : promises) futures.push_back(p.get_future());
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      SubmitRecord r = MakeSubmit("t1", "job-1", "key-1");
      // Each request carries its own would-be identity; only one may win.
      r.submission_id = "sub-" + std::to_string(i);
      r.response_json = R"({"job_id":"job-1","submission_id":"sub-)" + std::to_string(i) + "\"}";
      while (!go.load()) std::this_thread::yield();
      store->Submit(std::move(r), [&promises, i](Result<SubmitOutcome> out) {
        promises[static_cast<std::size_t>(i)].set_value(std::move(out));
      });
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  int created = 0;
  std::set<std::string> bodies;
  for (auto& f : futures) {
    Result<SubmitOutcome> out = f.get();
    ASSERT_TRUE(out.ok()) << out.error().message;
    if (!out->replayed) ++created;
    bodies.insert(out->response_json);
  }
  EXPECT_EQ(created, 1);
  ASSERT_EQ(bodies.size(), 1u);
  Result<JobRecord> job = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(job.ok());
  EXPECT_NE(bodies.begin()->find(job->submission_id), std::string::npos);
  store->Close();
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM jobs"), 1);
}

// ---- WAL checkpoints (wal_checkpointer.hpp) ----

std::uint64_t CheckpointCount(MetricsRegistry& metrics, const char* thread) {
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;
  metrics.GetHistogram("rtgw_store_checkpoint_seconds", "", {{"thread", thread}}, {})
      ->Snapshot(buckets, sum, count);
  return count;
}

// Submits `threads` x `per_thread` jobs concurrently (so the writer commits
// batches while checkpoints run) and returns how many were acknowledged.
int SubmitConcurrently(SqliteJobStore& store, int threads, int per_thread) {
  std::atomic<int> acked{0};
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int j = 0; j < per_thread; ++j) {
        const std::string id = "job-" + std::to_string(t) + "-" + std::to_string(j);
        if (SubmitSync(store, MakeSubmit("t1", id, "key-" + id)).ok()) acked.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  return acked.load();
}

TEST(SqliteJobStoreTest, BackgroundCheckpointsKeepTheWalBoundedAndLoseNothing) {
  TempDir dir;
  MetricsRegistry metrics;
  SqliteOptions options = OptionsFor(dir);
  options.wal_autocheckpoint_pages = 16;  // rewinds at 4 x 16 = 64 frames
  auto store = OpenOrDie(options, &metrics);
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  ASSERT_EQ(SubmitConcurrently(*store, kThreads, kPerThread), kThreads * kPerThread);
  // 2,000 jobs write thousands of WAL frames; rewinding keeps the file at a
  // few times 64 frames (a batch can overshoot the mark before the rewind).
  // Under ThreadSanitizer every step runs several times slower and batches grow
  // larger before a rewind (444 frames seen on a loaded box): allow twice as
  // much, still below a WAL never rewound (> 400 frames per 800 jobs, below).
#if defined(__SANITIZE_THREAD__)
  constexpr std::uintmax_t kWalFramesMax = 800;
#else
  constexpr std::uintmax_t kWalFramesMax = 400;
#endif
  const auto wal_bytes = fs::file_size(options.path + "-wal");
  EXPECT_LT(wal_bytes, kWalFramesMax * (4096 + 24)) << "the WAL was not rewound";
  EXPECT_GT(CheckpointCount(metrics, "background"), 0u);
  EXPECT_GT(CheckpointCount(metrics, "writer"), 0u);
  store->Close();
  RawDb raw(options.path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM jobs"), kThreads * kPerThread);
  EXPECT_EQ(raw.QueryInt("SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}

TEST(SqliteJobStoreTest, CommitCheckpointsAreSqlitesOwn) {
  TempDir dir;
  MetricsRegistry metrics;
  SqliteOptions options = OptionsFor(dir);
  options.wal_autocheckpoint_pages = 16;
  options.background_checkpoint = false;
  auto store = OpenOrDie(options, &metrics);
  ASSERT_TRUE(store);
  ASSERT_EQ(SubmitConcurrently(*store, 4, 200), 800);
  EXPECT_LT(fs::file_size(options.path + "-wal"), 400u * (4096 + 24));
  EXPECT_EQ(CheckpointCount(metrics, "background"), 0u);  // no checkpoint thread
  store->Close();
  RawDb raw(options.path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM jobs"), 800);
}

TEST(SqliteJobStoreTest, NoCheckpointsLeavesTheWalToShutdown) {
  TempDir dir;
  SqliteOptions options = OptionsFor(dir);
  options.wal_autocheckpoint_pages = 0;
  auto store = OpenOrDie(options);
  ASSERT_TRUE(store);
  ASSERT_EQ(SubmitConcurrently(*store, 4, 200), 800);
  EXPECT_GT(fs::file_size(options.path + "-wal"), 400u * (4096 + 24));
  store->Close();  // the last connection checkpoints everything and removes the WAL
  EXPECT_FALSE(fs::exists(options.path + "-wal"));
  RawDb raw(options.path);
  EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM jobs"), 800);
}

// The writer batches WAL writes only where every commit syncs the WAL before
// readers see it (shim_vfs.hpp): FULL and EXTRA, not NORMAL.
TEST(SqliteJobStoreTest, WalWritesAreBatchedOnlyWhenEveryCommitSyncs) {
  for (const char* mode : {"FULL", "extra", "NORMAL"}) {
    TempDir dir;
    SqliteOptions options = OptionsFor(dir);
    options.synchronous = mode;
    auto store = OpenOrDie(options);
    ASSERT_TRUE(store);
    const std::uint64_t before = WalBatchingVfsWrites();
    ASSERT_EQ(SubmitConcurrently(*store, 2, 20), 40);
    const std::uint64_t batched = WalBatchingVfsWrites() - before;
    store->Close();
    if (std::string(mode) == "NORMAL") {
      EXPECT_EQ(batched, 0u) << mode;
    } else {
      EXPECT_GT(batched, 0u) << mode;
    }
    RawDb raw(options.path);
    EXPECT_EQ(raw.QueryInt("SELECT COUNT(*) FROM jobs"), 40) << mode;
  }
}

TEST(SqliteJobStoreTest, AcknowledgedWritesSurviveCloseAndReopen) {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kJobsPerThread = 40;
  std::mutex mu;
  std::vector<std::pair<std::string, JobState>> acked;  // job_id, state after the last ack
  {
    auto store = OpenOrDie(OptionsFor(dir));
    ASSERT_TRUE(store);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int j = 0; j < kJobsPerThread; ++j) {
          const std::string id = "job-" + std::to_string(t) + "-" + std::to_string(j);
          SubmitRecord r = MakeSubmit("t1", id, "key-" + id);
          if (!SubmitSync(*store, r).ok()) continue;
          JobState last = JobState::kSubmitted;
          if (j % 2 == 0) {
            Result<EventOutcome> e =
                AppendSync(*store, MakeEvent(r, "evt-" + id, JobState::kRunning));
            if (e.ok()) last = e->state;
          }
          std::lock_guard lock(mu);
          acked.emplace_back(id, last);
        }
      });
    }
    for (auto& th : threads) th.join();
    store->Close();
  }
  ASSERT_EQ(acked.size(), static_cast<std::size_t>(kThreads * kJobsPerThread));
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  for (const auto& [id, state] : acked) {
    Result<JobRecord> job = GetJobSync(*store, "t1", id);
    ASSERT_TRUE(job.ok()) << id;
    EXPECT_EQ(job->state, state) << id;
  }
}

TEST(SqliteJobStoreTest, FailingWriteInBatchDoesNotAffectTheOthers) {
  TempDir dir;
  MetricsRegistry metrics;
  auto store = OpenOrDie(OptionsFor(dir), &metrics);
  ASSERT_TRUE(store);
  Gauge* queue = metrics.GetGauge("rtgw_store_write_queue", "", {});
  RawDb raw(OptionsFor(dir).path);
  // A real SQL failure for one write: a trigger aborts inserts of job "boom".
  raw.Exec(
      "CREATE TRIGGER inject_failure BEFORE INSERT ON jobs WHEN NEW.job_id = 'boom'"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  // Hold the write lock so the writer stalls on its first batch ("a") while
  // the next four writes queue up behind it and form one batch.
  raw.Exec("BEGIN IMMEDIATE");
  std::promise<Result<SubmitOutcome>> pa, pb, pboom, pdup, pc;
  auto into = [](std::promise<Result<SubmitOutcome>>& p) {
    return [&p](Result<SubmitOutcome> r) { p.set_value(std::move(r)); };
  };
  store->Submit(MakeSubmit("t1", "a", "key-a"), into(pa));
  ASSERT_TRUE(WaitFor([&] { return queue->Value() == 0; }));  // writer took "a"
  store->Submit(MakeSubmit("t1", "b", "key-b"), into(pb));
  store->Submit(MakeSubmit("t1", "boom", "key-boom"), into(pboom));
  store->Submit(MakeSubmit("t1", "b", "key-b2"), into(pdup));  // job_id_conflict
  store->Submit(MakeSubmit("t1", "c", "key-c"), into(pc));
  ASSERT_EQ(queue->Value(), 4);
  raw.Exec("COMMIT");

  EXPECT_TRUE(pa.get_future().get().ok());
  Result<SubmitOutcome> b = pb.get_future().get();
  Result<SubmitOutcome> boom = pboom.get_future().get();
  Result<SubmitOutcome> dup = pdup.get_future().get();
  Result<SubmitOutcome> c = pc.get_future().get();
  EXPECT_TRUE(b.ok());
  ASSERT_FALSE(boom.ok());
  EXPECT_EQ(boom.error().code, ErrorCode::kInternal);
  EXPECT_NE(boom.error().message.find("injected failure"), std::string::npos);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().api_code, "job_id_conflict");
  EXPECT_TRUE(c.ok());

  // Exactly two batches: {a} and {b, boom, dup, c}.
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;
  metrics.GetHistogram("rtgw_store_commit_batch_size", "", {}, {})->Snapshot(buckets, sum, count);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(sum, 5.0);
  std::uint64_t commits = 0;
  metrics.GetHistogram("rtgw_store_commit_seconds", "", {}, {})->Snapshot(buckets, sum, commits);
  EXPECT_EQ(commits, 2u);

  EXPECT_TRUE(GetJobSync(*store, "t1", "a").ok());
  EXPECT_TRUE(GetJobSync(*store, "t1", "b").ok());
  EXPECT_TRUE(GetJobSync(*store, "t1", "c").ok());
  Result<JobRecord> gone = GetJobSync(*store, "t1", "boom");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST(SqliteJobStoreTest, BatchWithoutWriteLockIsUnavailableAndStoresNothing) {
  TempDir dir;
  SqliteOptions options = OptionsFor(dir);
  options.busy_timeout_ms = 50;
  auto store = OpenOrDie(options);
  ASSERT_TRUE(store);
  RawDb raw(options.path);
  raw.Exec("BEGIN IMMEDIATE");  // the writer cannot get the write lock in time
  Result<SubmitOutcome> out = SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  raw.Exec("ROLLBACK");
  Result<JobRecord> job = GetJobSync(*store, "t1", "job-1");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::kNotFound);
  // The client's retry then succeeds as a first submit.
  Result<SubmitOutcome> retry = SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1"));
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_FALSE(retry->replayed);
}

TEST(SqliteJobStoreTest, FullQueueIsRefusedAtOnceOnAStoreThread) {
  TempDir dir;
  MetricsRegistry metrics;
  SqliteOptions options = OptionsFor(dir);
  options.max_queue = 1;
  auto store = OpenOrDie(options, &metrics);
  ASSERT_TRUE(store);
  Gauge* queue = metrics.GetGauge("rtgw_store_write_queue", "", {});
  RawDb raw(options.path);
  raw.Exec("BEGIN IMMEDIATE");
  std::promise<Result<SubmitOutcome>> pa, pb;
  store->Submit(MakeSubmit("t1", "a", "key-a"),
                [&](Result<SubmitOutcome> r) { pa.set_value(std::move(r)); });
  ASSERT_TRUE(WaitFor([&] { return queue->Value() == 0; }));
  store->Submit(MakeSubmit("t1", "b", "key-b"),
                [&](Result<SubmitOutcome> r) { pb.set_value(std::move(r)); });
  ASSERT_EQ(queue->Value(), 1);

  std::thread::id callback_thread;
  Result<SubmitOutcome> refused = Await<SubmitOutcome>([&](const Callback<SubmitOutcome>& cb) {
    store->Submit(MakeSubmit("t1", "c", "key-c"), [&, cb](Result<SubmitOutcome> r) {
      callback_thread = std::this_thread::get_id();
      cb(std::move(r));
    });
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().message, "store overloaded");
  EXPECT_NE(callback_thread, std::this_thread::get_id());

  raw.Exec("COMMIT");
  EXPECT_TRUE(pa.get_future().get().ok());
  EXPECT_TRUE(pb.get_future().get().ok());
}

TEST(SqliteJobStoreTest, CallbacksRunOnStoreThreadsUnlessServedFromCache) {
  TempDir dir;
  SqliteOptions no_cache = OptionsFor(dir);
  no_cache.job_cache_entries = 0;
  auto store = OpenOrDie(no_cache);
  ASSERT_TRUE(store);
  std::promise<std::thread::id> write_thread, read_thread;
  store->Submit(MakeSubmit("t1", "job-1", "key-1"), [&](const Result<SubmitOutcome>&) {
    write_thread.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(write_thread.get_future().get(), std::this_thread::get_id());
  store->GetJob("t1", "job-1", [&](const Result<JobRecord>&) {
    read_thread.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(read_thread.get_future().get(), std::this_thread::get_id());
  store->Close();

  // With the cache, a job the writer just committed is answered inline.
  auto cached = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(cached);
  ASSERT_TRUE(SubmitSync(*cached, MakeSubmit("t1", "job-2", "key-2")).ok());
  std::optional<std::thread::id> inline_thread;
  cached->GetJob("t1", "job-2", [&](const Result<JobRecord>& r) {
    EXPECT_TRUE(r.ok());
    inline_thread = std::this_thread::get_id();
  });
  ASSERT_TRUE(inline_thread.has_value());  // completed before GetJob returned
  EXPECT_EQ(*inline_thread, std::this_thread::get_id());
}

TEST(SqliteJobStoreTest, WriteCallbacksRunInCommitOrder) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  constexpr int kWrites = 300;  // many batches: the writer takes what queued meanwhile
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> all_done;
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = "job-" + std::to_string(i);
    store->Submit(MakeSubmit("t1", id, "key-" + id), [&, i](const Result<SubmitOutcome>& r) {
      EXPECT_TRUE(r.ok());
      std::lock_guard lock(mu);
      order.push_back(i);
      if (static_cast<int>(order.size()) == kWrites) all_done.set_value();
    });
  }
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  std::lock_guard lock(mu);
  for (int i = 0; i < kWrites; ++i) ASSERT_EQ(order[i], i) << "callback " << i << " out of order";
}

TEST(SqliteJobStoreTest, WriterCommitsTheNextBatchWhileACallbackRuns) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  store->Submit(MakeSubmit("t1", "job-1", "key-1"), [&, released](const Result<SubmitOutcome>& r) {
    EXPECT_TRUE(r.ok());
    started.set_value();
    released.wait_for(std::chrono::seconds(10));  // bounded: a failure must not hang
  });
  ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // The first callback still runs; the second write is committed meanwhile.
  store->Submit(MakeSubmit("t1", "job-2", "key-2"), [](const Result<SubmitOutcome>&) {});
  bool committed = false;
  for (int i = 0; i < 500 && !committed; ++i) {
    committed = GetJobSync(*store, "t1", "job-2").ok();
    if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  release.set_value();
  EXPECT_TRUE(committed) << "the writer waited for a callback of the previous batch";
  store->Close();
}

TEST(SqliteJobStoreTest, CachedReadsFollowCommittedEvents) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  const SubmitRecord job = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, job).ok());
  ASSERT_TRUE(GetJobSync(*store, "t1", "job-1").ok());
  EventRecord running = MakeEvent(job, "e1", JobState::kRunning);
  ASSERT_TRUE(AppendSync(*store, running).ok());
  EventRecord done = MakeEvent(job, "e2", JobState::kCompleted);
  done.result_ref_json = R"({"output_uri":"file:///out"})";
  ASSERT_TRUE(AppendSync(*store, done).ok());
  Result<JobRecord> after = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, JobState::kCompleted);
  EXPECT_EQ(after->projection_version, 3);
  EXPECT_EQ(after->result_ref_json, R"({"output_uri":"file:///out"})");
  // The cache agrees with the database row, field by field.
  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->job.state, after->state);
  EXPECT_EQ(detail->job.updated_at, after->updated_at);
  EXPECT_EQ(detail->job.projection_version, after->projection_version);
  EXPECT_EQ(detail->job.result_ref_json, after->result_ref_json);
  EXPECT_EQ(detail->job.spec_json, after->spec_json);
  EXPECT_EQ(detail->job.accepted_at, after->accepted_at);
  EXPECT_EQ(detail->job.trace_id, after->trace_id);
}

TEST(SqliteJobStoreTest, SecondStoreOnTheSameFileIsRefused) {
  TempDir dir;
  auto first = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(first);
  Result<std::unique_ptr<SqliteJobStore>> second = SqliteJobStore::Open(OptionsFor(dir), nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find("in use by another rtgw process"), std::string::npos);
  first->Close();
  EXPECT_TRUE(SqliteJobStore::Open(OptionsFor(dir), nullptr).ok());
}

TEST(SqliteJobStoreTest, CloseCompletesEveryPendingCallback) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  constexpr int kWrites = 500;
  constexpr int kReads = 100;
  std::atomic<int> completed{0};
  std::atomic<int> succeeded{0};
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = "job-" + std::to_string(i);
    store->Submit(MakeSubmit("t1", id, "key-" + id), [&](const Result<SubmitOutcome>& r) {
      if (r.ok()) succeeded.fetch_add(1);
      completed.fetch_add(1);
    });
  }
  for (int i = 0; i < kReads; ++i) {
    store->GetJob("t1", "job-0", [&](const Result<JobRecord>&) { completed.fetch_add(1); });
  }
  store->Close();
  EXPECT_EQ(completed.load(), kWrites + kReads);
  EXPECT_EQ(succeeded.load(), kWrites);  // queued before Close: drained, not dropped

  Result<SubmitOutcome> late = SubmitSync(*store, MakeSubmit("t1", "late", "key-late"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
  Result<JobRecord> late_read = GetJobSync(*store, "t1", "job-0");
  ASSERT_FALSE(late_read.ok());
  EXPECT_EQ(late_read.error().code, ErrorCode::kUnavailable);
  Result<StoreHealth> health = HealthSync(*store);
  ASSERT_TRUE(health.ok());
  EXPECT_FALSE(health->reachable);
  store->Close();  // idempotent

  auto reopened = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(GetJobSync(*reopened, "t1", "job-" + std::to_string(kWrites - 1)).ok());
}

TEST(SqliteJobStoreTest, CloseFromOwnCallbackDoesNotDeadlock) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  Result<SubmitOutcome> first = Await<SubmitOutcome>([&](const Callback<SubmitOutcome>& cb) {
    store->Submit(MakeSubmit("t1", "job-1", "key-1"), [&, cb](Result<SubmitOutcome> r) {
      store->Close();  // from the completer thread: stops accepting, cannot join itself
      cb(std::move(r));
    });
  });
  EXPECT_TRUE(first.ok());
  Result<SubmitOutcome> after = SubmitSync(*store, MakeSubmit("t1", "job-2", "key-2"));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  store->Close();
}

// ---- Health ----

TEST(SqliteJobStoreTest, HealthIsReachableAndWritable) {
  TempDir dir;
  auto store = OpenOrDie(OptionsFor(dir));
  ASSERT_TRUE(store);
  Result<StoreHealth> health = HealthSync(*store);
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->reachable);
  EXPECT_TRUE(health->writable);
  EXPECT_EQ(health->backend, "sqlite");
  EXPECT_EQ(health->detail, "");
  ASSERT_TRUE(HealthSync(*store).ok());
  store->Close();
  RawDb raw(OptionsFor(dir).path);
  EXPECT_EQ(raw.QueryInt("SELECT write_count FROM store_health WHERE id = 1"), 2);
}

TEST(SqliteJobStoreTest, HealthIsNotWritableWhileWriteLockIsHeld) {
  TempDir dir;
  SqliteOptions options = OptionsFor(dir);
  options.busy_timeout_ms = 50;
  auto store = OpenOrDie(options);
  ASSERT_TRUE(store);
  RawDb raw(options.path);
  raw.Exec("BEGIN IMMEDIATE");
  Result<StoreHealth> health = HealthSync(*store);
  raw.Exec("ROLLBACK");
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->reachable);
  EXPECT_FALSE(health->writable);
  EXPECT_EQ(health->backend, "sqlite");
  EXPECT_FALSE(health->detail.empty());
  Result<StoreHealth> again = HealthSync(*store);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->writable);
}

}  // namespace
}  // namespace rtgw::storage::sqlite
