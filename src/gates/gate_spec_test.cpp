#include "gates/gate_spec.hpp"

#include <gtest/gtest.h>

namespace rtgw::gates {
namespace {

TEST(GateSpec, ParsesAFullSpec) {
  auto s = ParseGateSpec(R"(
name = "promo"
description = "d"
operator = "op"
reviewer = "rev"
workdir = "sub"
on_hold = ["keep sqlite"]
[env]
FOO = "bar"
[[risk]]
risk = "r1"
mitigation = "m1"
[[gate]]
id = "smoke"
title = "Smoke"
repeat = 3
timeout_seconds = 30
requires = ["sh"]
p95_max_regression_pct = 25
known_good_median_seconds = 1.5
evidence = ["02-notes.md"]
unblock = "fix it"
  [[gate.precondition]]
  command = "true"
  reason = "needs true"
  [[gate.step]]
  command = "echo hi"
  expect_output = ["^hi$"]
[[gate]]
id = "two-steps"
on_missing = "hold"
  [[gate.step]]
  command = "true"
  [[gate.step]]
  name = "second"
  command = "exit 2"
  expect_exit = [2]
  timeout_seconds = 5
)",
                         "/base");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "promo");
  EXPECT_EQ(s->workdir, "/base/sub");
  EXPECT_EQ(s->env.at("FOO"), "bar");
  ASSERT_EQ(s->risks.size(), 1u);
  ASSERT_EQ(s->gates.size(), 2u);
  const auto& g = s->gates[0];
  EXPECT_EQ(g.repeat, 3);
  EXPECT_EQ(g.RequiredSuccesses(), 3);
  EXPECT_EQ(g.p95_max_regression_pct, 25.0);
  EXPECT_EQ(g.known_good_median_seconds, 1.5);
  EXPECT_EQ(g.steps[0].name, "smoke");  // a single step is named after its gate
  EXPECT_EQ(g.preconditions[0].reason, "needs true");
  EXPECT_EQ(g.on_missing, OnMissing::kBlocked);
  const auto& g2 = s->gates[1];
  EXPECT_EQ(g2.on_missing, OnMissing::kHold);
  EXPECT_EQ(g2.steps[0].name, "two-steps-step1");
  EXPECT_EQ(g2.steps[1].name, "second");
  EXPECT_EQ(g2.steps[1].expect_exit, std::vector<int>{2});
  EXPECT_EQ(g2.steps[1].timeout_seconds, 5);
}

void ExpectInvalid(const std::string& text, const std::string& fragment) {
  auto s = ParseGateSpec(text, "/");
  ASSERT_FALSE(s.ok()) << text;
  EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
}

TEST(GateSpec, RejectsMistakesNamingThem) {
  ExpectInvalid("name = ", "TOML line 1");
  ExpectInvalid("[[gate]]\nid='a'\n[[gate.step]]\ncommand='x'\n", "'name' is required");
  ExpectInvalid("name='n'\n", "at least one [[gate]]");
  ExpectInvalid("name='n'\n[[gate]]\nid='a'\n", "at least one [[gate.step]]");
  ExpectInvalid("name='n'\n[[gate]]\nid='A B'\n[[gate.step]]\ncommand='x'\n", "'id' must match");
  ExpectInvalid("name='n'\n[[gate]]\nid='a'\nrepeats=3\n[[gate.step]]\ncommand='x'\n",
                "unknown key 'repeats'");
  ExpectInvalid("name='n'\n[[gate]]\nid='a'\n[[gate.step]]\ncommand='x'\nexpect_output=['(']\n",
                "not a valid regex");
  ExpectInvalid(
      "name='n'\n[[gate]]\nid='a'\nrepeat=2\nmin_successes=3\n[[gate.step]]\ncommand='x'\n",
      "larger than 'repeat'");
  ExpectInvalid(
      "name='n'\n[[gate]]\nid='a'\n[[gate.step]]\ncommand='x'\n[[gate]]\nid='a'\n[[gate.step]]\n"
      "command='y'\n",
      "duplicate gate id");
  ExpectInvalid("name='n'\n[[gate]]\nid='a'\nevidence=['../x']\n[[gate.step]]\ncommand='x'\n",
                "inside the run directory");
  ExpectInvalid("name='n'\n[[gate]]\nid='a'\non_missing='skip'\n[[gate.step]]\ncommand='x'\n",
                "on_missing");
}

TEST(GateSpec, ShippedPromotionSpecIsValid) {
  auto s = LoadGateSpec(std::string(RTGW_SOURCE_DIR) + "/gates/promotion-postgres.toml");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->workdir, std::string(RTGW_SOURCE_DIR));
  std::vector<std::string> ids;
  for (const auto& g : s->gates) ids.push_back(g.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"preflight", "sqlite-smoke", "postgres-sanity",
                                           "slurm-smoke", "contract-checks", "aiida-verdi"}));
  EXPECT_EQ(s->gates[1].repeat, 3);
  EXPECT_EQ(s->gates[1].p95_max_regression_pct, 25.0);
  EXPECT_EQ(s->gates[5].on_missing, OnMissing::kHold);
}

}  // namespace
}  // namespace rtgw::gates
