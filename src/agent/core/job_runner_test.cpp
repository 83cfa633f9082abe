// JobRunner's decisions. Each Slurm scenario is one body run twice: on FakeSlurmCluster (always;
// the test plays the scheduler) and on the real slurmctld of scripts/services/slurm-up.sh (the
// /Live variants skip, naming the reason, when it is down). Then what only the fake can stage
// (commands failing on cue), and the local executor. No gateway involved: events are checked in
// the journal, where the agent's sender picks them up.
#include "agent/core/job_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agent/executor/local_executor.hpp"
#include "agent/executor/slurm_executor.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "agent/slurm/fake_slurm_cluster.hpp"
#include "common/random.hpp"
#include "common/temp_dir.hpp"

namespace rtgw::agent {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using slurm::FakeSlurmCluster;
using slurm::SlurmBackend;
using Command = FakeSlurmCluster::Command;
using Fault = FakeSlurmCluster::Fault;
using V = std::vector<std::string>;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { journal_ = Journal::Open(journal_path_).value(); }

  // The Slurm client of this test: the fake's when there is one, else the live one.
  std::shared_ptr<slurm::SlurmClient> Client() {
    if (fake_) return fake_->Client();
    return std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
  }
  std::shared_ptr<SlurmExecutor> Slurm(std::shared_ptr<slurm::SlurmClient> client) {
    return std::make_shared<SlurmExecutor>(std::move(client), RenderOptions{},
                                           dir_.path().string());
  }
  std::unique_ptr<JobRunner> Runner(std::shared_ptr<Executor> ex, std::string crash = "") {
    JobRunner::Options o;
    o.work_dir = dir_.path().string();
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
  // The agent's path for a lease from the gateway.
  JobRunner::SubmitResult LeaseAndSubmit(JobRunner& r, const JobSpec& spec) {
    return r.SubmitLease(spec, "lease-" + spec.submission_id);
  }
  JournalJob Row(const std::string& sid) { return **journal_->Get(sid); }
  // Waits between polls of live backends; the fake has moved already when it is polled.
  void Pause(std::chrono::milliseconds ms) {
    if (!fake_) std::this_thread::sleep_for(ms);
  }
  // Reconciles until the job's phase is terminal; returns the journal row.
  JournalJob RunToEnd(JobRunner& r, const std::string& sid, int seconds = 60) {
    for (int i = 0; i < seconds * 5; ++i) {
      r.Reconcile();
      if (Row(sid).phase == JournalPhase::kTerminal) return Row(sid);
      if (fake_ && i > 0) break;  // nothing changes on the fake unless the test moves it
      Pause(std::chrono::milliseconds(200));
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
  json::object LastError(const std::string& sid) { return Events(sid).back()["error"].as_object(); }
  // Slurm jobs carrying `tag` as their comment, counted from a fresh listing.
  int CountSlurmJobsWithTag(const std::string& tag) {
    auto jobs = Client()->ListJobs();
    EXPECT_TRUE(jobs.ok());
    int n = 0;
    for (const auto& j : *jobs) n += j.comment == tag ? 1 : 0;
    return n;
  }

  TempDir dir_{"rtgw-runner"};
  const std::string journal_path_ = dir_.File("journal.db");
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<FakeSlurmCluster> fake_;  // null on live Slurm
};

class JobRunnerSlurmTest : public JobRunnerTest,
                           public ::testing::WithParamInterface<SlurmBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == SlurmBackend::kLive && !slurm::LiveSlurmUp()) {
      GTEST_SKIP() << "Slurm is not running (scripts/services/slurm-up.sh)";
    }
    if (GetParam() == SlurmBackend::kFake) fake_ = std::make_unique<FakeSlurmCluster>();
    JobRunnerTest::SetUp();
  }

  // Until the runner has reported the job running (and, with `script_runs`, its batch script
  // has written its first line). On the fake the test starts it.
  void WaitRunning(JobRunner& r, const std::string& sid, bool script_runs) {
    if (fake_) {
      ASSERT_TRUE(fake_->Start(Row(sid).backend_id).ok());
    }
    const fs::path out = dir_.path() / ("rtgw-" + sid + ".out");
    for (int i = 0; i < 600; ++i) {
      r.Reconcile();
      if (Row(sid).last_state == "running" && (fake_ || !script_runs || ScriptStarted(out))) return;
      Pause(std::chrono::milliseconds(100));
    }
    FAIL() << sid << " did not start within 60 s";
  }
  // A job of `uri` (walltime 600 s) leased, submitted and running (WaitRunning), with the
  // client and runner that run it; the fake's scancel ends a job with `cancel_signal`.
  struct RunningJob {
    std::shared_ptr<slurm::SlurmClient> client;
    std::unique_ptr<JobRunner> runner;
    std::string sid;
  };
  void StartRunning(const std::string& uri, int cancel_signal, bool script_runs, RunningJob* job) {
    if (fake_) fake_->set_cancel_signal(cancel_signal);
    job->client = Client();
    job->runner = Runner(Slurm(job->client));
    const JobSpec spec = Spec(uri, 600);
    job->sid = spec.submission_id;
    ASSERT_EQ(LeaseAndSubmit(*job->runner, spec), JobRunner::SubmitResult::kDone);
    WaitRunning(*job->runner, job->sid, script_runs);
  }
  // The job's script ends with `exit_code`: on live Slurm the inline payload's own exit; on the
  // fake the test starts it (the runner sees it running) and ends it.
  JournalJob Finish(JobRunner& r, const std::string& sid, int exit_code) {
    if (fake_) {
      const std::string id = Row(sid).backend_id;
      EXPECT_TRUE(fake_->Start(id).ok());
      r.Reconcile();
      EXPECT_TRUE(fake_->Finish(id, exit_code).ok());
    }
    return RunToEnd(r, sid);
  }
  // The journal and Slurm as the agent leaves them when it dies between sbatch and the journal
  // update: the intent recorded, a Slurm job with the tag, no Slurm id in the journal. Live:
  // a child process SIGKILLed by the runner's "after-sbatch" hook. The fake cannot outlive a
  // child, so there sbatch times out after slurmctld made the job: the same outcome unknown.
  void CrashAfterSbatch(const JobSpec& spec) {
    if (fake_) {
      fake_->FailNext(Command::kSbatch, Fault::kTimeoutAfterEffect);
      EXPECT_EQ(Runner(Slurm(Client()))->SubmitLease(spec, "lease-1"),
                JobRunner::SubmitResult::kPending);
      return;
    }
    journal_.reset();  // the child opens its own connection, like the old agent process did
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto j = Journal::Open(journal_path_);
      if (!j.ok()) ::_exit(3);
      JobRunner::Options o;
      o.work_dir = dir_.path().string();
      o.crash_point = "after-sbatch";
      JobRunner crashing(j->get(), Slurm(Client()), o, nullptr);
      (void)crashing.SubmitLease(spec, "lease-1");
      ::_exit(4);  // not reached: the hook SIGKILLs the process after sbatch
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exit " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
    journal_ = Journal::Open(journal_path_).value();
  }
  // Whether the job's batch script has started: the inline payload's first line is in its output.
  static bool ScriptStarted(const fs::path& out) {
    std::ifstream in(out);
    std::string line;
    return std::getline(in, line) && line.rfind("rtgw demo payload:", 0) == 0;
  }
};

INSTANTIATE_TEST_SUITE_P(Slurm, JobRunnerSlurmTest,
                         ::testing::Values(SlurmBackend::kFake, SlurmBackend::kLive),
                         [](const auto& p) { return slurm::SlurmBackendName(p.param); });

TEST_P(JobRunnerSlurmTest, Success) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://ok?sleep=1");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  JournalJob end = Finish(*r, spec.submission_id, 0);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "completed"}));
  auto ev = Events(spec.submission_id);
  EXPECT_EQ(ev[0]["execution_id"].as_string(), end.backend_id);
  const std::string out = std::string(ev[2]["result_ref"].as_object()["output_uri"].as_string());
  EXPECT_EQ(out, "file://" + (dir_.path() / ("rtgw-" + spec.submission_id + ".out")).string());
}

TEST_P(JobRunnerSlurmTest, NonZeroExit) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://bad?sleep=0&exit=42");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  Finish(*r, spec.submission_id, 42);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "failed"}));
  auto err = LastError(spec.submission_id);
  EXPECT_EQ(err["code"].as_string(), "exit_code");
  EXPECT_EQ(err["exit_code"].as_int64(), 42);
}

// Cancel once the script runs: Slurm's SIGTERM ends it, and the event says so. The agent sends
// one scancel however often the request is repeated and however many cycles the end takes.
TEST_P(JobRunnerSlurmTest, CancelWhileRunning) {
  // SIGTERM takes a few cycles to end the job on live Slurm; on the fake the test ends it.
  RunningJob job;
  ASSERT_NO_FATAL_FAILURE(StartRunning("inline://long?sleep=300", 0, /*script_runs=*/true, &job));
  auto& [client, r, sid] = job;

  auto before = client->calls();
  r->Cancel(sid);
  EXPECT_EQ(client->calls() - before, 1u) << "one scancel";
  for (int i = 0; i < 300; ++i) {
    r->Cancel(sid);  // the gateway lists the request on every lease poll
    before = client->calls();
    r->Reconcile();
    EXPECT_EQ(client->calls() - before, 1u) << "the snapshot only, no second scancel";
    if (Row(sid).phase == JournalPhase::kTerminal) break;
    if (fake_ && i == 3) {
      ASSERT_TRUE(fake_->End(Row(sid).backend_id, "CANCELLED", "None", 0, 15).ok());
    }
    Pause(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(Row(sid).phase, JournalPhase::kTerminal);
  EXPECT_EQ(States(sid), (V{"queued", "running", "cancelled"}));
  auto err = LastError(sid);
  EXPECT_EQ(err["code"].as_string(), "cancelled");
  EXPECT_EQ(err["signal"].as_int64(), 15);
  EXPECT_NE(std::string(err["message"].as_string()).find("stopped by SIGTERM (15)"),
            std::string::npos)
      << err["message"];
}

// Cancel the moment Slurm reports the job running, when its script may not have started yet
// (then SIGTERM finds nothing to stop and Slurm SIGKILLs the job after KillWait). Whatever the
// timing, the event reports the signal Slurm itself recorded for the job. The fake stages the
// SIGKILL case, which live Slurm shows only when the timing falls that way.
TEST_P(JobRunnerSlurmTest, CancelAsTheJobStartsReportsTheSignalSlurmUsed) {
  RunningJob job;
  ASSERT_NO_FATAL_FAILURE(
      StartRunning("inline://starting?sleep=300", 9, /*script_runs=*/false, &job));
  auto& [client, r, sid] = job;
  r->Cancel(sid);
  const JournalJob end = RunToEnd(*r, sid);
  EXPECT_EQ(States(sid), (V{"queued", "running", "cancelled"}));

  auto jobs = client->ListJobs();  // the truth: what slurmctld recorded for this job
  ASSERT_TRUE(jobs.ok());
  const slurm::SlurmJob* truth = nullptr;
  for (const auto& j : *jobs) truth = j.job_id == end.backend_id ? &j : truth;
  ASSERT_NE(truth, nullptr);
  EXPECT_EQ(truth->state, "CANCELLED");
  if (fake_) {
    EXPECT_EQ(truth->signal, 9);
  }
  const std::string recorded =
      std::to_string(truth->exit_code) + ":" + std::to_string(truth->signal);
  RecordProperty("slurm_exit_code", recorded);
  auto err = LastError(sid);
  EXPECT_EQ(err["signal"].as_int64(), truth->signal);
  const std::string message(err["message"].as_string());
  EXPECT_NE(message.find("ExitCode=" + recorded), std::string::npos) << message;
  if (truth->signal == 9) {
    EXPECT_NE(message.find("SIGKILL (9) after KillWait"), std::string::npos) << message;
  } else if (truth->signal == 15) {
    EXPECT_NE(message.find("SIGTERM (15)"), std::string::npos) << message;
  }
}

TEST_P(JobRunnerSlurmTest, WalltimeOverPartitionLimitRefusedBeforeSbatch) {
  auto client = Client();
  auto ex = Slurm(client);
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

// Killed between sbatch and the journal update: the restarted runner finds the job by its tag
// and does not submit it again.
TEST_P(JobRunnerSlurmTest, CrashAfterSbatchThenRestartFindsTheJobByTag) {
  JobSpec spec = Spec("inline://crash?sleep=2");
  CrashAfterSbatch(spec);
  ASSERT_EQ(Row(spec.submission_id).phase, JournalPhase::kSubmitting)
      << "the intent was journaled, the id not";
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);

  auto r = Runner(Slurm(Client()));
  EXPECT_EQ(r->SubmitLease(spec, "lease-2"), JobRunner::SubmitResult::kDone);  // the re-lease
  EXPECT_EQ(Row(spec.submission_id).phase, JournalPhase::kSubmitted);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1) << "no duplicate Slurm job";
  Finish(*r, spec.submission_id, 0);
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "completed"}));
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_P(JobRunnerSlurmTest, ReLeaseOfASubmittedJobSubmitsNothing) {
  auto client = Client();
  auto r = Runner(Slurm(client));
  JobSpec spec = Spec("inline://x?sleep=0");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  const auto after_first = client->calls();
  // The gateway leases it again (our `queued` had not arrived before the lease expired).
  EXPECT_EQ(r->SubmitLease(spec, "lease-again"), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(client->calls(), after_first);
  EXPECT_EQ(Row(spec.submission_id).lease_id, "lease-again");
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_P(JobRunnerSlurmTest, VanishedJobIsLostNotFinished) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, 1).ok());
  ASSERT_TRUE(journal_->MarkSubmitted(spec.submission_id, "987654321").ok());  // Slurm never had it
  r->Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "failed"}));
  EXPECT_EQ(LastError(spec.submission_id)["code"].as_string(), "lost");
  EXPECT_EQ(Row(spec.submission_id).phase, JournalPhase::kTerminal);
}

TEST_P(JobRunnerSlurmTest, OldIntentNotFoundIsLostAndNotResubmitted) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  // Intent from long ago (beyond MinJobAge): a job it made could have been purged already.
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, 1000).ok());
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(States(spec.submission_id), (V{"failed"}));
  EXPECT_EQ(Events(spec.submission_id)[0]["error"].as_object()["code"].as_string(), "lost");
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

TEST_P(JobRunnerSlurmTest, RecentIntentNotFoundIsSubmittedOnce) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x?sleep=0");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, NowMs()).ok());  // crashed before sbatch
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);  // again: no-op
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
}

TEST_P(JobRunnerSlurmTest, CancelBeforeSubmissionNeverReachesSlurm) {
  auto client = Client();
  auto r = Runner(Slurm(client));
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

TEST_P(JobRunnerSlurmTest, CancelRequestedDuringAnUnknownSubmitIsHonouredBeforeSbatch) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  ASSERT_TRUE(journal_->RecordLease(spec, "l").ok());
  ASSERT_TRUE(journal_->MarkSubmitting(spec.submission_id, NowMs()).ok());  // outcome unknown
  r->Cancel(spec.submission_id);  // phase submitting: only recorded
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(States(spec.submission_id), (V{"cancelled"}));
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 0);
}

TEST_P(JobRunnerSlurmTest, OneQueryPerPollCycle) {
  auto client = Client();
  auto r = Runner(Slurm(client));
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

// What only the fake can stage: Slurm commands failing on cue.
class JobRunnerFakeSlurmTest : public JobRunnerTest {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<FakeSlurmCluster>();
    JobRunnerTest::SetUp();
  }
};

// One cancel per request: a cancel the backend took is never sent again; one it refused is
// sent again only after a backoff that doubles.
TEST_F(JobRunnerFakeSlurmTest, CancelIsSentOnceAndRetriedWithBackoffOnlyWhenRefused) {
  fake_->FailNext(Command::kScancel, Fault::kUnreachable, 2);
  fake_->set_cancel_signal(0);  // a taken cancel leaves the job running (KillWait) until End
  JobRunner::Options o;
  o.work_dir = dir_.path().string();
  o.cancel_retry_initial = std::chrono::milliseconds(200);
  o.cancel_retry_max = std::chrono::milliseconds(400);
  JobRunner r(journal_.get(), Slurm(Client()), o, nullptr);
  JobSpec spec = Spec("inline://x?sleep=60");
  const std::string sid = spec.submission_id;
  ASSERT_EQ(LeaseAndSubmit(r, spec), JobRunner::SubmitResult::kDone);
  ASSERT_TRUE(fake_->Start(Row(sid).backend_id).ok());
  r.Reconcile();
  ASSERT_EQ(Row(sid).last_state, "running");

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  r.Cancel(sid);  // refused (1)
  ASSERT_EQ(fake_->runs(Command::kScancel), 1);
  r.Cancel(sid);  // within the backoff: not sent
  r.Reconcile();
  EXPECT_EQ(fake_->runs(Command::kScancel), 1);
  // Refused again (2), then taken (3): each after its backoff (>= 100 ms, then >= 200 ms).
  while (fake_->runs(Command::kScancel) < 3 && Clock::now() - t0 < std::chrono::seconds(10)) {
    r.Reconcile();
    r.Cancel(sid);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(fake_->runs(Command::kScancel), 3);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300)) << "backoff 100-200 + 200-400 ms";
  for (int i = 0; i < 20; ++i) {  // taken: never again, whatever repeats the request
    r.Reconcile();
    r.Cancel(sid);
  }
  EXPECT_EQ(fake_->runs(Command::kScancel), 3);
  ASSERT_TRUE(fake_->End(Row(sid).backend_id, "CANCELLED", "None", 0, 9).ok());
  r.Reconcile();
  EXPECT_EQ(States(sid), (V{"queued", "running", "cancelled"}));
  r.Cancel(sid);  // terminal: nothing to send
  EXPECT_EQ(fake_->runs(Command::kScancel), 3);
}

// sbatch failed before slurmctld had the job: the lease is kept, and the retry looks the tag up,
// finds nothing and submits exactly once.
TEST_F(JobRunnerFakeSlurmTest, UnreachableSbatchIsRetriedAfterATagLookup) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  fake_->FailNext(Command::kSbatch, Fault::kUnreachable);
  EXPECT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kPending);
  EXPECT_EQ(Row(spec.submission_id).phase, JournalPhase::kSubmitting);
  EXPECT_TRUE(States(spec.submission_id).empty());
  const int listings = fake_->runs(Command::kShowJob);
  EXPECT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(fake_->runs(Command::kShowJob), listings + 1) << "the tag lookup before sbatch";
  EXPECT_EQ(fake_->runs(Command::kSbatch), 2);
  EXPECT_EQ(CountSlurmJobsWithTag(BackendTag(spec.submission_id)), 1);
  EXPECT_EQ(States(spec.submission_id), (V{"queued"}));
}

TEST_F(JobRunnerFakeSlurmTest, SbatchRefusalFailsTheJobForGood) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  fake_->FailNext(Command::kSbatch, Fault::kRefused);
  EXPECT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  EXPECT_EQ(States(spec.submission_id), (V{"failed"}));
  auto err = LastError(spec.submission_id);
  EXPECT_EQ(err["code"].as_string(), "submit_rejected");
  EXPECT_NE(std::string(err["message"].as_string()).find("QOS policy"), std::string::npos);
  EXPECT_EQ(r->Submit(spec.submission_id), JobRunner::SubmitResult::kDone);  // terminal
  EXPECT_EQ(fake_->runs(Command::kSbatch), 1);
}

// A cycle whose listing fails decides nothing (no job is `lost` because slurmctld was down);
// the next one catches up, including a job that hit its time limit meanwhile.
TEST_F(JobRunnerFakeSlurmTest, FailedListingDecidesNothingAndTheNextCycleCatchesUp) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  const std::string id = Row(spec.submission_id).backend_id;
  ASSERT_TRUE(fake_->Start(id).ok());
  ASSERT_TRUE(fake_->End(id, "TIMEOUT", "TimeLimit", 0, 15).ok());
  fake_->FailNext(Command::kShowJob, Fault::kUnreachable);
  r->Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued"}));
  r->Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "failed"}));
  EXPECT_EQ(LastError(spec.submission_id)["code"].as_string(), "timeout");
}

// A job slurmctld forgot while it was running (state lost, or purged before we looked) ends
// `lost`, never `completed`.
TEST_F(JobRunnerFakeSlurmTest, JobPurgedWhileRunningIsLost) {
  auto r = Runner(Slurm(Client()));
  JobSpec spec = Spec("inline://x");
  ASSERT_EQ(LeaseAndSubmit(*r, spec), JobRunner::SubmitResult::kDone);
  const std::string id = Row(spec.submission_id).backend_id;
  ASSERT_TRUE(fake_->Start(id).ok());
  r->Reconcile();
  ASSERT_TRUE(fake_->Purge(id).ok());
  r->Reconcile();
  EXPECT_EQ(States(spec.submission_id), (V{"queued", "running", "failed"}));
  EXPECT_EQ(LastError(spec.submission_id)["code"].as_string(), "lost");
}

TEST_F(JobRunnerTest, LocalExecutorEndToEnd) {
  auto ex = std::make_shared<LocalExecutor>(dir_.File("work"), RenderOptions{});
  auto r = Runner(ex);
  JobSpec ok = Spec("inline://ok?sleep=0");
  JobSpec bad = Spec("inline://bad?sleep=0&exit=2");
  JobSpec cancel = Spec("inline://long?sleep=60");
  for (const auto* s : {&ok, &bad, &cancel}) {
    ASSERT_EQ(LeaseAndSubmit(*r, *s), JobRunner::SubmitResult::kDone);
  }
  for (int i = 0; i < 100; ++i) {
    r->Reconcile();
    if (Row(cancel.submission_id).last_state == "running") break;
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
