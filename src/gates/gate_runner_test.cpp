// The gate runner with real child processes (/bin/sh steps) and a real run
// directory: PROMOTE, HOLD on a failed step, HOLD on a p95 regression, HOLD on
// missing evidence or output, exit 2 when blocked, rerun keeps passing evidence.
#include "gates/gate_runner.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::gates {
namespace {

// \d{8}T\d{6}Z(-\d+)?: the UTC time of the run, and a counter when two share a second.
bool IsRunDirName(const std::string& name) {
  auto digits = [&](std::size_t from, std::size_t n) {
    if (from + n > name.size()) return false;
    for (std::size_t i = from; i < from + n; ++i) {
      if (name[i] < '0' || name[i] > '9') return false;
    }
    return true;
  };
  if (!digits(0, 8) || name.size() < 16 || name[8] != 'T' || !digits(9, 6) || name[15] != 'Z') {
    return false;
  }
  if (name.size() == 16) return true;
  return name[16] == '-' && name.size() > 17 && digits(17, name.size() - 17);
}

namespace fs = std::filesystem;

class GateRunnerTest : public ::testing::Test {
 protected:
  Result<GateRunResult> Run(const std::string& toml, RunOptions options = {}) {
    const fs::path spec_path = dir_ / "spec.toml";
    std::ofstream(spec_path) << toml;
    auto spec = LoadGateSpec(spec_path.string());
    EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message);
    if (!spec) return spec.error();
    options.artifacts_root = (dir_ / "artifacts").string();
    return RunGateSpec(*spec, spec_path.string(), options);
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream b;
    b << in.rdbuf();
    return b.str();
  }
  TempDir tmp_{"rtgw-gates"};
  const fs::path& dir_ = tmp_.path();
};

constexpr const char* kPromote = R"(
name = "test-promo"
operator = "alice"
reviewer = "bob"
[[risk]]
risk = "the smoke is small"
mitigation = "it runs three times"
[[gate]]
id = "preflight"
title = "Tool preflight"
requires = ["sh"]
  [[gate.step]]
  command = "for t in sh cat; do command -v $t >/dev/null || { echo missing: $t; exit 1; }; done; echo tools ok"
  expect_output = ["^tools ok$"]
[[gate]]
id = "smoke"
title = "Smoke x3"
repeat = 3
p95_max_regression_pct = 25
known_good_median_seconds = 5.0
evidence = ["02-smoke-notes.md"]
  [[gate.step]]
  command = "echo run $GATE_RUN >> \"$GATE_RUN_DIR/02-smoke-notes.md\"; echo out; echo err >&2"
)";

TEST_F(GateRunnerTest, PromoteWritesTheEvidenceBundle) {
  auto r = Run(kPromote);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ExitCode(), 0);
  EXPECT_EQ(r->Decision(), "PROMOTE");
  ASSERT_EQ(r->gates.size(), 2u);
  EXPECT_EQ(r->gates[1].successes, 3);
  const fs::path d = r->run_dir;
  EXPECT_EQ(d.parent_path(), dir_ / "artifacts");
  EXPECT_TRUE(IsRunDirName(d.filename().string())) << d.filename();
  for (const char* f : {"spec.toml", "01-preflight.log", "01-preflight-preconditions.log",
                        "01-preflight-summary.md", "02-smoke-run1.log", "02-smoke-run2.log",
                        "02-smoke-run3.log", "02-smoke-summary.md", "02-smoke-notes.md",
                        "promotion-decision.md", "gate-results.json", "known-good.json"}) {
    EXPECT_TRUE(fs::exists(d / f)) << f;
  }
  const std::string log = Read(d / "02-smoke-run2.log");
  EXPECT_NE(log.find("exit_code: 0"), std::string::npos) << log;
  EXPECT_NE(log.find("--- stdout ---\nout\n"), std::string::npos) << log;
  EXPECT_NE(log.find("--- stderr ---\nerr\n"), std::string::npos) << log;
  EXPECT_NE(log.find("wall_seconds: "), std::string::npos);
  EXPECT_NE(log.find("started_at: "), std::string::npos);
  const std::string summary = Read(d / "02-smoke-summary.md");
  EXPECT_NE(summary.find("successes: 3/3"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| 3 | ok |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("within"), std::string::npos) << summary;
  const std::string decision = Read(d / "promotion-decision.md");
  EXPECT_NE(decision.find("**Decision: PROMOTE**"), std::string::npos) << decision;
  EXPECT_NE(decision.find("operator: alice"), std::string::npos);
  EXPECT_NE(decision.find("reviewer: bob"), std::string::npos);
  EXPECT_NE(decision.find("the smoke is small"), std::string::npos);
  EXPECT_NE(decision.find("| 02 | Smoke x3 (`smoke`) | PASS | 3/3 |"), std::string::npos)
      << decision;
  EXPECT_NE(decision.find("date/time (UTC): 20"), std::string::npos);
  // known-good.json feeds the next run's p95 rule
  auto kg = LoadKnownGood((d / "known-good.json").string());
  ASSERT_TRUE(kg.ok()) << kg.error().message;
  EXPECT_TRUE(kg->count("smoke"));
}

TEST_F(GateRunnerTest, HoldOnAFailedStep) {
  auto r = Run(R"(
name = "n"
[[gate]]
id = "ok"
  [[gate.step]]
  command = "true"
[[gate]]
id = "bad"
repeat = 3
unblock = "make it exit 0"
  [[gate.step]]
  name = "first"
  command = "test $GATE_RUN -ne 2"
  [[gate.step]]
  name = "after"
  command = "echo after"
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 1);
  EXPECT_EQ(r->Decision(), "HOLD");
  const auto& g = r->gates[1];
  EXPECT_EQ(g.status, GateStatus::kFail);
  EXPECT_EQ(g.successes, 2);
  EXPECT_NE(g.reason.find("2/3 runs succeeded (need 3)"), std::string::npos) << g.reason;
  EXPECT_NE(g.reason.find("run 2: first: exit 1"), std::string::npos) << g.reason;
  const fs::path d = r->run_dir;
  // the failing run stops at its failing step; the others run every step
  EXPECT_TRUE(fs::exists(d / "02-after-run1.log"));
  EXPECT_FALSE(fs::exists(d / "02-after-run2.log"));
  EXPECT_TRUE(fs::exists(d / "02-after-run3.log"));
  EXPECT_NE(Read(d / "02-first-run2.log").find("exit_code: 1"), std::string::npos);
  const std::string decision = Read(d / "promotion-decision.md");
  EXPECT_NE(decision.find("**Decision: HOLD**"), std::string::npos);
  EXPECT_NE(decision.find("Unblock: make it exit 0"), std::string::npos) << decision;
  EXPECT_NE(decision.find("rtgw gate rerun"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "known-good.json"));
}

TEST_F(GateRunnerTest, HoldOnP95Regression) {
  auto r = Run(R"(
name = "n"
[[gate]]
id = "slow"
repeat = 3
p95_max_regression_pct = 25
known_good_median_seconds = 0.05
  [[gate.step]]
  command = "sleep 0.2"
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 1);
  const auto& g = r->gates[0];
  EXPECT_EQ(g.successes, 3);  // every run exited 0: only the timing holds it
  ASSERT_TRUE(g.p95_seconds && g.p95_limit_seconds);
  EXPECT_GE(*g.p95_seconds, 0.2);
  EXPECT_DOUBLE_EQ(*g.p95_limit_seconds, 0.0625);
  EXPECT_NE(g.reason.find("REGRESSION"), std::string::npos) << g.reason;
}

TEST_F(GateRunnerTest, KnownGoodFileOverridesTheSpecMedian) {
  RunOptions o;
  o.known_good["slow"] = 10.0;
  auto r = Run(R"(
name = "n"
[[gate]]
id = "slow"
repeat = 2
p95_max_regression_pct = 25
known_good_median_seconds = 0.001
  [[gate.step]]
  command = "sleep 0.05"
)",
               o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 0) << r->gates[0].reason;
  EXPECT_EQ(r->gates[0].known_good_median_seconds, 10.0);
}

TEST_F(GateRunnerTest, HoldOnMissingOutputPatternEvidenceAndTimeout) {
  auto r = Run(R"(
name = "n"
[[gate]]
id = "pattern"
  [[gate.step]]
  command = "echo 'controller is DOWN'"
  expect_output = ["is UP"]
[[gate]]
id = "evidence"
evidence = ["03-notes.md"]
  [[gate.step]]
  command = "true"
[[gate]]
id = "hang"
timeout_seconds = 1
  [[gate.step]]
  command = "sleep 30"
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 1);
  EXPECT_NE(r->gates[0].reason.find("required output /is UP/ not found"), std::string::npos)
      << r->gates[0].reason;
  EXPECT_NE(r->gates[1].reason.find("missing evidence: 03-notes.md"), std::string::npos);
  EXPECT_NE(r->gates[2].reason.find("timeout after 1s"), std::string::npos) << r->gates[2].reason;
}

TEST_F(GateRunnerTest, BlockedWhenAPreconditionIsMissing) {
  auto r = Run(R"(
name = "n"
[[gate]]
id = "fine"
  [[gate.step]]
  command = "true"
[[gate]]
id = "needs-tool"
requires = ["rtgw-no-such-tool-xyz"]
  [[gate.step]]
  command = "touch \"$GATE_RUN_DIR/should-not-run\""
[[gate]]
id = "needs-command"
  [[gate.precondition]]
  command = "exit 2"
  reason = "rtgw migrate is not built yet"
  [[gate.step]]
  command = "true"
[[gate]]
id = "optional-verdi"
requires = ["rtgw-no-such-verdi-xyz"]
on_missing = "hold"
  [[gate.step]]
  command = "true"
[[gate]]
id = "step-blocked"
  [[gate.step]]
  command = "echo 'relay tests are not there yet' >&2; exit 2"
  blocked_exit = [2]
  [[gate.step]]
  name = "step-blocked-after"
  command = "true"
)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 2);
  EXPECT_EQ(r->Decision(), "HOLD");
  EXPECT_EQ(r->gates[0].status, GateStatus::kPass);
  EXPECT_EQ(r->gates[1].status, GateStatus::kBlocked);
  EXPECT_NE(r->gates[1].reason.find("rtgw-no-such-tool-xyz is not on PATH"), std::string::npos);
  EXPECT_EQ(r->gates[2].status, GateStatus::kBlocked);
  EXPECT_NE(r->gates[2].reason.find("rtgw migrate is not built yet"), std::string::npos);
  EXPECT_EQ(r->gates[3].status, GateStatus::kFail);
  EXPECT_NE(r->gates[3].reason.find("HOLD: rtgw-no-such-verdi-xyz is not on PATH"),
            std::string::npos);
  const fs::path d = r->run_dir;
  EXPECT_FALSE(fs::exists(d / "should-not-run"));
  EXPECT_EQ(r->gates[4].status, GateStatus::kBlocked);
  EXPECT_NE(r->gates[4].reason.find("blocked (exit 2): relay tests are not there yet"),
            std::string::npos)
      << r->gates[4].reason;
  EXPECT_FALSE(fs::exists(d / "05-step-blocked-after.log"));
  EXPECT_TRUE(fs::exists(d / "03-needs-command-preconditions.log"));
  EXPECT_NE(Read(d / "promotion-decision.md").find("blocked: a precondition is missing"),
            std::string::npos);
}

TEST_F(GateRunnerTest, RerunRunsOnlyFailedGatesAndKeepsPassingEvidence) {
  const fs::path marker = dir_ / "remediated";
  auto r = Run(R"(
name = "n"
[env]
MARKER = ")" + marker.string() +
               R"("
[[gate]]
id = "good"
  [[gate.step]]
  command = "date +%s%N"
[[gate]]
id = "flaky"
  [[gate.step]]
  command = "test -f \"$MARKER\" && echo fixed"
)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->ExitCode(), 1);
  const fs::path d = r->run_dir;
  const std::string good_log = Read(d / "01-good.log");
  const auto good_mtime = fs::last_write_time(d / "01-good.log");
  const std::string good_summary = Read(d / "01-good-summary.md");

  // Still failing: rerun HOLDs again, old attempt kept under superseded/.
  auto again = RerunGates(d.string(), {});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->ExitCode(), 1);
  EXPECT_EQ(again->attempt, 2);
  EXPECT_TRUE(fs::exists(d / "superseded" / "attempt-1" / "02-flaky.log"));

  std::ofstream(marker) << "ok";
  auto fixed = RerunGates(d.string(), {});
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->ExitCode(), 0);
  EXPECT_EQ(fixed->attempt, 3);
  EXPECT_EQ(fixed->rerun_gates, std::vector<std::string>{"flaky"});
  EXPECT_EQ(fixed->gates[0].attempt, 1);  // the passing gate was not re-run
  EXPECT_EQ(fixed->gates[1].attempt, 3);
  EXPECT_EQ(Read(d / "01-good.log"), good_log);
  EXPECT_EQ(fs::last_write_time(d / "01-good.log"), good_mtime);
  EXPECT_EQ(Read(d / "01-good-summary.md"), good_summary);
  EXPECT_NE(Read(d / "02-flaky.log").find("fixed"), std::string::npos);
  EXPECT_TRUE(fs::exists(d / "superseded" / "attempt-2" / "02-flaky.log"));
  const std::string decision = Read(d / "promotion-decision.md");
  EXPECT_NE(decision.find("**Decision: PROMOTE**"), std::string::npos) << decision;
  EXPECT_NE(decision.find("attempt: 3 (re-ran: flaky"), std::string::npos) << decision;

  // Nothing left to re-run: a rerun changes no evidence and still PROMOTEs.
  auto noop = RerunGates(d.string(), {});
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->ExitCode(), 0);
  EXPECT_TRUE(noop->rerun_gates.empty());
}

TEST_F(GateRunnerTest, RerunOfANonRunDirectoryIsNotFound) {
  auto r = RerunGates(dir_.string(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(GateRunnerTest, ResultsJsonRoundTrips) {
  auto r = Run(kPromote);
  ASSERT_TRUE(r.ok());
  auto back = ResultsFromJson(ResultsToJson(*r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(ResultsToJson(*back), ResultsToJson(*r));
}

}  // namespace
}  // namespace rtgw::gates
