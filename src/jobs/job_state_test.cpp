#include "jobs/job_state.hpp"

#include <gtest/gtest.h>

namespace rtgw::jobs {
namespace {

using S = JobState;

TEST(JobStateTest, TransitionTable) {
  struct Case {
    S current, reported;
    bool applies;
  };
  const Case cases[] = {
      {S::kSubmitted, S::kQueued, true},    {S::kSubmitted, S::kRunning, true},
      {S::kSubmitted, S::kCompleted, true}, {S::kQueued, S::kQueued, false},
      {S::kQueued, S::kRunning, true},      {S::kRunning, S::kQueued, false},
      {S::kRunning, S::kRunning, false},    {S::kRunning, S::kCompleted, true},
      {S::kRunning, S::kFailed, true},      {S::kRunning, S::kCancelled, true},
      {S::kCompleted, S::kRunning, false},  {S::kCompleted, S::kFailed, false},
      {S::kFailed, S::kCompleted, false},   {S::kCancelled, S::kCompleted, false},
      {S::kCancelled, S::kQueued, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ShouldApply(c.current, c.reported), c.applies)
        << ToString(c.current) << " <- " << ToString(c.reported);
  }
}

TEST(JobStateTest, NeverMovesBackwards) {
  const S all[] = {S::kSubmitted, S::kQueued, S::kRunning,
                   S::kCompleted, S::kFailed, S::kCancelled};
  for (S cur : all) {
    for (S rep : all) {
      if (ShouldApply(cur, rep)) {
        EXPECT_GT(Rank(rep), Rank(cur));
      }
    }
  }
}

TEST(JobStateTest, ParsesWireNames) {
  EXPECT_EQ(ParseJobState("running"), S::kRunning);
  EXPECT_EQ(ParseJobState("cancelled"), S::kCancelled);
  EXPECT_FALSE(ParseJobState("submitted").has_value());
  EXPECT_EQ(ParseJobState("submitted", true), S::kSubmitted);
  EXPECT_FALSE(ParseJobState("Running").has_value());
  EXPECT_FALSE(ParseJobState("").has_value());
}

TEST(JobStateTest, ProjectionStatusIsAppFacing) {
  EXPECT_EQ(ProjectionStatus(S::kCompleted), "finished");
  EXPECT_EQ(ProjectionStatus(S::kSubmitted), "queued");
  EXPECT_EQ(ProjectionStatus(S::kFailed), "failed");
}

}  // namespace
}  // namespace rtgw::jobs
