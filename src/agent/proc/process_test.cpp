#include "agent/proc/process.hpp"

#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

TEST(ProcessTest, CapturesOutputAndExitCode) {
  auto r = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->timed_out);
}

TEST(ProcessTest, ArgumentsAreNotInterpretedByAShell) {
  auto r = RunProcess({"/bin/echo", "$(touch /tmp/rtgw-never)", "; rm -rf /"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$(touch /tmp/rtgw-never) ; rm -rf /\n");
}

TEST(ProcessTest, FeedsStdin) {
  ProcessOptions o;
  o.stdin_data = std::string(200000, 'x');  // larger than a pipe buffer
  auto r = RunProcess({"/usr/bin/wc", "-c"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::stoi(r->out), 200000);
}

TEST(ProcessTest, KillsAtTimeout) {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(200);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = RunProcess({"/bin/sleep", "10"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->term_signal, 9);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST(ProcessTest, MissingProgramIsAnError) {
  auto r = RunProcess({"/nonexistent/rtgw-nothing"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("rtgw-nothing"), std::string::npos);
}

TEST(ProcessTest, ExtraEnvironment) {
  ProcessOptions o;
  o.extra_env = {"RTGW_X=hello world"};
  auto r = RunProcess({"/bin/sh", "-c", "printf %s \"$RTGW_X\""}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello world");
}

}  // namespace
}  // namespace rtgw::agent
