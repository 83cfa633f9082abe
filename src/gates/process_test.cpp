#include "gates/process.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::gates {
namespace {

namespace fs = std::filesystem;

class ProcessTest : public ::testing::Test {
 protected:
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream b;
    b << in.rdbuf();
    return b.str();
  }
  ProcessSpec Sh(const std::string& cmd) {
    ProcessSpec s;
    s.argv = {"/bin/sh", "-c", cmd};
    s.stdout_path = (dir_ / "out").string();
    s.stderr_path = (dir_ / "err").string();
    return s;
  }
  TempDir tmp_{"rtgw-process"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(ProcessTest, CapturesOutputExitCodeAndEnvironment) {
  auto s = Sh("echo hello; echo oops >&2; echo \"$GATE_X\"; pwd; exit 3");
  s.env["GATE_X"] = "from-env";
  s.cwd = dir_.string();
  auto r = RunProcess(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->Describe(), "exit 3");
  EXPECT_EQ(Read("out"), "hello\nfrom-env\n" + fs::canonical(dir_).string() + "\n");
  EXPECT_EQ(Read("err"), "oops\n");
  EXPECT_GE(r->wall_seconds, 0.0);
}

TEST_F(ProcessTest, StdinIsEmpty) {
  auto r = RunProcess(Sh("cat; echo done"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Read("out"), "done\n");
}

TEST_F(ProcessTest, TimeoutKillsTheWholeProcessGroup) {
  // The background sleep would outlive a plain kill of the shell.
  auto s = Sh("sleep 30 & echo $! > " + (dir_ / "bg").string() + "; wait");
  s.timeout = std::chrono::milliseconds(300);
  s.kill_grace = std::chrono::milliseconds(300);
  auto r = RunProcess(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_NE(r->Describe().find("timeout"), std::string::npos);
  EXPECT_LT(r->wall_seconds, 5.0);
  const pid_t bg = std::stoi(Read("bg"));
  // Gone, or a zombie waiting for init to reap it (it was reparented).
  usleep(100 * 1000);
  std::ifstream stat("/proc/" + std::to_string(bg) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  EXPECT_TRUE(!stat || state == "Z") << "background child survived in state " << state;
}

TEST_F(ProcessTest, MissingProgramIsUnavailable) {
  ProcessSpec s;
  s.argv = {"rtgw-no-such-program-xyz"};
  auto r = RunProcess(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(ProcessTest, FindOnPath) {
  EXPECT_FALSE(FindOnPath("sh").empty());
  EXPECT_EQ(FindOnPath("rtgw-no-such-program-xyz"), "");
  EXPECT_EQ(FindOnPath("/bin/sh"), "/bin/sh");
}

}  // namespace
}  // namespace rtgw::gates
