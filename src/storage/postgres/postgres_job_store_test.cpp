// The PostgreSQL job store: the backend-neutral scenarios of
// storage/job_store_scenarios.hpp, outbox_store_scenarios.hpp,
// node_store_scenarios.hpp, validator_run_store_scenarios.hpp,
// revocation_store_scenarios.hpp and job_feed_store_scenarios.hpp (the six
// suites on PgTestDatabase are instantiated here), then what only PostgreSQL
// has: migrations and URLs at Open, two replicas on one database (also
// numbering one tenant's changes), a failing write in a batch, reconnects
// (also of the LISTEN connection).
// Runs against a real PostgreSQL named by RTGW_TEST_PG_DSN (scripts/test.sh
// starts one and sets it). Without it every test FAILS: a skipped store test
// would look like a passing one.
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
#include "storage/job_feed_store_scenarios.hpp"
#include "storage/job_retention_store_scenarios.hpp"
#include "storage/job_store_scenarios.hpp"
#include "storage/node_store_scenarios.hpp"
#include "storage/outbox_store_scenarios.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_job_ops.hpp"
#include "storage/postgres/pg_test_support.hpp"
#include "storage/revocation_store_scenarios.hpp"
#include "storage/validator_run_retention_store_scenarios.hpp"
#include "storage/validator_run_store_scenarios.hpp"

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
  std::unique_ptr<PgDatabase> OpenOrDie(PostgresOptions o, MetricsRegistry* m = nullptr) {
    Result<std::unique_ptr<PgDatabase>> s = PgDatabase::Open(std::move(o), m);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    if (!s.ok()) return nullptr;
    return std::move(s).value();
  }
  // A store whose connections are named after the test's schema
  // (application_name), so the test can find them and have the server drop them.
  std::unique_ptr<PgDatabase> OpenNamedOrDie() {
    PostgresOptions o = Options();
    o.url += "&application_name=" + schema_;
    return OpenOrDie(o);
  }
};

// ---- schema ----

TEST_F(PgTest, MigratesOnceAndRefusesBehindOrNewerSchemas) {
  // Without --migrate an empty database is "behind": refused, naming `rtgw migrate`.
  Result<std::unique_ptr<PgDatabase>> behind = PgDatabase::Open(Options(false), nullptr);
  ASSERT_FALSE(behind.ok());
  EXPECT_EQ(behind.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(behind.error().message.find("rtgw migrate"), std::string::npos)
      << behind.error().message;

  // Eight processes' worth of migrators at once: every step applied exactly once.
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (MigratePostgres(url_).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM schema_migrations"), PgDatabase::SchemaVersion());
  EXPECT_EQ(raw_->Int("SELECT max(version) FROM schema_migrations"), PgDatabase::SchemaVersion());
  Result<PgMigrateReport> again = MigratePostgres(url_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, 0);
  OpenOrDie(Options(false))->Close();  // up to date: opens without migrating

  raw_->Exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')");
  for (bool migrate : {false, true}) {
    Result<std::unique_ptr<PgDatabase>> newer = PgDatabase::Open(Options(migrate), nullptr);
    ASSERT_FALSE(newer.ok());
    EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
  }
}

TEST_F(PgTest, OpenRefusesBadUrlsAndUnreachableServers) {
  PostgresOptions bad = Options();
  bad.url = "mysql://x";
  Result<std::unique_ptr<PgDatabase>> r1 = PgDatabase::Open(bad, nullptr);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ErrorCode::kInvalidArgument);
  PostgresOptions down = Options();
  down.url = "postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2";
  Result<std::unique_ptr<PgDatabase>> r2 = PgDatabase::Open(down, nullptr);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(RedactUrl("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://h/db"), "postgresql://h/db");
}

// ---- replicas, faults, outages ----

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
  threads.reserve(kCopies);
  for (int c = 0; c < kCopies; ++c) {
    threads.emplace_back([&, c] {
      JobStore& store = (c % 2 == 0) ? a->jobs() : b->jobs();
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
      JobStore& store = (c % 2 == 0) ? a->jobs() : b->jobs();
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
    store->jobs().Submit(MakeSubmit("t1", job, "key-" + std::to_string(i)),
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
  // A batch run again with savepoints numbers its changes once: the first
  // run's were rolled back and dropped.
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_changes"), kWrites - 6);
  EXPECT_EQ(raw_->Int("SELECT max(seq) FROM job_changes"), kWrites - 6);
  EXPECT_EQ(raw_->Int("SELECT last_seq FROM job_change_heads WHERE tenant_id = 't1'"), kWrites - 6);
  EXPECT_NE(metrics.RenderPrometheus().find("rtgw_store_commit_batch_size"), std::string::npos);
}

// A write that added a change and then failed is rolled back to its
// savepoint, its change with it; the batch's other changes stay gap-free.
TEST_F(PgTest, TheChangeOfARolledBackWriteIsDropped) {
  PostgresOptions o = Options();
  o.pool_size = 1;  // one thread: the writes below share batches
  auto store = OpenOrDie(o);
  ASSERT_TRUE(store);
  std::vector<std::future<bool>> done;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<bool>>();
    done.push_back(p->get_future());
    if (i % 5 == 2) {
      SubmitRecord r = MakeSubmit("t1", "undone-" + std::to_string(i), "k-u" + std::to_string(i));
      store->Write<Ok>(
          "t1", r.job_id,
          [r](PgConn& c) -> Result<Ok> {
            Result<SubmitOutcome> out = PgSubmit(c, r);
            if (!out) return std::move(out).error();
            // A real SQL error after the submit: the transaction (or the
            // savepoint) is aborted.
            if (Status s = c.Exec("SELECT 1/0", "fail on purpose"); !s) return std::move(s).error();
            return Ok{};
          },
          [p](const Result<Ok>& out) { p->set_value(out.ok()); });
    } else {
      store->jobs().Submit(MakeSubmit("t1", "job-" + std::to_string(i), "k" + std::to_string(i)),
                           [p](const Result<SubmitOutcome>& r) { p->set_value(r.ok()); });
    }
  }
  int ok = 0;
  for (auto& f : done) ok += f.get() ? 1 : 0;
  EXPECT_EQ(ok, 16);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM jobs WHERE job_id LIKE 'undone%'"), 0);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_changes WHERE job_id LIKE 'undone%'"), 0);
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_changes"), 16);
  EXPECT_EQ(raw_->Int("SELECT count(DISTINCT seq) FROM job_changes"), 16);
  EXPECT_EQ(raw_->Int("SELECT max(seq) FROM job_changes"), 16);
}

// Two replicas write one tenant at once while a reader tails the feed
// through one of them. Every change is numbered once, 1..N without a gap,
// and a seq becomes visible only after every lower one: the tailing reader,
// which never goes back, ends with exactly the table's changes. The
// listener on replica A also hears replica B's commits.
TEST_F(PgTest, TwoReplicasNumberOneTenantsChangesGapFreeInCommitOrder) {
  auto a = OpenOrDie(Options());
  auto b = OpenOrDie(Options());
  ASSERT_TRUE(a && b);
  ListenerProbe probe;
  a->feed().SetChangeListener(probe.Listener());
  constexpr int kWritersPerReplica = 3;
  constexpr int kJobsPerWriter = 20;
  constexpr int kChanges = 2 * kWritersPerReplica * kJobsPerWriter * 3;  // submit + 2 events
  std::atomic<bool> writing{true};
  std::vector<ChangeRecord> tailed;
  std::thread tail([&] {
    std::int64_t after = 0;
    for (;;) {
      const bool last_round = !writing.load();
      Result<ChangePage> page =
          Await<ChangePage>([&](auto cb) { a->feed().ReadChanges("t-rep", after, 50, cb); });
      ASSERT_TRUE(page) << page.error().message;
      for (ChangeRecord& c : page->changes) {
        EXPECT_EQ(c.seq, after + 1) << "a hole in the feed as a reader saw it";
        after = c.seq;
        tailed.push_back(std::move(c));
      }
      if (last_round && page->changes.empty()) return;
    }
  });
  std::vector<std::thread> writers;
  for (int replica = 0; replica < 2; ++replica) {
    PgDatabase& db = replica == 0 ? *a : *b;
    for (int w = 0; w < kWritersPerReplica; ++w) {
      writers.emplace_back([&db, replica, w] {
        for (int n = 0; n < kJobsPerWriter; ++n) {
          const std::string id =
              "j-" + std::to_string(replica) + "-" + std::to_string(w) + "-" + std::to_string(n);
          SubmitRecord r = MakeSubmit("t-rep", id, "k-" + id);
          EXPECT_TRUE(SubmitSync(db.jobs(), r));
          EXPECT_TRUE(AppendSync(db.jobs(), MakeEvent(r, id + ":q", JobState::kQueued)));
          EXPECT_TRUE(AppendSync(db.jobs(), MakeEvent(r, id + ":r", JobState::kRunning)));
        }
      });
    }
  }
  for (auto& t : writers) t.join();
  writing = false;
  tail.join();

  ASSERT_EQ(tailed.size(), static_cast<std::size_t>(kChanges));
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM job_changes WHERE tenant_id = 't-rep'"), kChanges);
  EXPECT_EQ(raw_->Int("SELECT last_seq FROM job_change_heads WHERE tenant_id = 't-rep'"), kChanges);
  std::map<std::string, std::int64_t> version;
  std::set<std::pair<std::string, std::int64_t>> once;
  for (const ChangeRecord& c : tailed) {
    EXPECT_TRUE(once.emplace(c.job_id, c.projection_version).second) << c.job_id;
    EXPECT_EQ(c.projection_version, ++version[c.job_id]) << c.job_id << " out of order";
  }
  EXPECT_EQ(version.size(), static_cast<std::size_t>(2 * kWritersPerReplica * kJobsPerWriter));
  EXPECT_TRUE(probe.WaitFor("t-rep"));
  a->Close();
  b->Close();
}

// The LISTEN connection is dropped by the server: it reconnects and tells
// the listener "" (anything may have changed meanwhile), then hears commits
// again.
TEST_F(PgTest, ChangeListenerReconnectsAndAnnouncesTheGap) {
  auto store = OpenNamedOrDie();
  ASSERT_TRUE(store);
  ListenerProbe probe;
  store->feed().SetChangeListener(probe.Listener());
  ASSERT_TRUE(SubmitSync(store->jobs(), MakeSubmit("t-l", "j1", "k1")));
  ASSERT_TRUE(probe.WaitFor("t-l"));
  EXPECT_EQ(probe.Calls(""), 0);
  EXPECT_EQ(raw_->Int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                      "application_name = '" +
                      schema_ + "' AND query LIKE 'LISTEN%'"),
            1);
  EXPECT_TRUE(probe.WaitFor(""));
  ASSERT_TRUE(SubmitSync(store->jobs(), MakeSubmit("t-l", "j2", "k2")));
  EXPECT_TRUE(probe.WaitFor("t-l", 2));
  store->Close();
}

// The server drops every connection of the store (as a restart does): the next
// calls reconnect and succeed; nothing acknowledged before is lost.
TEST_F(PgTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto store = OpenNamedOrDie();
  ASSERT_TRUE(store);
  ASSERT_TRUE(SubmitSync(store->jobs(), MakeSubmit("t1", "job-before", "k-before")).ok());
  ASSERT_TRUE(GetJobSync(store->jobs(), "t1", "job-before").ok());
  EXPECT_GE(
      raw_->Int("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + schema_ + "'"),
      1);
  raw_->Text(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
      "application_name = '" +
      schema_ + "'");
  // Dropped idle connections are replaced transparently, for writes and reads.
  Result<SubmitOutcome> after = SubmitSync(store->jobs(), MakeSubmit("t1", "job-after", "k-after"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  for (int i = 0; i < 6; ++i) {  // more calls than threads: every connection gets used
    Result<JobRecord> r = GetJobSync(store->jobs(), "t1", "job-before");
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_TRUE(GetJobSync(store->jobs(), "t1", "job-after").ok());
  Result<StoreHealth> health = Await<StoreHealth>(
      [&](Callback<StoreHealth> cb) { store->jobs().CheckHealth(std::move(cb)); });
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->writable) << health->detail;
  EXPECT_EQ(health->backend, "postgresql");
}

TEST_F(PgTest, ConcurrentClaimersNeverShareARowAndExpiredLeasesAreTakenOver) {
  auto a = OpenOrDie(Options());
  auto b = OpenOrDie(Options());
  ASSERT_TRUE(a && b);
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(
        SubmitSync(a->jobs(), MakeSubmit("t1", "j" + std::to_string(i), "k" + std::to_string(i)))
            .ok());
  }
  std::mutex mu;
  std::multiset<std::int64_t> claimed;
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      OutboxStore& s = t % 2 ? a->outbox() : b->outbox();
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
  Result<std::vector<OutboxItem>> taken = ClaimSync(a->outbox(), "new-owner", 100);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_FALSE(*CompleteSync(a->outbox(), old_owner, (*taken)[0].id));
  EXPECT_TRUE(*CompleteSync(a->outbox(), "new-owner", (*taken)[0].id));
  EXPECT_EQ(raw_->Int("SELECT count(*) FROM projection_outbox"), kJobs - 1);
}

}  // namespace
}  // namespace rtgw::storage::postgres

namespace rtgw::storage::test_support {
RTGW_INSTANTIATE_STORE_SCENARIOS(Postgres, postgres::test_support::PgTestDatabase);
}  // namespace rtgw::storage::test_support
