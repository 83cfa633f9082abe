#include "agent/executor/local_executor.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "common/random.hpp"
#include "common/temp_dir.hpp"

namespace rtgw::agent {
namespace {

class LocalExecutorTest : public ::testing::Test {
 protected:
  JobSpec Spec(const std::string& uri) {
    JobSpec s;
    s.submission_id = NewUuidV4();
    s.job_id = "job";
    s.input_uri = uri;
    return s;
  }

  JobObservation Wait(LocalExecutor& ex, const std::string& id, bool terminal = true) {
    for (int i = 0; i < 150; ++i) {
      auto snap = ex.Snapshot();
      EXPECT_TRUE(snap.ok());
      auto it = snap->by_id.find(id);
      if (it != snap->by_id.end() &&
          (terminal ? IsTerminal(it->second.phase) : it->second.phase == JobPhase::kRunning)) {
        return it->second;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "job " << id << " did not reach the phase";
    return {};
  }

  TempDir tmp_{"rtgw-local"};
  const std::string dir_ = tmp_.File("work");  // the executor creates it
};

TEST_F(LocalExecutorTest, RunsToCompletion) {
  LocalExecutor ex(dir_, {});
  SubmitOutcome s = ex.Submit(Spec("inline://ok?sleep=0"));
  ASSERT_EQ(s.kind, SubmitOutcome::Kind::kSubmitted) << s.message;
  JobObservation o = Wait(ex, s.backend_id);
  EXPECT_EQ(o.phase, JobPhase::kCompleted);
}

TEST_F(LocalExecutorTest, NonZeroExitFails) {
  LocalExecutor ex(dir_, {});
  SubmitOutcome s = ex.Submit(Spec("inline://bad?sleep=0&exit=5"));
  ASSERT_EQ(s.kind, SubmitOutcome::Kind::kSubmitted);
  JobObservation o = Wait(ex, s.backend_id);
  EXPECT_EQ(o.phase, JobPhase::kFailed);
  EXPECT_EQ(o.exit_code, 5);
  EXPECT_EQ(o.error_code, "exit_code");
}

TEST_F(LocalExecutorTest, CancelWhileRunning) {
  LocalExecutor ex(dir_, {});
  SubmitOutcome s = ex.Submit(Spec("inline://long?sleep=60"));
  ASSERT_EQ(s.kind, SubmitOutcome::Kind::kSubmitted);
  Wait(ex, s.backend_id, /*terminal=*/false);
  ASSERT_TRUE(ex.Cancel(s.backend_id).ok());
  const auto t0 = std::chrono::steady_clock::now();
  JobObservation o = Wait(ex, s.backend_id);
  EXPECT_EQ(o.phase, JobPhase::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(LocalExecutorTest, SecondSubmitOfTheSameSubmissionDoesNotRunTwice) {
  LocalExecutor ex(dir_, {});
  JobSpec spec = Spec("inline://once?sleep=1");
  SubmitOutcome a = ex.Submit(spec);
  ASSERT_EQ(a.kind, SubmitOutcome::Kind::kSubmitted);
  Wait(ex, a.backend_id, false);
  SubmitOutcome b = ex.Submit(spec);
  EXPECT_EQ(b.kind, SubmitOutcome::Kind::kSubmitted);
  EXPECT_EQ(a.backend_id, b.backend_id);
  auto snap = ex.Snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->id_by_tag.at(BackendTag(spec.submission_id)), a.backend_id);
}

TEST_F(LocalExecutorTest, UnsupportedPayloadRejected) {
  LocalExecutor ex(dir_, {});
  SubmitOutcome s = ex.Submit(Spec("s3://bucket/key"));
  EXPECT_EQ(s.kind, SubmitOutcome::Kind::kRejected);
  EXPECT_EQ(s.error_code, "unsupported_payload");
}

}  // namespace
}  // namespace rtgw::agent
