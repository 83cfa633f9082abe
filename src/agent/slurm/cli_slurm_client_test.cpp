// CliSlurmClient's contract, each case twice: on FakeSlurmCluster (always) and on the real
// slurmctld that scripts/services/slurm-up.sh starts (skipped, naming the reason, when it is
// down). The same assertions on both are what keep the fake honest.
#include "agent/slurm/cli_slurm_client.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "agent/slurm/fake_slurm_cluster.hpp"
#include "agent/slurm/job_observation.hpp"
#include "common/random.hpp"

namespace rtgw::agent::slurm {
namespace {

class SlurmClientTest : public ::testing::TestWithParam<SlurmBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == SlurmBackend::kLive) {
      if (!LiveSlurmUp()) GTEST_SKIP() << "Slurm is not running (scripts/services/slurm-up.sh)";
      client_ = std::make_shared<CliSlurmClient>(CliSlurmOptions{});
    } else {
      fake_ = std::make_unique<FakeSlurmCluster>();
      client_ = fake_->Client();
    }
  }

  std::string Script(const std::string& tag, const std::string& body,
                     const std::string& extra = "") {
    return "#!/bin/bash\n#SBATCH --job-name=" + tag + "\n#SBATCH --comment=" + tag +
           "\n#SBATCH --output=/dev/null\n#SBATCH --time=2\n" + extra + body + "\n";
  }

  // The scheduler starts the job: on the fake the test does it.
  void Start(const std::string& id) {
    if (fake_) {
      ASSERT_TRUE(fake_->Start(id).ok());
    }
  }
  // The job's script ends with `exit_code` (live: the script itself does).
  void Exit(const std::string& id, int exit_code) {
    Start(id);
    if (fake_) {
      ASSERT_TRUE(fake_->Finish(id, exit_code).ok());
    }
  }

  // Submits `body` under a fresh tag, lets it end with `exit_code` and
  // returns its terminal observation (a default one if the submit failed).
  JobObservation RunToEnd(const std::string& body, int exit_code) {
    SubmitResult s = client_->Submit(Script("rtgw-test-" + RandomHex(6), body));
    EXPECT_EQ(s.kind, SubmitResult::Kind::kSubmitted) << s.message;
    if (s.kind != SubmitResult::Kind::kSubmitted) return {};
    Exit(s.job_id, exit_code);
    return WaitTerminal(s.job_id);
  }

  // Polls with ONE ListJobs per round until the job is terminal.
  JobObservation WaitTerminal(const std::string& id, int seconds = 60) {
    for (int i = 0; i < seconds * 5; ++i) {
      auto jobs = client_->ListJobs();
      EXPECT_TRUE(jobs.ok()) << jobs.error().message;
      if (jobs.ok()) {
        for (const auto& j : *jobs) {
          if (j.job_id == id) {
            JobObservation o = MapSlurmJob(j);
            if (IsTerminal(o.phase)) return o;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  std::unique_ptr<FakeSlurmCluster> fake_;  // set on the fake backend only
  std::shared_ptr<CliSlurmClient> client_;
};

INSTANTIATE_TEST_SUITE_P(Slurm, SlurmClientTest,
                         ::testing::Values(SlurmBackend::kFake, SlurmBackend::kLive),
                         [](const auto& p) { return SlurmBackendName(p.param); });

TEST_P(SlurmClientTest, SuccessfulJobCompletes) {
  JobObservation o = RunToEnd("echo hello", 0);
  EXPECT_EQ(o.phase, JobPhase::kCompleted);
  EXPECT_EQ(o.exit_code, 0);
}

TEST_P(SlurmClientTest, NonZeroExitFailsWithExitCode) {
  JobObservation o = RunToEnd("exit 7", 7);
  EXPECT_EQ(o.phase, JobPhase::kFailed);
  EXPECT_EQ(o.error_code, "exit_code");
  EXPECT_EQ(o.exit_code, 7);
}

TEST_P(SlurmClientTest, CancelWhileRunning) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_->Submit(Script(tag, "sleep 120"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted) << s.message;
  Start(s.job_id);
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    auto jobs = client_->ListJobs();
    ASSERT_TRUE(jobs.ok());
    for (const auto& j : *jobs) running |= j.job_id == s.job_id && j.state == "RUNNING";
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(running);
  ASSERT_TRUE(client_->Cancel(s.job_id).ok());
  JobObservation o = WaitTerminal(s.job_id);
  EXPECT_EQ(o.phase, JobPhase::kCancelled);
  // Cancelling again, or a job that never existed, is not an error.
  EXPECT_TRUE(client_->Cancel(s.job_id).ok());
  EXPECT_TRUE(client_->Cancel("999999").ok());
}

TEST_P(SlurmClientTest, FindsJobByTagInTheListing) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_->Submit(Script(tag, "true"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted);
  auto jobs = client_->ListJobs();
  ASSERT_TRUE(jobs.ok());
  int found = 0;
  for (const auto& j : *jobs) {
    if (j.comment == tag && j.name == tag) {
      ++found;
      EXPECT_EQ(j.job_id, s.job_id);
      EXPECT_EQ(j.partition, "debug") << "the default partition";
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_P(SlurmClientTest, WalltimeAboveMaxTimeIsRejectedBySbatch) {
  // EnforcePartLimits=ALL (slurm-up.sh): sbatch refuses. The agent checks before sbatch
  // (executor test); this pins the backstop.
  SubmitResult s = client_->Submit(Script("rtgw-test-" + RandomHex(6), "true",
                                          "#SBATCH --partition=debug\n#SBATCH --time=120\n"));
  EXPECT_EQ(s.kind, SubmitResult::Kind::kRejected);
  EXPECT_NE(s.message.find("time limit"), std::string::npos) << s.message;
}

TEST_P(SlurmClientTest, InvalidPartitionIsRejected) {
  SubmitResult s =
      client_->Submit(Script("rtgw-test-" + RandomHex(6), "true", "#SBATCH --partition=nosuch\n"));
  EXPECT_EQ(s.kind, SubmitResult::Kind::kRejected);
}

TEST_P(SlurmClientTest, DescribeReportsPartitionsAndVersion) {
  const auto before = client_->calls();
  auto info = client_->Describe();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(client_->calls() - before, 2u) << "scontrol show config + sinfo";
  EXPECT_FALSE(info->config.version.empty());
  EXPECT_GT(info->config.min_job_age_seconds, 0);
  bool debug = false;
  for (const auto& p : info->partitions) {
    if (p.name == "debug") {
      debug = true;
      EXPECT_TRUE(p.is_default);
      EXPECT_EQ(p.max_time_minutes, 60);
      EXPECT_GE(p.total_cpus, 1);
    }
  }
  EXPECT_TRUE(debug);
}

TEST_P(SlurmClientTest, ListIsOneCommand) {
  const auto before = client_->calls();
  ASSERT_TRUE(client_->ListJobs().ok());
  EXPECT_EQ(client_->calls() - before, 1u);
}

// What the client makes of commands that fail: only the fake can make slurmctld fail on cue.
class FakeSlurmFaultTest : public ::testing::Test {
 protected:
  using Command = FakeSlurmCluster::Command;
  using Fault = FakeSlurmCluster::Fault;
  std::string Script() { return "#!/bin/bash\n#SBATCH --comment=rtgw-x\ntrue\n"; }

  FakeSlurmCluster fake_;
  std::shared_ptr<CliSlurmClient> client_ = fake_.Client();
};

TEST_F(FakeSlurmFaultTest, SbatchOutcomesAreClassifiedAsTheRealClientDoes) {
  fake_.FailNext(Command::kSbatch, Fault::kUnreachable);
  EXPECT_EQ(client_->Submit(Script()).kind, SubmitResult::Kind::kUnknown);
  fake_.FailNext(Command::kSbatch, Fault::kRefused);
  SubmitResult refused = client_->Submit(Script());
  EXPECT_EQ(refused.kind, SubmitResult::Kind::kRejected);
  EXPECT_NE(refused.message.find("QOS policy"), std::string::npos) << refused.message;
  fake_.FailNext(Command::kSbatch, Fault::kTimeout);
  EXPECT_EQ(client_->Submit(Script()).kind, SubmitResult::Kind::kUnknown);
  EXPECT_TRUE(client_->ListJobs()->empty()) << "no job was made by the failed runs";

  fake_.FailNext(Command::kSbatch, Fault::kTimeoutAfterEffect);
  SubmitResult timed_out = client_->Submit(Script());
  EXPECT_EQ(timed_out.kind, SubmitResult::Kind::kUnknown);
  EXPECT_EQ(timed_out.message, "sbatch timed out");
  auto jobs = client_->ListJobs();
  ASSERT_EQ(jobs->size(), 1u) << "the job exists although sbatch did not say so";
  EXPECT_EQ((*jobs)[0].comment, "rtgw-x");
  EXPECT_EQ((*jobs)[0].name, "sbatch") << "sbatch's default name for a script on stdin";
  EXPECT_EQ(fake_.runs(Command::kSbatch), 4);

  SubmitResult not_a_script = client_->Submit("echo no shebang\n");
  EXPECT_EQ(not_a_script.kind, SubmitResult::Kind::kRejected);
}

TEST_F(FakeSlurmFaultTest, ListingAndCancelFailuresAreUnavailable) {
  fake_.FailNext(Command::kShowJob, Fault::kUnreachable);
  auto down = client_->ListJobs();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().message.find("Unable to contact slurm controller"), std::string::npos);
  fake_.FailNext(Command::kShowJob, Fault::kTimeout);
  EXPECT_FALSE(client_->ListJobs().ok());

  const std::string id = client_->Submit(Script()).job_id;
  fake_.FailNext(Command::kScancel, Fault::kRefused, 2);
  EXPECT_FALSE(client_->Cancel(id).ok());
  EXPECT_FALSE(client_->Cancel(id).ok());
  EXPECT_EQ(fake_.Job(id)->state, "PENDING");
  EXPECT_TRUE(client_->Cancel(id).ok());
  EXPECT_EQ(fake_.runs(Command::kScancel), 3);

  fake_.FailNext(Command::kSinfo, Fault::kUnreachable);
  EXPECT_FALSE(client_->Describe().ok());
}

// The states the job runner maps, as the client reads them from the fake's listing.
TEST_F(FakeSlurmFaultTest, ScriptedEndsReadBackAsSlurmRecordsThem) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client_->Submit(Script()).job_id);
  ASSERT_TRUE(fake_.Start(ids[0]).ok());
  ASSERT_TRUE(fake_.End(ids[0], "TIMEOUT", "TimeLimit", 0, 15).ok());
  ASSERT_TRUE(fake_.Start(ids[1]).ok());
  fake_.set_cancel_signal(9);
  ASSERT_TRUE(client_->Cancel(ids[1]).ok());  // running: SIGKILL after KillWait
  ASSERT_TRUE(client_->Cancel(ids[2]).ok());  // pending: no signal
  ASSERT_TRUE(fake_.Start(ids[3]).ok());
  fake_.set_cancel_signal(0);
  ASSERT_TRUE(client_->Cancel(ids[3]).ok());  // taken, but the job is inside KillWait
  ASSERT_TRUE(fake_.Purge(ids[4]).ok());
  EXPECT_FALSE(fake_.Start(ids[0]).ok()) << "an ended job does not start again";

  auto jobs = client_->ListJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 4u) << "the purged job is not listed";
  const JobObservation timeout = MapSlurmJob((*jobs)[0]);
  EXPECT_EQ(timeout.phase, JobPhase::kFailed);
  EXPECT_EQ(timeout.error_code, "timeout");
  EXPECT_EQ((*jobs)[1].state, "CANCELLED");
  EXPECT_EQ((*jobs)[1].signal, 9);
  EXPECT_EQ((*jobs)[2].state, "CANCELLED");
  EXPECT_EQ((*jobs)[2].signal, 0);
  EXPECT_EQ((*jobs)[3].state, "RUNNING");
  EXPECT_EQ((*jobs)[0].comment, "rtgw-x");
}

TEST(SbatchFailureTest, Classification) {
  EXPECT_EQ(ClassifySbatchFailure(1, false,
                                  "sbatch: error: Batch job submission failed: Invalid partition "
                                  "name specified\n"),
            SubmitResult::Kind::kRejected);
  EXPECT_EQ(ClassifySbatchFailure(1, false,
                                  "sbatch: error: Batch job submission failed: Unable to contact "
                                  "slurm controller (connect failure)\n"),
            SubmitResult::Kind::kUnknown);
  EXPECT_EQ(ClassifySbatchFailure(-1, true, ""), SubmitResult::Kind::kUnknown);
  EXPECT_EQ(ClassifySbatchFailure(1, false, "Socket timed out on send/recv operation"),
            SubmitResult::Kind::kUnknown);
}

}  // namespace
}  // namespace rtgw::agent::slurm
