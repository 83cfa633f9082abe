// Runs against a real PostgreSQL named by RTGW_TEST_PG_DSN (scripts/test.sh
// starts one and sets it). Without it every test FAILS: a skipped store test
// would look like a passing one.
#include "storage/postgres/postgres_job_store.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "common/metrics.hpp"
#include "jobs/job_state.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_test_support.hpp"

namespace rtgw::storage::postgres {
namespace {

using jobs::JobState;
using namespace test_support;

// A fresh schema per test; the store's URL points its search_path there.
class PgTest : public test_support::PgSchemaTest {
 protected:
  PostgresOptions Options(bool migrate = true) const {
    PostgresOptions o;
    o.url = url_;
    o.migrate = migrate;
    o.pool_size = 3;
    return o;
  }
  std::unique_ptr<PostgresJobStore> OpenOrDie(PostgresOptions o, MetricsRegistry* m = nullptr) {
    Result<std::unique_ptr<PostgresJobStore>> s = PostgresJobStore::Open(std::move(o), m);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    if (!s.ok()) return nullptr;
    return std::move(s).value();
  }
};

Result<std::vector<OutboxItem>> ClaimSync(
    OutboxStore& s, const std::string& owner, int limit,
    std::chrono::milliseconds lease = std::chrono::seconds(30)) {
  return Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { s.ClaimOutbox(owner, lease, limit, cb); });
}
Result<bool> CompleteSync(OutboxStore& s, const std::string& owner, std::int64_t id) {
  return Await<bool>([&](Callback<bool> cb) { s.CompleteOutbox(owner, id, cb); });
}
Result<bool> FailSync(OutboxStore& s, const std::string& owner, std::int64_t id, bool dead,
                      std::chrono::milliseconds retry = std::chrono::milliseconds(0)) {
  return Await<bool>(
      [&](Callback<bool> cb) { s.FailOutbox(owner, id, "sink 500", retry, dead, cb); });
}
Result<OutboxStats> StatsSync(OutboxStore& s) {
  return Await<OutboxStats>([&](Callback<OutboxStats> cb) { s.GetOutboxStats(cb); });
}

// ---- schema ----

TEST_F(PgTest, MigratesOnceAndRefusesBehindOrNewerSchemas) {
  // Without --migrate an empty database is "behind": refused, naming `rtgw migrate`.
  Result<std::unique_ptr<PostgresJobStore>> behind =
      PostgresJobStore::Open(Options(false), nullptr);
  ASSERT_FALSE(behind.ok());
  EXPECT_EQ(behind.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(behind.error().message.find("rtgw migrate"), std::string::npos)
      << behind.error().message;

  // Eight processes' worth of migrators at once: every step applied exactly once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (MigratePostgres(url_).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM schema_migrations"), PostgresJobStore::SchemaVersion());
  EXPECT_EQ(raw_->Int("SELECT max(version) FROM schema_migrations"),
            PostgresJobStore::SchemaVersion());
  Result<PgMigrateReport> again = MigratePostgres(url_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, 0);
  OpenOrDie(Options(false))->Close();  // up to date: opens without migrating

  raw_->Exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')");
  for (bool migrate : {false, true}) {
    Result<std::unique_ptr<PostgresJobStore>> newer =
        PostgresJobStore::Open(Options(migrate), nullptr);
    ASSERT_FALSE(newer.ok());
    EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
  }
}

TEST_F(PgTest, OpenRefusesBadUrlsAndUnreachableServers) {
  PostgresOptions bad = Options();
  bad.url = "mysql://x";
  Result<std::unique_ptr<PostgresJobStore>> r1 = PostgresJobStore::Open(bad, nullptr);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ErrorCode::kInvalidArgument);
  PostgresOptions down = Options();
  down.url = "postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2";
  Result<std::unique_ptr<PostgresJobStore>> r2 = PostgresJobStore::Open(down, nullptr);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(RedactUrl("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://h/db"), "postgresql://h/db");
}

// ---- the JobStore contract ----

TEST_F(PgTest, SubmitIsIdempotentByKeyWithByteExactReplay) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(store);
  SubmitRecord a = MakeSubmit("t1", "job-1", "key-1");
  Result<SubmitOutcome> first = SubmitSync(*store, a);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->replayed);

  SubmitRecord replay = a;
  replay.submission_id = "another-uuid";
  replay.response_json = "{\"different\":true}";
  Result<SubmitOutcome> second = SubmitSync(*store, replay);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->response_json, a.response_json);

  Result<SubmitOutcome> other_payload =
      SubmitSync(*store, MakeSubmit("t1", "job-1", "key-1", "fp-2"));
  ASSERT_FALSE(other_payload.ok());
  EXPECT_EQ(other_payload.error().api_code, "idempotency_conflict");

  Result<SubmitOutcome> taken = SubmitSync(*store, MakeSubmit("t1", "job-1", "key-2"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().api_code, "job_id_conflict");

  // Another tenant has its own keys and job ids.
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t2", "job-1", "key-1")).ok());
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM jobs"), 2);
  // One outbox row per created job, version 1, never for a replay.
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), 2);
  EXPECT_EQ(raw_->Text("SELECT payload_json FROM projection_outbox WHERE tenant_id='t1'"),
            R"({"tenant_id":"t1","workspace_id":"t1","job_id":"job-1","submission_id":"sub-job-1",)"
            R"("status":"queued","state":"submitted","projection_version":1,)"
            R"("occurred_at":"2026-02-18T00:00:00.000001Z","trace_id":"trace-job-1"})");

  Result<JobRecord> job = GetJobSync(*store, "t1", "job-1");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kSubmitted);
  EXPECT_EQ(job->projection_version, 1);
  EXPECT_EQ(job->submission_id, "sub-job-1");
  EXPECT_EQ(GetJobSync(*store, "t3", "job-1").error().code, ErrorCode::kNotFound);
}

TEST_F(PgTest, EventsFollowTheForwardOnlyStateMachine) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(store);
  SubmitRecord s = MakeSubmit("t1", "job-1", "key-1");
  ASSERT_TRUE(SubmitSync(*store, s).ok());

  Result<EventOutcome> running = AppendSync(*store, MakeEvent(s, "e-run", JobState::kRunning));
  ASSERT_TRUE(running.ok()) << running.error().message;
  EXPECT_TRUE(running->applied);
  EXPECT_EQ(running->projection_version, 2);
  // Late queued: kept in history, not applied, no version bump.
  Result<EventOutcome> late = AppendSync(*store, MakeEvent(s, "e-queued", JobState::kQueued));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->applied);
  EXPECT_EQ(late->state, JobState::kRunning);
  EXPECT_EQ(late->projection_version, 2);
  // Replay of a known event: idempotent, changes nothing.
  Result<EventOutcome> again = AppendSync(*store, MakeEvent(s, "e-run", JobState::kRunning));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->idempotent);
  EXPECT_FALSE(again->applied);
  Result<EventOutcome> conflict =
      AppendSync(*store, MakeEvent(s, "e-run", JobState::kRunning, "other-fp"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().api_code, "event_conflict");
  EventRecord mismatch = MakeEvent(s, "e-x", JobState::kCompleted);
  mismatch.submission_id = "not-the-job's";
  Result<EventOutcome> mm = AppendSync(*store, mismatch);
  ASSERT_FALSE(mm.ok());
  EXPECT_EQ(mm.error().api_code, "submission_mismatch");
  EventRecord other_tenant = MakeEvent(s, "e-y", JobState::kCompleted);
  other_tenant.tenant_id = "t2";
  EXPECT_EQ(AppendSync(*store, other_tenant).error().code, ErrorCode::kNotFound);

  EventRecord done = MakeEvent(s, "e-done", JobState::kCompleted);
  done.result_ref_json = R"({"uri":"s3://b/k"})";
  Result<EventOutcome> completed = AppendSync(*store, done);
  ASSERT_TRUE(completed.ok());
  EXPECT_TRUE(completed->applied);
  EXPECT_EQ(completed->projection_version, 3);
  // After a terminal state nothing applies.
  Result<EventOutcome> after = AppendSync(*store, MakeEvent(s, "e-fail", JobState::kFailed));
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->applied);
  EXPECT_EQ(after->state, JobState::kCompleted);

  Result<JobDetail> detail = GetDetailSync(*store, "t1", "job-1");
  ASSERT_TRUE(detail.ok()) << detail.error().message;
  EXPECT_EQ(detail->job.state, JobState::kCompleted);
  EXPECT_EQ(detail->job.projection_version, 3);
  EXPECT_EQ(detail->job.result_ref_json.value_or(""), R"({"uri":"s3://b/k"})");
  EXPECT_EQ(detail->job.updated_at, "2026-02-18T00:00:02.000000Z");
  ASSERT_EQ(detail->events.size(), 4u);
  const std::vector<std::pair<std::string, bool>> expected = {
      {"e-run", true}, {"e-queued", false}, {"e-done", true}, {"e-fail", false}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(detail->events[i].event_id, expected[i].first);
    EXPECT_EQ(detail->events[i].applied, expected[i].second);
    if (i > 0) {
      EXPECT_GT(detail->events[i].seq, detail->events[i - 1].seq);
    }
  }
  // Outbox: versions 1 (submit), 2 (running), 3 (completed, with result_ref).
  EXPECT_EQ(raw_->Text("SELECT string_agg(projection_version::text, ',' ORDER BY id) FROM "
                       "projection_outbox"),
            "1,2,3");
  EXPECT_EQ(raw_->Text("SELECT payload_json FROM projection_outbox WHERE projection_version=3"),
            R"({"tenant_id":"t1","workspace_id":"t1","job_id":"job-1","submission_id":"sub-job-1",)"
            R"("status":"finished","state":"completed","projection_version":3,)"
            R"("occurred_at":"2026-02-18T00:00:01Z","trace_id":"trace-e-done",)"
            R"("result_ref":{"uri":"s3://b/k"}})");
}

// Two stores (two replicas) on one schema, the same duplicates sent through
// both at once: exactly one job and one event effect each.
TEST_F(PgTest, ConcurrentDuplicatesAcrossTwoStoresHaveOneEffect) {
  auto a = OpenOrDie(Options());
  auto b = OpenOrDie(Options());
  ASSERT_TRUE(a && b);
  constexpr int kJobs = 40;
  constexpr int kCopies = 6;
  std::mutex mu;
  std::map<std::string, std::set<std::string>> bodies;
  std::atomic<int> created{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kCopies; ++c) {
    threads.emplace_back([&, c] {
      JobStore& store = (c % 2 == 0) ? static_cast<JobStore&>(*a) : static_cast<JobStore&>(*b);
      std::vector<std::future<void>> waits;
      for (int j = 0; j < kJobs; ++j) {
        SubmitRecord r = MakeSubmit("t1", "job-" + std::to_string(j), "key-" + std::to_string(j));
        r.submission_id = "sub-copy-" + std::to_string(c);  // each copy would make its own id
        r.response_json = "{\"copy\":" + std::to_string(c) + "}";
        auto p = std::make_shared<std::promise<void>>();
        waits.push_back(p->get_future());
        store.Submit(r, [&, p, job = r.job_id](Result<SubmitOutcome> out) {
          if (!out.ok()) {
            ++failures;
            ADD_FAILURE() << out.error().message;
          } else {
            if (!out->replayed) ++created;
            std::lock_guard lock(mu);
            bodies[job].insert(out->response_json);
          }
          p->set_value();
        });
      }
      for (auto& w : waits) w.get();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(created.load(), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM jobs"), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), kJobs);
  for (const auto& [job, set] : bodies) EXPECT_EQ(set.size(), 1u) << job;

  // Events: the same event ids through both stores at once.
  threads.clear();
  std::atomic<int> applied{0};
  for (int c = 0; c < kCopies; ++c) {
    threads.emplace_back([&, c] {
      JobStore& store = (c % 2 == 0) ? static_cast<JobStore&>(*a) : static_cast<JobStore&>(*b);
      for (int j = 0; j < kJobs; ++j) {
        Result<JobRecord> job = GetJobSync(store, "t1", "job-" + std::to_string(j));
        ASSERT_TRUE(job.ok());
        SubmitRecord s = MakeSubmit("t1", job->job_id, "k");
        s.submission_id = job->submission_id;
        Result<EventOutcome> out =
            AppendSync(store, MakeEvent(s, "evt-run-" + job->job_id, JobState::kRunning));
        if (!out.ok()) {
          ++failures;
          ADD_FAILURE() << out.error().message;
        } else if (out->applied) {
          ++applied;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_events"), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM jobs WHERE projection_version = 2"), kJobs);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), 2 * kJobs);
}

// One failing write in a group-commit batch fails alone.
TEST_F(PgTest, AFailingWriteDoesNotFailItsBatch) {
  MetricsRegistry metrics;
  PostgresOptions o = Options();
  o.pool_size = 1;  // one thread: concurrent writes share batches
  auto store = OpenOrDie(o, &metrics);
  ASSERT_TRUE(store);
  raw_->Exec(
      "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.job_id LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$");
  raw_->Exec("CREATE TRIGGER poison BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION poison()");
  constexpr int kWrites = 60;
  std::vector<std::future<Result<SubmitOutcome>>> futures;
  std::vector<std::shared_ptr<std::promise<Result<SubmitOutcome>>>> promises;
  for (int i = 0; i < kWrites; ++i) {
    auto p = std::make_shared<std::promise<Result<SubmitOutcome>>>();
    futures.push_back(p->get_future());
    const std::string job = (i % 10 == 5 ? "poison-" : "job-") + std::to_string(i);
    store->Submit(MakeSubmit("t1", job, "key-" + std::to_string(i)),
                  [p](Result<SubmitOutcome> r) { p->set_value(std::move(r)); });
  }
  int ok = 0;
  int failed = 0;
  for (auto& f : futures) {
    Result<SubmitOutcome> r = f.get();
    if (r.ok()) {
      ++ok;
    } else {
      ++failed;
      EXPECT_EQ(r.error().code, ErrorCode::kInternal) << r.error().message;
    }
  }
  EXPECT_EQ(failed, 6);
  EXPECT_EQ(ok, kWrites - 6);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM jobs"), kWrites - 6);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), kWrites - 6);
  EXPECT_NE(metrics.RenderPrometheus().find("rtgw_store_commit_batch_size"), std::string::npos);
}

// The server drops every connection of the store (as a restart does): the next
// calls reconnect and succeed; nothing acknowledged before is lost.
TEST_F(PgTest, ReconnectsAfterTheServerDropsItsConnections) {
  PostgresOptions o = Options();
  o.url += "&application_name=" + schema_;
  auto store = OpenOrDie(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t1", "job-before", "k-before")).ok());
  ASSERT_TRUE(GetJobSync(*store, "t1", "job-before").ok());
  EXPECT_GE(
      raw_->Int("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + schema_ + "'"),
      1);
  raw_->Text(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
      "application_name = '" +
      schema_ + "'");
  // Dropped idle connections are replaced transparently, for writes and reads.
  Result<SubmitOutcome> after = SubmitSync(*store, MakeSubmit("t1", "job-after", "k-after"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  for (int i = 0; i < 6; ++i) {  // more calls than threads: every connection gets used
    Result<JobRecord> r = GetJobSync(*store, "t1", "job-before");
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_TRUE(GetJobSync(*store, "t1", "job-after").ok());
  Result<StoreHealth> health =
      Await<StoreHealth>([&](Callback<StoreHealth> cb) { store->CheckHealth(cb); });
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->writable) << health->detail;
  EXPECT_EQ(health->backend, "postgresql");
}

TEST_F(PgTest, ClosedStoreAnswersUnavailable) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(store);
  store->Close();
  Result<SubmitOutcome> r = SubmitSync(*store, MakeSubmit("t1", "j", "k"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

// ---- the outbox ----

TEST_F(PgTest, OutboxClaimsHeadsOnlyAndNeverTwice) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(store);
  // job-a: versions 1,2,3; job-b: version 1.
  SubmitRecord a = MakeSubmit("t1", "job-a", "ka");
  ASSERT_TRUE(SubmitSync(*store, a).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(a, "a1", JobState::kQueued)).ok());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(a, "a2", JobState::kRunning)).ok());
  ASSERT_TRUE(SubmitSync(*store, MakeSubmit("t2", "job-b", "kb")).ok());

  Result<std::vector<OutboxItem>> first = ClaimSync(*store, "relay-1", 10);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);  // one head per job
  EXPECT_EQ((*first)[0].job_id, "job-a");
  EXPECT_EQ((*first)[0].projection_version, 1);
  EXPECT_EQ((*first)[1].job_id, "job-b");
  EXPECT_EQ((*first)[0].attempts, 0);
  EXPECT_EQ((*first)[0].created_at.size(), std::string("2026-02-18T00:00:00.000000Z").size());
  // Leased: nobody else gets them, and job-a's next version waits for its head.
  Result<std::vector<OutboxItem>> second = ClaimSync(*store, "relay-2", 10);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->empty());

  // relay-2 cannot complete relay-1's row.
  EXPECT_FALSE(*CompleteSync(*store, "relay-2", (*first)[0].id));
  EXPECT_TRUE(*CompleteSync(*store, "relay-1", (*first)[0].id));
  Result<std::vector<OutboxItem>> next = ClaimSync(*store, "relay-2", 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].job_id, "job-a");
  EXPECT_EQ((*next)[0].projection_version, 2);

  // Fail with retry: back later with attempts 1; fail dead: a dead letter that
  // blocks the job's later versions until replayed.
  EXPECT_TRUE(*FailSync(*store, "relay-2", (*next)[0].id, false));
  Result<std::vector<OutboxItem>> retried = ClaimSync(*store, "relay-3", 10);
  ASSERT_TRUE(retried.ok());
  ASSERT_EQ(retried->size(), 1u);
  EXPECT_EQ((*retried)[0].attempts, 1);
  EXPECT_EQ((*retried)[0].last_error.value_or(""), "sink 500");
  EXPECT_TRUE(*FailSync(*store, "relay-3", (*retried)[0].id, true));
  EXPECT_TRUE(ClaimSync(*store, "relay-3", 10)->empty());

  Result<OutboxStats> stats = StatsSync(*store);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->dead, 1);
  EXPECT_EQ(stats->pending, 2);  // job-a v3 (blocked) and job-b v1 (leased)
  EXPECT_EQ(stats->leased, 1);
  EXPECT_GT(stats->oldest_pending_age_seconds, 0.0);

  Result<std::vector<OutboxItem>> dead = Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { store->ListDeadLetters(std::nullopt, 10, cb); });
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_TRUE((*dead)[0].dead_at.has_value());
  Result<std::vector<OutboxItem>> other_tenant = Await<std::vector<OutboxItem>>(
      [&](Callback<std::vector<OutboxItem>> cb) { store->ListDeadLetters("t2", 10, cb); });
  EXPECT_TRUE(other_tenant->empty());
  EXPECT_FALSE(
      *Await<bool>([&](Callback<bool> cb) { store->ReplayDeadLetter("t2", (*dead)[0].id, cb); }));
  EXPECT_TRUE(
      *Await<bool>([&](Callback<bool> cb) { store->ReplayDeadLetter("t1", (*dead)[0].id, cb); }));
  Result<std::vector<OutboxItem>> replayed = ClaimSync(*store, "relay-4", 10);
  ASSERT_TRUE(replayed.ok());
  ASSERT_EQ(replayed->size(), 1u);
  EXPECT_EQ((*replayed)[0].projection_version, 2);
  EXPECT_EQ((*replayed)[0].attempts, 0);
}

TEST_F(PgTest, ConcurrentClaimersNeverShareARowAndExpiredLeasesAreTakenOver) {
  auto a = OpenOrDie(Options());
  auto b = OpenOrDie(Options());
  ASSERT_TRUE(a && b);
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(
        SubmitSync(*a, MakeSubmit("t1", "j" + std::to_string(i), "k" + std::to_string(i))).ok());
  }
  std::mutex mu;
  std::multiset<std::int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      OutboxStore& s = t % 2 ? static_cast<OutboxStore&>(*a) : static_cast<OutboxStore&>(*b);
      for (int round = 0; round < 5; ++round) {
        Result<std::vector<OutboxItem>> got = ClaimSync(s, "owner-" + std::to_string(t), 7);
        ASSERT_TRUE(got.ok()) << got.error().message;
        std::lock_guard lock(mu);
        for (const OutboxItem& it : *got) claimed.insert(it.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(std::set<std::int64_t>(claimed.begin(), claimed.end()).size(), claimed.size());

  // A lease expires and another owner takes the row over; the old owner can
  // then no longer complete it.
  const std::string old_owner =
      raw_->Text("SELECT lease_owner FROM projection_outbox ORDER BY id LIMIT 1");
  raw_->Exec(
      "UPDATE projection_outbox SET lease_expires_at = now() - interval '1 second'"
      " WHERE id = (SELECT min(id) FROM projection_outbox)");
  Result<std::vector<OutboxItem>> taken = ClaimSync(*a, "new-owner", 100);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_FALSE(*CompleteSync(*a, old_owner, (*taken)[0].id));
  EXPECT_TRUE(*CompleteSync(*a, "new-owner", (*taken)[0].id));
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), kJobs - 1);
}

}  // namespace
}  // namespace rtgw::storage::postgres
