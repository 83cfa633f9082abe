// CliSlurmClient against the real slurmctld that scripts/services/slurm-up.sh
// starts (scripts/test.sh does). Skips, naming the reason, when Slurm is not up.
#include <thread>

#include <gtest/gtest.h>

#include "agent/proc/process.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "agent/slurm/job_observation.hpp"
#include "common/random.hpp"

namespace rtgw::agent::slurm {
namespace {

bool SlurmUp() {
  ProcessOptions o;
  o.timeout = std::chrono::seconds(5);
  auto r = RunProcess({"scontrol", "ping"}, o);
  return r.ok() && r->exit_code == 0 && r->out.find("UP") != std::string::npos;
}

class CliSlurmLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running (start scripts/services/slurm-up.sh)";
  }

  std::string Script(const std::string& tag, const std::string& body,
                     const std::string& extra = "") {
    return "#!/bin/bash\n#SBATCH --job-name=" + tag + "\n#SBATCH --comment=" + tag +
           "\n#SBATCH --output=/dev/null\n#SBATCH --time=2\n" + extra + body + "\n";
  }

  // Polls with ONE ListJobs per round until the job is terminal.
  JobObservation WaitTerminal(const std::string& id, int seconds = 60) {
    for (int i = 0; i < seconds * 5; ++i) {
      auto jobs = client_.ListJobs();
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

  CliSlurmClient client_{CliSlurmOptions{}};
};

TEST_F(CliSlurmLiveTest, SuccessfulJobCompletes) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_.Submit(Script(tag, "echo hello"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted) << s.message;
  JobObservation o = WaitTerminal(s.job_id);
  EXPECT_EQ(o.phase, JobPhase::kCompleted);
  EXPECT_EQ(o.exit_code, 0);
}

TEST_F(CliSlurmLiveTest, NonZeroExitFailsWithExitCode) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_.Submit(Script(tag, "exit 7"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted) << s.message;
  JobObservation o = WaitTerminal(s.job_id);
  EXPECT_EQ(o.phase, JobPhase::kFailed);
  EXPECT_EQ(o.error_code, "exit_code");
  EXPECT_EQ(o.exit_code, 7);
}

TEST_F(CliSlurmLiveTest, CancelWhileRunning) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_.Submit(Script(tag, "sleep 120"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted) << s.message;
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    auto jobs = client_.ListJobs();
    ASSERT_TRUE(jobs.ok());
    for (const auto& j : *jobs) running |= j.job_id == s.job_id && j.state == "RUNNING";
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(running);
  ASSERT_TRUE(client_.Cancel(s.job_id).ok());
  JobObservation o = WaitTerminal(s.job_id);
  EXPECT_EQ(o.phase, JobPhase::kCancelled);
  // Cancelling again, or a job that never existed, is not an error.
  EXPECT_TRUE(client_.Cancel(s.job_id).ok());
  EXPECT_TRUE(client_.Cancel("999999").ok());
}

TEST_F(CliSlurmLiveTest, FindsJobByTagInTheListing) {
  const std::string tag = "rtgw-test-" + RandomHex(6);
  SubmitResult s = client_.Submit(Script(tag, "true"));
  ASSERT_EQ(s.kind, SubmitResult::Kind::kSubmitted);
  auto jobs = client_.ListJobs();
  ASSERT_TRUE(jobs.ok());
  int found = 0;
  for (const auto& j : *jobs) {
    if (j.comment == tag && j.name == tag) {
      ++found;
      EXPECT_EQ(j.job_id, s.job_id);
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_F(CliSlurmLiveTest, WalltimeAboveMaxTimeIsRejectedBySbatch) {
  // EnforcePartLimits=ALL (slurm-up.sh): sbatch refuses. The agent checks before sbatch
  // (executor test); this pins the backstop.
  SubmitResult s = client_.Submit(Script("rtgw-test-" + RandomHex(6), "true",
                                         "#SBATCH --partition=debug\n#SBATCH --time=120\n"));
  EXPECT_EQ(s.kind, SubmitResult::Kind::kRejected);
  EXPECT_NE(s.message.find("time limit"), std::string::npos) << s.message;
}

TEST_F(CliSlurmLiveTest, InvalidPartitionIsRejected) {
  SubmitResult s =
      client_.Submit(Script("rtgw-test-" + RandomHex(6), "true", "#SBATCH --partition=nosuch\n"));
  EXPECT_EQ(s.kind, SubmitResult::Kind::kRejected);
}

TEST_F(CliSlurmLiveTest, DescribeReportsPartitionsAndVersion) {
  auto info = client_.Describe();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_FALSE(info->config.version.empty());
  EXPECT_GT(info->config.min_job_age_seconds, 0);
  bool debug = false;
  for (const auto& p : info->partitions) {
    if (p.name == "debug") {
      debug = true;
      EXPECT_EQ(p.max_time_minutes, 60);
      EXPECT_GE(p.total_cpus, 1);
    }
  }
  EXPECT_TRUE(debug);
}

TEST_F(CliSlurmLiveTest, ListIsOneCommand) {
  const auto before = client_.calls();
  ASSERT_TRUE(client_.ListJobs().ok());
  EXPECT_EQ(client_.calls() - before, 1u);
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
