#include "agent/slurm/job_observation.hpp"

#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

slurm::SlurmJob Job(std::string state, int exit_code = 0, int sig = 0,
                    std::string reason = "None") {
  slurm::SlurmJob j;
  j.job_id = "7";
  j.state = std::move(state);
  j.exit_code = exit_code;
  j.signal = sig;
  j.reason = std::move(reason);
  return j;
}

TEST(JobObservationTest, StateTable) {
  struct Case {
    const char* state;
    JobPhase phase;
    const char* event;
    const char* error_code;
  };
  const Case cases[] = {
      {"PENDING", JobPhase::kQueued, "queued", ""},
      {"CONFIGURING", JobPhase::kQueued, "queued", ""},
      {"REQUEUED", JobPhase::kQueued, "queued", ""},
      {"RUNNING", JobPhase::kRunning, "running", ""},
      {"COMPLETING", JobPhase::kRunning, "running", ""},
      {"SUSPENDED", JobPhase::kRunning, "running", ""},
      {"COMPLETED", JobPhase::kCompleted, "completed", ""},
      {"FAILED", JobPhase::kFailed, "failed", "exit_code"},
      {"CANCELLED", JobPhase::kCancelled, "cancelled", ""},
      {"TIMEOUT", JobPhase::kFailed, "failed", "timeout"},
      {"DEADLINE", JobPhase::kFailed, "failed", "timeout"},
      {"NODE_FAIL", JobPhase::kFailed, "failed", "node_fail"},
      {"PREEMPTED", JobPhase::kFailed, "failed", "preempted"},
      {"BOOT_FAIL", JobPhase::kFailed, "failed", "boot_fail"},
      {"OUT_OF_MEMORY", JobPhase::kFailed, "failed", "out_of_memory"},
      {"REVOKED", JobPhase::kUnknown, "", ""},
      {"SOMETHING_NEW", JobPhase::kUnknown, "", ""},
      {"", JobPhase::kUnknown, "", ""},
  };
  for (const Case& c : cases) {
    const JobObservation o = MapSlurmJob(Job(c.state));
    EXPECT_EQ(o.phase, c.phase) << c.state;
    EXPECT_EQ(EventState(o.phase), c.event) << c.state;
    EXPECT_EQ(o.error_code, c.error_code) << c.state;
  }
}

TEST(JobObservationTest, ExitCodeAndSignalCarried) {
  const JobObservation failed = MapSlurmJob(Job("FAILED", 3, 0, "NonZeroExitCode"));
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_NE(failed.message.find("ExitCode=3:0"), std::string::npos);
  const JobObservation cancelled = MapSlurmJob(Job("CANCELLED", 0, 15));
  EXPECT_EQ(cancelled.signal, 15);
  EXPECT_TRUE(IsTerminal(cancelled.phase));
}

// A cancelled job's message says which signal Slurm used, as its ExitCode reports it.
TEST(JobObservationTest, CancelledSaysWhichSignalEndedIt) {
  const JobObservation term = MapSlurmJob(Job("CANCELLED", 0, 15));
  EXPECT_NE(term.message.find("ExitCode=0:15; stopped by SIGTERM (15)"), std::string::npos)
      << term.message;
  const JobObservation kill = MapSlurmJob(Job("CANCELLED", 0, 9));
  EXPECT_EQ(kill.signal, 9);
  EXPECT_NE(kill.message.find("killed by SIGKILL (9) after KillWait"), std::string::npos)
      << kill.message;
  const JobObservation pending = MapSlurmJob(Job("CANCELLED", 0, 0));
  EXPECT_EQ(pending.signal, 0);
  EXPECT_NE(pending.message.find("no signal delivered"), std::string::npos) << pending.message;
  EXPECT_NE(MapSlurmJob(Job("CANCELLED", 0, 2)).message.find("ended by signal 2"),
            std::string::npos);
  EXPECT_EQ(MapSlurmJob(Job("FAILED", 1, 0)).message.find("signal"), std::string::npos);
}

TEST(JobObservationTest, CompletedWithNonZeroExitIsNeverSuccess) {
  EXPECT_EQ(MapSlurmJob(Job("COMPLETED", 1)).phase, JobPhase::kFailed);
  EXPECT_EQ(MapSlurmJob(Job("COMPLETED", 0, 9)).phase, JobPhase::kFailed);
}

TEST(JobObservationTest, VanishedIsLostNotFinished) {
  const JobObservation o = VanishedJob("42");
  EXPECT_EQ(o.phase, JobPhase::kLost);
  EXPECT_EQ(EventState(o.phase), "failed");
  EXPECT_EQ(o.error_code, "lost");
  EXPECT_NE(o.phase, JobPhase::kCompleted);
  EXPECT_TRUE(IsTerminal(o.phase));
  EXPECT_NE(o.message.find("42"), std::string::npos);
}

TEST(JobObservationTest, UnknownIsNotTerminal) {
  EXPECT_FALSE(IsTerminal(JobPhase::kUnknown));
  EXPECT_FALSE(IsTerminal(JobPhase::kQueued));
  EXPECT_FALSE(IsTerminal(JobPhase::kRunning));
}

}  // namespace
}  // namespace rtgw::agent
