// SlurmExecutor, each case on FakeSlurmCluster (always) and on the real slurmctld of
// scripts/services/slurm-up.sh (the /Live variants skip when it is down).
#include "agent/executor/slurm_executor.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "agent/slurm/fake_slurm_cluster.hpp"
#include "common/random.hpp"
#include "common/temp_dir.hpp"

namespace rtgw::agent {
namespace {

using slurm::SlurmBackend;

JobSpec Spec(const std::string& uri, std::int64_t walltime_s = 60) {
  JobSpec s;
  s.submission_id = NewUuidV4();
  s.job_id = "job";
  s.input_uri = uri;
  s.walltime_seconds = walltime_s;
  s.memory_mib = 100;
  s.partition = "debug";
  return s;
}

class SlurmExecutorTest : public ::testing::TestWithParam<SlurmBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == SlurmBackend::kLive) {
      if (!slurm::LiveSlurmUp()) GTEST_SKIP() << "Slurm is not running";
      client_ = std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
    } else {
      fake_ = std::make_unique<slurm::FakeSlurmCluster>();
      client_ = fake_->Client();
    }
  }

  std::unique_ptr<slurm::FakeSlurmCluster> fake_;  // set on the fake backend only
  std::shared_ptr<slurm::SlurmClient> client_;
};

INSTANTIATE_TEST_SUITE_P(Slurm, SlurmExecutorTest,
                         ::testing::Values(SlurmBackend::kFake, SlurmBackend::kLive),
                         [](const auto& p) { return slurm::SlurmBackendName(p.param); });

TEST_P(SlurmExecutorTest, WalltimeOverPartitionLimitRefusedBeforeSbatch) {
  SlurmExecutor ex(client_, {}, "");
  ASSERT_TRUE(ex.Describe().ok());
  const auto before = client_->calls();
  SubmitOutcome s = ex.Submit(Spec("inline://x", 2 * 3600));  // debug MaxTime is 60 min
  EXPECT_EQ(s.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(s.error_code, "walltime_exceeds_limit");
  EXPECT_NE(s.message.find("MaxTime"), std::string::npos) << s.message;
  EXPECT_EQ(client_->calls(), before) << "sbatch must not run";
  JobSpec mapped = Spec("inline://x", 1800);
  mapped.max_walltime_minutes = 10;  // the queue mapping's limit
  SubmitOutcome m = ex.Submit(mapped);
  EXPECT_EQ(m.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(m.error_code, "walltime_exceeds_limit");
  EXPECT_EQ(client_->calls(), before);
}

TEST_P(SlurmExecutorTest, SubmitSnapshotByTagAndExitCode) {
  TempDir work("rtgw-slurm-executor");  // the job's output file, removed with it
  SlurmExecutor ex(client_, {}, work.path().string());
  JobSpec spec = Spec("inline://x?sleep=0&exit=9");
  SubmitOutcome s = ex.Submit(spec);
  ASSERT_EQ(s.kind, SubmitOutcome::Kind::kSubmitted) << s.message;
  if (fake_) {  // the payload's exit, played by the test
    ASSERT_TRUE(fake_->Start(s.backend_id).ok());
    ASSERT_TRUE(fake_->Finish(s.backend_id, 9).ok());
  }
  JobObservation o;
  for (int i = 0; i < 150; ++i) {
    auto snap = ex.Snapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ(snap->id_by_tag.at(BackendTag(spec.submission_id)), s.backend_id);
    o = snap->by_id.at(s.backend_id);
    if (IsTerminal(o.phase)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(o.phase, JobPhase::kFailed);
  EXPECT_EQ(o.exit_code, 9);
}

TEST_P(SlurmExecutorTest, InvalidPartitionIsRejected) {
  SlurmExecutor ex(client_, {}, "");
  JobSpec spec = Spec("inline://x");
  spec.partition = "nosuch";
  SubmitOutcome s = ex.Submit(spec);
  EXPECT_EQ(s.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(s.error_code, "submit_rejected");
}

}  // namespace
}  // namespace rtgw::agent
