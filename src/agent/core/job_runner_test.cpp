// JobRunner on real backends: the real slurmctld of scripts/services/slurm-up.sh (tests skip,
// naming the reason, when it is down) and the local executor. No gateway involved: events are
// checked in the journal, where the agent's sender picks them up.
#include "agent/core/job_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agent/executor/local_executor.hpp"
#include "agent/executor/slurm_executor.hpp"
#include "agent/proc/process.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "common/random.hpp"

namespace rtgw::agent {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

bool SlurmUp() {
  auto r = RunProcess({"scontrol", "ping"}, {});
  return r.ok() && r->exit_code == 0 && r->out.find("UP") != std::string::npos;
}

// Slurm jobs carrying `tag` as their comment, counted from a fresh listing.
int CountSlurmJobsWithTag(const std::string& tag) {
  slurm::CliSlurmClient c({});
  auto jobs = c.ListJobs();
  EXPECT_TRUE(jobs.ok());
  int n = 0;
  for (const auto& j : *jobs) n += j.comment == tag ? 1 : 0;
  return n;
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rtgw-runner-" + RandomHex(6));
    fs::create_directories(dir_);
    journal_path_ = (dir_ / "journal.db").string();
    journal_ = Journal::Open(journal_path_).value();
  }
  void TearDown() override {
    journal_.reset();
    if (HasFailure()) {
      std::fprintf(stderr, "kept for inspection: %s\n", dir_.c_str());
      return;
    }
    fs::remove_all(dir_);
  }

  std::shared_ptr<slurm::CliSlurmClient> SlurmClient() {
    return std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
  }
  std::unique_ptr<JobRunner> Runner(std::shared_ptr<Executor> ex, std::string crash = "") {
    JobRunner::Options o;
    o.work_dir = dir_.string();
    o.crash_point = std::move(crash);
    return std::make_unique<JobRunner>(journal_.get(), std::move(ex), o, nullptr);
  }
  JobSpec Spec(const std::string& uri, std::int64_t walltime_s = 120) {
    JobSpec s;
    s.submission_id = NewUuidV4();
    s.job_id = "job-" + s.submission_id.substr(0, 8);
    s.tenant_id = "t1";
    s.workspace_id = "w1";
    s.trace_id = "trace-" + s.submission_id.substr(0, 8);
    s.cpu = 1;
    s.memory_mib = 64;
    s.walltime_seconds = walltime_s;
    s.input_uri = uri;
    s.partition = "debug";
    return s;
  }
  // Leases and submits `spec`; returns the runner's answer.
  // The agent's path for a lease from the gateway.
  JobRunner::SubmitResult LeaseAndSubmit(JobRunner& r, const JobSpec& spec) {
    return r.SubmitLease(spec, "lease-" + spec.submission_id);
  }
  // Reconciles until the job's phase is terminal; returns the journal row.
  JournalJob RunToEnd(JobRunner& r, const std::string& sid, int seconds = 60) {
    for (int i = 0; i < seconds * 5; ++i) {
      r.Reconcile();
      auto row = journal_->Get(sid);
      if (row.ok() && row->has_value() && (*row)->phase == JournalPhase::kTerminal) return **row;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << sid << " did not finish";
    return {};
  }
  // Event bodies of one submission, in journal order, by state.
  std::vector<json::object> Events(const std::string& sid) {
    std::vector<json::object> out;
    auto events = journal_->EventsOf(sid);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events) {
      json::object o = json::parse(e.body).as_object();
      EXPECT_EQ(e.event_id, sid + ":" + std::string(o["state"].as_string()));
      out.push_back(std::move(o));
    }
    return out;
  }
  std::vector<std::string> States(const std::string& sid) {
    std::vector<std::string> s;
    for (auto& e : Events(sid)) s.emplace_back(e["state"].as_string());
    return s;
  }

  fs::path dir_;
  std::string journal_path_;
  std::unique_ptr<Journal> journal_;
};

using V = std::vector<std::string>;

TEST_F(JobRunnerTest, SlurmSuccess) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running (scripts/services/slurm-up.sh)";
  auto ex = std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, dir_.string());
  auto r = Runner(ex);
  JobSpec spec = Spec("inline://ok?sleep=1");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  JournalJob end = RunToEnd(*r, spec.submission_id);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "completed"}));
  auto ev = Events(spec.submission_id);
  EXPECT_EQ(ev[0]["execution_id"].as_string(), end.backend_id);
  const std::string out = std::string(ev[2]["result_ref"].as_object()["output_uri"].as_string());
  EXPECT_EQ(out, "file://" + (dir_ / ("rtgw-" + spec.submission_id + ".out")).string());
}

TEST_F(JobRunnerTest, SlurmNonZeroExit) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto ex = std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, dir_.string());
  auto r = Runner(ex);
  JobSpec spec = Spec("inline://bad?sleep=0&exit=42");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  RunToEnd(*r, spec.submission_id);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "failed"}));
  auto err = Events(spec.submission_id).back()["error"].as_object();
  EXPECT_EQ(err["code"].as_string(), "exit_code");
  EXPECT_EQ(err["exit_code"].as_int64(), 42);
}

// Whether the job's batch script has started: the inline payload's first line is in its output.
bool ScriptStarted(const fs::path& out) {
  std::ifstream in(out);
  std::string line;
  return std::getline(in, line) && line.rfind("rtgw demo payload:", 0) == 0;
}

// Cancel once the script runs: Slurm's SIGTERM ends it, and the event says so. The agent sends
// one scancel however often the request is repeated and however many cycles the end takes.
TEST_F(JobRunnerTest, SlurmCancelWhileRunning) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto ex = std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string());
  auto r = Runner(ex);
  JobSpec spec = Spec("inline://long?sleep=300", 600);
  const std::string sid = spec.submission_id;
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  const fs::path out = dir_ / ("rtgw-" + sid + ".out");
  for (int i = 0; i < 300 && !ScriptStarted(out); ++i) {
    r->Reconcile();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ScriptStarted(out)) << "the batch script did not start within 60 s";
  r->Reconcile();
  ASSERT_EQ((*journal_->Get(sid))->last_state, "running");

  auto before = client->calls();
  r->Cancel(sid);
  EXPECT_EQ(client->calls() - before, 1u) << "one scancel";
  for (int i = 0; i < 300; ++i) {
    r->Cancel(sid);  // the gateway lists the request on every lease poll
    before = client->calls();
    r->Reconcile();
    EXPECT_EQ(client->calls() - before, 1u) << "the snapshot only, no second scancel";
    if ((*journal_->Get(sid))->phase == JournalPhase::kTerminal) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ((*journal_->Get(sid))->phase, JournalPhase::kTerminal);
  EXPECT_EQ(States(sid), (V{"queued", "running", "cancelled"}));
  auto err = Events(sid).back()["error"].as_object();
  EXPECT_EQ(err["code"].as_string(), "cancelled");
  EXPECT_EQ(err["signal"].as_int64(), 15);
  EXPECT_NE(std::string(err["message"].as_string()).find("stopped by SIGTERM (15)"),
            std::string::npos)
      << err["message"];
}

// Cancel the moment Slurm reports the job running, when its script may not have started yet
// (then SIGTERM finds nothing to stop and Slurm SIGKILLs the job after KillWait). Whatever the
// timing, the event reports the signal Slurm itself recorded for the job.
TEST_F(JobRunnerTest, SlurmCancelAsTheJobStartsReportsTheSignalSlurmUsed) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://starting?sleep=300", 600);
  const std::string sid = spec.submission_id;
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  for (int i = 0; i < 300; ++i) {
    r->Reconcile();
    if ((*journal_->Get(sid))->last_state == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*journal_->Get(sid))->last_state, "running");
  r->Cancel(sid);
  const JournalJob end = RunToEnd(*r, sid);
  EXPECT_EQ(States(sid), (V{"queued", "running", "cancelled"}));

  auto jobs = client->ListJobs();  // the truth: what slurmctld recorded for this job
  ASSERT_TRUE(jobs.ok());
  const slurm::SlurmJob* truth = nullptr;
  for (const auto& j : *jobs) truth = j.job_id == end.backend_id ? &j : truth;
  ASSERT_NE(truth, nullptr);
  EXPECT_EQ(truth->state, "CANCELLED");
  const std::string recorded =
      std::to_string(truth->exit_code) + ":" + std::to_string(truth->signal);
  RecordProperty("slurm_exit_code", recorded);
  std::printf("slurm recorded ExitCode=%s for the cancelled job\n", recorded.c_str());
  auto err = Events(sid).back()["error"].as_object();
  EXPECT_EQ(err["signal"].as_int64(), truth->signal);
  const std::string message(err["message"].as_string());
  EXPECT_NE(message.find("ExitCode=" + std::to_string(truth->exit_code) + ":" +
                         std::to_string(truth->signal)),
            std::string::npos)
      << message;
  if (truth->signal == 9) {
    EXPECT_NE(message.find("SIGKILL (9) after KillWait"), std::string::npos) << message;
  } else if (truth->signal == 15) {
    EXPECT_NE(message.find("SIGTERM (15)"), std::string::npos) << message;
  }
}

TEST_F(JobRunnerTest, SlurmWalltimeOverPartitionLimitRefusedBeforeSbatch) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto ex = std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string());
  ASSERT_TRUE(ex->Describe().ok());
  auto r = Runner(ex);
  JobSpec spec = Spec("inline://x", 2 * 3600);  // debug MaxTime=60 min
  const auto before = client->calls();
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(client->calls(), before) << "nothing may reach sbatch";
  EXPECT_EQ(States(spec.submission_id), (V{"failed"}));
  auto ev = Events(spec.submission_id)[0];
  EXPECT_EQ(ev["error"].as_object()["code"].as_string(), "walltime_exceeds_limit");
  EXPECT_EQ(ev["execution_id"].as_string(), "none");
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

// kill -9 between sbatch and the journal update: the restarted runner finds the job by its
// tag and does not submit it again.
TEST_F(JobRunnerTest, SlurmCrashAfterSbatchThenRestartFindsTheJobByTag) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  JobSpec spec = Spec("inline://crash?sleep=2");
  journal_.reset();  // the child opens its own connection, like the old agent process did
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto j = Journal::Open(journal_path_);
    if (!j.ok()) ::_exit(3);
    JobRunner::Options o;
    o.work_dir = dir_.string();
    o.crash_point = "after-sbatch";
    JobRunner crashing(
        j->get(), std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, ""), o, nullptr);
    (void)crashing.SubmitLease(spec, "lease-1");
    ::_exit(4);  // not reached: the hook SIGKILLs the process after sbatch
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  journal_ = Journal::Open(journal_path_).value();
  auto row = journal_->Get(spec.submission_id);
  ASSERT_EQ((*row)->phase, JournalPhase::kSubmitting) << "the intent was journaled, the id not";
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);

  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  EXPECT_EQ(r->SubmitLease(spec, "lease-2"), JobRunner::SubmitResult::kDone);  // the re-lease
  EXPECT_EQ((*journal_->Get(spec.submission_id))->phase, JournalPhase::kSubmitted);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1) << "no duplicate Slurm job";
  RunToEnd(*r, spec.submission_id);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "completed"}));
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_F(JobRunnerTest, SlurmReLeaseOfASubmittedJobSubmitsNothing) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x?sleep=0");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  const auto after_first = client->calls();
  // The gateway leases it again (our `queued` had not arrived before the lease expired).
  EXPECT_EQ(r->SubmitLease(spec, "lease-again"), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(client->calls(), after_first);
  EXPECT_EQ((*journal_->Get(spec.submission_id))->lease_id, "lease-again");
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_F(JobRunnerTest, SlurmVanishedJobIsLostNotFinished) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto r = Runner(std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, 1).ok());
  ASSERT_TRUE(journal_->MarkSubmitted(spec.submission_id, "987654321").ok());  // Slurm never had it
  r->Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "failed"}));
  auto err = Events(spec.submission_id).back()["error"].as_object();
  EXPECT_EQ(err["code"].as_string(), "lost");
  EXPECT_EQ((*journal_->Get(spec.submission_id))->phase, JournalPhase::kTerminal);
}

TEST_F(JobRunnerTest, SlurmOldIntentNotFoundIsLostAndNotResubmitted) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  // Intent from long ago (beyond MinJobAge): a job it made could have been purged already.
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, 1000).ok());
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(States(spec.submission_id), (V{"failed"}));
  EXPECT_EQ(Events(spec.submission_id)[0]["error"].as_object()["code"].as_string(), "lost");
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

TEST_F(JobRunnerTest, SlurmRecentIntentNotFoundIsSubmittedOnce) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto r = Runner(std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x?sleep=0");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, now_ms).ok());  // crashed before sbatch
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);  // again: no-op
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_F(JobRunnerTest, SlurmCancelBeforeSubmissionNeverReachesSlurm) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  const auto before = client->calls();
  r->Cancel(spec.submission_id);  // the gateway lists a leased job's cancel request
  EXPECT_EQ(States(spec.submission_id), (V{"cancelled"}));
  EXPECT_EQ(Events(spec.submission_id)[0]["execution_id"].as_string(), "none");
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);  // terminal: no-op
  EXPECT_EQ(client->calls(), before);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

TEST_F(JobRunnerTest, SlurmCancelRequestedDuringAnUnknownSubmitIsHonouredBeforeSbatch) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto r = Runner(std::make_shared<SlurmExecutor>(SlurmClient(), RenderOptions{}, dir_.string()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, now_ms).ok());  // outcome unknown
  r->Cancel(spec.submission_id);  // phase submitting: only recorded
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(States(spec.submission_id), (V{"cancelled"}));
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

TEST_F(JobRunnerTest, SlurmOneQueryPerPollCycle) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = SlurmClient();
  auto r = Runner(std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir_.string()));
  std::vector<JobSpec> specs;
  for (int i = 0; i < 12; ++i) {
    specs.push_back(Spec("inline://many?sleep=120", 600));
    ASSERT_EQ(LeaseAndSubmit(*r, specs.back()), JobRunner::SubmitResult::kDone);
  }
  r->Reconcile();  // settle queued/running events
  for (int cycle = 0; cycle < 3; ++cycle) {
    const auto before = client->calls();
    r->Reconcile();
    EXPECT_EQ(client->calls() - before, 1u) << "one scontrol call for " << specs.size() << " jobs";
  }
  EXPECT_EQ(r->in_flight(), 12);
  for (const auto& s : specs) r->Cancel(s.submission_id);
  for (const auto& s : specs) RunToEnd(*r, s.submission_id);
  for (const auto& s : specs) EXPECT_EQ(States(s.submission_id).back(), "cancelled");
}

// A backend for the runner's cancel decisions: one job, running until a cancel is taken;
// the first `refuse_cancels` cancels fail.
class FakeExecutor final : public Executor {
 public:
  std::string name() const override { return "fake"; }
  SubmitOutcome Submit(const JobSpec&) override {
    SubmitOutcome o;
    o.kind = SubmitOutcome::Kind::kSubmitted;
    o.backend_id = "f1";
    return o;
  }
  Result<BackendSnapshot> Snapshot() override {
    std::lock_guard lock(mu);
    BackendSnapshot snap;
    JobObservation o;
    o.phase = ended ? JobPhase::kCancelled : JobPhase::kRunning;
    snap.by_id["f1"] = o;
    return snap;
  }
  Status Cancel(const std::string& id) override {
    std::lock_guard lock(mu);
    cancels.push_back(id);
    if (static_cast<int>(cancels.size()) <= refuse_cancels) return Unavailable("slurmctld busy");
    return Ok{};
  }
  Result<std::optional<slurm::ClusterInfo>> Describe() override {
    return std::optional<slurm::ClusterInfo>();
  }
  std::chrono::seconds visibility_window() const override { return std::chrono::hours(1); }
  std::uint64_t backend_calls() const override { return 0; }
  int cancel_calls() {
    std::lock_guard lock(mu);
    return static_cast<int>(cancels.size());
  }

  std::mutex mu;
  std::vector<std::string> cancels;
  int refuse_cancels = 0;
  bool ended = false;
};

// One cancel per request: a cancel the backend took is never sent again; one it refused is
// sent again only after a backoff that doubles.
TEST_F(JobRunnerTest, CancelIsSentOnceAndRetriedWithBackoffOnlyWhenRefused) {
  auto fake = std::make_shared<FakeExecutor>();
  fake->refuse_cancels = 2;
  JobRunner::Options o;
  o.work_dir = dir_.string();
  o.cancel_retry_initial = std::chrono::milliseconds(200);
  o.cancel_retry_max = std::chrono::milliseconds(400);
  JobRunner r(journal_.get(), fake, o, nullptr);
  JobSpec spec = Spec("inline://x?sleep=60");
  ASSERT_EQ(LeaseAndSubmit(r, spec), JobRunner::SubmitResult::kDone);
  r.Reconcile();
  ASSERT_EQ((*journal_->Get(spec.submission_id))->last_state, "running");

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  r.Cancel(spec.submission_id);  // refused (1)
  ASSERT_EQ(fake->cancel_calls(), 1);
  r.Cancel(spec.submission_id);  // within the backoff: not sent
  r.Reconcile();
  EXPECT_EQ(fake->cancel_calls(), 1);
  // Refused again (2), then taken (3): each after its backoff (>= 100 ms, then >= 200 ms).
  while (fake->cancel_calls() < 3 && Clock::now() - t0 < std::chrono::seconds(10)) {
    r.Reconcile();
    r.Cancel(spec.submission_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(fake->cancel_calls(), 3);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300)) << "backoff 100-200 + 200-400 ms";
  for (int i = 0; i < 20; ++i) {  // taken: never again, whatever repeats the request
    r.Reconcile();
    r.Cancel(spec.submission_id);
  }
  EXPECT_EQ(fake->cancel_calls(), 3);
  {
    std::lock_guard lock(fake->mu);
    fake->ended = true;
  }
  r.Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "cancelled"}));
  r.Cancel(spec.submission_id);  // terminal: nothing to send
  EXPECT_EQ(fake->cancel_calls(), 3);
}

TEST_F(JobRunnerTest, LocalExecutorEndToEnd) {
  auto ex = std::make_shared<LocalExecutor>((dir_ / "work").string(), RenderOptions{});
  auto r = Runner(ex);
  JobSpec ok = Spec("inline://ok?sleep=0");
  JobSpec bad = Spec("inline://bad?sleep=0&exit=2");
  JobSpec cancel = Spec("inline://long?sleep=60");
  for (const auto* s : {&ok, &bad, &cancel}) {
    ASSERT_EQ(LeaseAndSubmit(*r, *s), JobRunner::SubmitResult::kDone);
  }
  for (int i = 0; i < 100; ++i) {
    r->Reconcile();
    if ((*journal_->Get(cancel.submission_id))->last_state == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  r->Cancel(cancel.submission_id);
  RunToEnd(*r, ok.submission_id);
  RunToEnd(*r, bad.submission_id);
  RunToEnd(*r, cancel.submission_id);
  EXPECT_EQ(States(ok.submission_id), (V{"queued", "running", "completed"}));
  EXPECT_EQ(States(bad.submission_id), (V{"queued", "running", "failed"}));
  EXPECT_EQ(Events(bad.submission_id).back()["error"].as_object()["exit_code"].as_int64(), 2);
  EXPECT_EQ(States(cancel.submission_id).back(), "cancelled");
}

}  // namespace
}  // namespace rtgw::agent
