// SlurmExecutor on the real slurmctld (scripts/services/slurm-up.sh); skips when it is down.
#include <thread>

#include <gtest/gtest.h>

#include "agent/executor/slurm_executor.hpp"
#include "agent/proc/process.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "common/random.hpp"

namespace rtgw::agent {
namespace {

bool SlurmUp() {
  auto r = RunProcess({"scontrol", "ping"}, {});
  return r.ok() && r->exit_code == 0 && r->out.find("UP") != std::string::npos;
}

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

TEST(SlurmExecutorLiveTest, WalltimeOverPartitionLimitRefusedBeforeSbatch) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
  SlurmExecutor ex(client, {}, "");
  ASSERT_TRUE(ex.Describe().ok());
  const auto before = client->calls();
  SubmitOutcome s = ex.Submit(Spec("inline://x", 2 * 3600));  // debug MaxTime is 60 min
  EXPECT_EQ(s.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(s.error_code, "walltime_exceeds_limit");
  EXPECT_NE(s.message.find("MaxTime"), std::string::npos) << s.message;
  EXPECT_EQ(client->calls(), before) << "sbatch must not run";
  JobSpec mapped = Spec("inline://x", 1800);
  mapped.max_walltime_minutes = 10;  // the queue mapping's limit
  SubmitOutcome m = ex.Submit(mapped);
  EXPECT_EQ(m.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(m.error_code, "walltime_exceeds_limit");
  EXPECT_EQ(client->calls(), before);
}

TEST(SlurmExecutorLiveTest, SubmitSnapshotByTagAndExitCode) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  auto client = std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
  SlurmExecutor ex(client, {}, "/tmp");
  JobSpec spec = Spec("inline://x?sleep=0&exit=9");
  SubmitOutcome s = ex.Submit(spec);
  ASSERT_EQ(s.kind, SubmitOutcome::Kind::kSubmitted) << s.message;
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

TEST(SlurmExecutorLiveTest, InvalidPartitionIsRejected) {
  if (!SlurmUp()) GTEST_SKIP() << "Slurm is not running";
  SlurmExecutor ex(std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{}), {}, "");
  JobSpec spec = Spec("inline://x");
  spec.partition = "nosuch";
  SubmitOutcome s = ex.Submit(spec);
  EXPECT_EQ(s.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(s.error_code, "submit_rejected");
}

}  // namespace
}  // namespace rtgw::agent
