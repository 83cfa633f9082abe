// The poll rule (DecidePoll) with a scripted launcher: every answer a launcher can
// give, before and after the callback deadline.
#include "validators/poll_decision.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace rtgw::validators {
namespace {

constexpr std::int64_t kDeadlineUs = 1'000'000'000;
constexpr std::int64_t kBeforeUs = kDeadlineUs - 1;
constexpr std::int64_t kAtUs = kDeadlineUs;

// Answers Poll with `answer` and records the execution names it was asked about.
class ScriptedLauncher final : public Launcher {
 public:
  explicit ScriptedLauncher(Result<ExecutionStatus> answer) : answer_(std::move(answer)) {}
  std::string_view name() const override { return "local"; }
  Result<std::string> Launch(const LaunchSpec&) override { return std::string("unused"); }
  Result<ExecutionStatus> Poll(const std::string& execution_name) override {
    polled.push_back(execution_name);
    return answer_;
  }
  Status Cancel(const std::string&) override { return Ok{}; }
  std::vector<std::string> polled;

 private:
  Result<ExecutionStatus> answer_;
};

storage::ValidatorExecution Running(std::string execution_name = "local/42") {
  storage::ValidatorExecution e;
  e.status = storage::kRunRunning;
  e.execution_name = std::move(execution_name);
  e.deadline_us = kDeadlineUs;
  return e;
}

struct Case {
  const char* what;
  Result<ExecutionStatus> answer;
  std::int64_t now_us;
  PollVerdict::Action action;
  const char* status;  // kFinish
  const char* error;   // kFinish
  bool cancel_first;
};

TEST(PollDecisionTest, ActsOnWhatTheLauncherSaw) {
  using A = PollVerdict::Action;
  const std::vector<Case> cases = {
      {"crashed before the deadline", ExecutionStatus{"FAILED", "exit code 3"}, kBeforeUs,
       A::kFinish, "FAILED", "ended without a callback; execution FAILED (exit code 3)", false},
      {"cancelled outside rtgw", ExecutionStatus{"CANCELLED", "cancelled by user"}, kBeforeUs,
       A::kFinish, "CANCELLED", "ended without a callback; execution CANCELLED (cancelled by user)",
       false},
      {"succeeded without calling back", ExecutionStatus{"SUCCEEDED", "exit code 0"}, kBeforeUs,
       A::kFinish, "FAILED", "ended without a callback; execution SUCCEEDED (exit code 0)", false},
      {"gone from its backend", ExecutionStatus{"FAILED", "execution lost"}, kBeforeUs, A::kFinish,
       "FAILED", "ended without a callback; execution FAILED (execution lost)", false},
      {"running", ExecutionStatus{"RUNNING", "running"}, kBeforeUs, A::kWait, "", "", false},
      {"pending", ExecutionStatus{"PENDING", "queued"}, kBeforeUs, A::kWait, "", "", false},
      {"another process's child", ExecutionStatus{"FAILED", "execution lost", false}, kBeforeUs,
       A::kWait, "", "", false},
      {"launcher unreachable", Unavailable("Cloud Run executions.get failed: HTTP 503"), kBeforeUs,
       A::kWait, "", "", false},
      {"crashed, seen at the deadline", ExecutionStatus{"FAILED", "exit code 3"}, kAtUs, A::kFinish,
       "FAILED", "no callback by the deadline; execution FAILED (exit code 3)", false},
      {"still running at the deadline", ExecutionStatus{"RUNNING", "running"}, kAtUs, A::kFinish,
       "FAILED", "no callback by the deadline; execution cancelled (timed out)", true},
      {"another process's child at the deadline",
       ExecutionStatus{"FAILED", "execution lost", false}, kAtUs, A::kFinish, "FAILED",
       "no callback by the deadline; execution FAILED (execution lost)", false},
      {"unreachable within the grace", Unavailable("down"), kAtUs + 1, A::kWait, "", "", false},
      {"unreachable past the grace", Unavailable("down"),
       kDeadlineUs + std::chrono::microseconds(kUnreachableLauncherGrace).count(), A::kFinish,
       "FAILED", "no callback by the deadline; launcher unreachable", false},
  };
  for (const Case& c : cases) {
    ScriptedLauncher launcher(c.answer);
    const PollVerdict v = DecidePoll(Running(), &launcher, c.now_us);
    EXPECT_EQ(launcher.polled, std::vector<std::string>{"local/42"}) << c.what;
    EXPECT_EQ(v.action, c.action) << c.what;
    EXPECT_EQ(v.status, c.status) << c.what;
    EXPECT_EQ(v.error, c.error) << c.what;
    EXPECT_EQ(v.cancel_first, c.cancel_first) << c.what;
    EXPECT_EQ(v.poll_error.empty(), c.answer.ok()) << c.what;
  }
}

TEST(PollDecisionTest, LaunchStillUnderWayIsNotPolledAndFailsOnlyAtTheDeadline) {
  ScriptedLauncher launcher(ExecutionStatus{"FAILED", "exit code 3"});
  storage::ValidatorExecution e = Running("");
  e.status = storage::kRunPending;
  EXPECT_EQ(DecidePoll(e, &launcher, kBeforeUs).action, PollVerdict::Action::kWait);
  const PollVerdict v = DecidePoll(e, &launcher, kAtUs);
  EXPECT_EQ(v.action, PollVerdict::Action::kFinish);
  EXPECT_EQ(v.error, "no callback by the deadline; the launch did not complete");
  EXPECT_TRUE(launcher.polled.empty());
}

TEST(PollDecisionTest, UnconfiguredLauncherFailsOnlyAtTheDeadline) {
  EXPECT_EQ(DecidePoll(Running(), nullptr, kBeforeUs).action, PollVerdict::Action::kWait);
  const PollVerdict v = DecidePoll(Running(), nullptr, kAtUs);
  EXPECT_EQ(v.action, PollVerdict::Action::kFinish);
  EXPECT_EQ(v.status, "FAILED");
}

}  // namespace
}  // namespace rtgw::validators
