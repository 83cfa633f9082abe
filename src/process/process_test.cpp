#include "process/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::process {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Spec Sh(const std::string& script) {
  Spec s;
  s.argv = {"/bin/sh", "-c", script};
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return stat && state != "Z";
}

bool WaitGone(pid_t pid) {
  for (int i = 0; i < 200 && Alive(pid); ++i) std::this_thread::sleep_for(milliseconds(10));
  return !Alive(pid);
}

TEST(ProcessRunTest, CapturesOutputAndExitCode) {
  auto r = process::Run(Sh("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status.exit_code, 3);
  EXPECT_EQ(r->status.term_signal, 0);
  EXPECT_FALSE(r->status.exited() && r->status.exit_code == 0);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->timed_out);
}

TEST(ProcessRunTest, TrueAndFalseByNameOnPath) {
  auto t = process::Run({.argv = {"true"}});
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->status.exited());
  EXPECT_EQ(t->status.exit_code, 0);
  auto f = process::Run({.argv = {"false"}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->status.exit_code, 1);
}

TEST(ProcessRunTest, ArgumentsAreNotInterpretedByAShell) {
  auto r = process::Run({.argv = {"/bin/echo", "$(touch /tmp/rtgw-never)", "; rm -rf /"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$(touch /tmp/rtgw-never) ; rm -rf /\n");
}

TEST(ProcessRunTest, FeedsStdinLargerThanAPipe) {
  Spec s{.argv = {"/usr/bin/wc", "-c"}};
  s.stdin_stream = Stream::Pipe();
  auto r = process::Run(s, {.stdin_data = std::string(200000, 'x')});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::stoi(r->out), 200000);
}

TEST(ProcessRunTest, AChildThatDoesNotReadItsStdinNeitherStallsNorKillsUs) {
  Spec s = Sh("exec 0<&-; sleep 0.1; echo done");
  s.stdin_stream = Stream::Pipe();
  auto r = process::Run(s, {.timeout = seconds(10), .stdin_data = std::string(1 << 20, 'x')});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->out, "done\n");
}

TEST(ProcessRunTest, CapsCapturedOutputAndStillDrainsIt) {
  auto r = process::Run(Sh("head -c 300000 /dev/zero; echo tail >&2"), {.max_output_bytes = 1000});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.exit_code, 0);  // never blocked on a full pipe
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->out_truncated);
  EXPECT_EQ(r->err, "tail\n");
  EXPECT_FALSE(r->err_truncated);
}

TEST(ProcessRunTest, TimeoutKillsTheWholeProcessGroupAtOnce) {
  TempDir dir("rtgw-process");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = process::Run(Sh("sleep 30 & echo $! > " + dir.File("bg") + "; wait"),
                        {.timeout = milliseconds(300)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->status.term_signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  EXPECT_TRUE(WaitGone(std::stoi(ReadFile(dir.File("bg")))));
}

TEST(ProcessRunTest, TimeoutSendsTermThenKillsAProcessIgnoringTerm) {
  TempDir dir("rtgw-process");
  // The first child ends on TERM; the second ignores it and needs the KILL.
  auto polite =
      process::Run(Sh("sleep 30"), {.timeout = milliseconds(100), .kill_grace = seconds(5)});
  ASSERT_TRUE(polite.ok());
  EXPECT_TRUE(polite->timed_out);
  EXPECT_EQ(polite->status.term_signal, SIGTERM);
  EXPECT_LT(polite->wall, seconds(4));

  const auto t0 = std::chrono::steady_clock::now();
  auto stubborn = process::Run(Sh("trap '' TERM; echo ready > " + dir.File("ready") + "; sleep 30"),
                               {.timeout = milliseconds(300), .kill_grace = milliseconds(300)});
  ASSERT_TRUE(stubborn.ok());
  EXPECT_TRUE(stubborn->timed_out);
  EXPECT_EQ(ReadFile(dir.File("ready")), "ready\n");
  EXPECT_EQ(stubborn->status.term_signal, SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(600));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
}

TEST(ProcessRunTest, KillGroupOnExitEndsWhatTheChildLeftBehind) {
  TempDir dir("rtgw-process");
  // The background sleep holds stdout open: without the group kill the run lasts
  // until its timeout.
  const std::string script = "sleep 30 & echo $! > " + dir.File("bg") + "; exit 4";
  auto r = process::Run(Sh(script), {.timeout = seconds(20), .kill_group_on_exit = true});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->status.exit_code, 4);
  EXPECT_LT(r->wall, seconds(10));
  EXPECT_TRUE(WaitGone(std::stoi(ReadFile(dir.File("bg")))));

  auto held = process::Run(Sh(script), {.timeout = milliseconds(300)});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->timed_out);
  EXPECT_EQ(held->status.exit_code, 4);  // it exited; the pipes stayed open
  EXPECT_TRUE(WaitGone(std::stoi(ReadFile(dir.File("bg")))));
}

TEST(ProcessRunTest, EnvironmentExtendsOrReplacesOurs) {
  setenv("RTGW_PROCESS_TEST_OURS", "ours", 1);
  Spec s = Sh("printf '%s|%s' \"$RTGW_PROCESS_TEST_OURS\" \"$RTGW_X\"");
  s.env = {"RTGW_X=hello world"};
  auto extended = process::Run(s);
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->out, "ours|hello world");

  s.env = {"RTGW_PROCESS_TEST_OURS=replaced"};
  auto overridden = process::Run(s);
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->out, "replaced|");

  Spec only{.argv = {"/usr/bin/env"}, .env_mode = Spec::Env::kReplace, .env = {"A=1", "B=2"}};
  auto replaced = process::Run(only);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->out, "A=1\nB=2\n");
  unsetenv("RTGW_PROCESS_TEST_OURS");
}

TEST(ProcessRunTest, WorkingDirectoryAndFileStreams) {
  TempDir dir("rtgw-process");
  std::ofstream(dir.File("in")) << "from a file\n";
  Spec s = Sh("cat; pwd; echo oops >&2");
  s.cwd = dir.path().string();
  s.stdin_stream = Stream::File(dir.File("in"));
  s.stdout_stream = Stream::File(dir.File("out"));
  s.stderr_stream = Stream::File(dir.File("err"));
  auto r = process::Run(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status.exit_code, 0);
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(ReadFile(dir.File("out")), "from a file\n" + dir.path().string() + "\n");
  EXPECT_EQ(ReadFile(dir.File("err")), "oops\n");

  Spec null_in = Sh("cat; echo done");  // the default stdin: /dev/null
  EXPECT_EQ(process::Run(null_in)->out, "done\n");
}

TEST(ProcessRunTest, WhatCannotStartIsUnavailableNamingWhy) {
  auto missing = process::Run({.argv = {"/nonexistent/rtgw-nothing"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing.error().message.find("rtgw-nothing"), std::string::npos);
  auto not_on_path = process::Run({.argv = {"rtgw-no-such-program-xyz"}});
  ASSERT_FALSE(not_on_path.ok());
  EXPECT_EQ(not_on_path.error().code, ErrorCode::kUnavailable);

  Spec bad_cwd = Sh("true");
  bad_cwd.cwd = "/nonexistent/rtgw-dir";
  auto cwd = process::Run(bad_cwd);
  ASSERT_FALSE(cwd.ok());
  EXPECT_NE(cwd.error().message.find("cwd /nonexistent/rtgw-dir"), std::string::npos);

  Spec bad_out = Sh("true");
  bad_out.stdout_stream = Stream::File("/nonexistent/rtgw-dir/out");
  EXPECT_EQ(process::Run(bad_out).error().code, ErrorCode::kUnavailable);

  EXPECT_EQ(process::Run(Spec{}).error().code, ErrorCode::kInvalidArgument);
}

TEST(ProcessSpawnTest, ChildGetsDefaultSignalsAnEmptyMaskAndNoStrayDescriptors) {
  // Our state that must not leak: SIGPIPE ignored, SIGTERM blocked, a descriptor without
  // close-on-exec.
  struct sigaction ignore {};
  struct sigaction old_pipe {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  sigset_t term;
  sigset_t old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int stray = fcntl(null_fd, F_DUPFD, 100);  // no close-on-exec
  close(null_fd);
  ASSERT_GE(stray, 100);

  auto r = process::Run(Sh("grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd"));

  close(stray);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->out.find("SigBlk:\t0000000000000000\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("SigIgn:\t0000000000000000\n"), std::string::npos) << r->out;
  // ls sees 0, 1, 2 and the descriptor of the directory it lists, nothing of ours.
  EXPECT_EQ(r->out.find("\n" + std::to_string(stray) + "\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("\n0\n1\n2\n"), std::string::npos) << r->out;
}

TEST(ProcessSpawnTest, ChildLeadsItsGroupAndCanBeStopped) {
  auto child = Spawn({.argv = {"/bin/sleep", "30"}, .stdout_stream = Stream::Null()});
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(getpgid(child->pid()), child->pid());
  EXPECT_FALSE(child->HasEnded());
  auto running = child->TryWait();
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(running->has_value());
  EXPECT_FALSE(child->WaitUntil(std::chrono::steady_clock::now() + milliseconds(50)));
  child->Signal(SIGKILL);
  auto status = child->WaitUntil(std::chrono::steady_clock::now() + seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->term_signal, SIGKILL);
  auto again = child->TryWait();  // reaped once; the status is kept
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->term_signal, SIGKILL);

  Spec same_group{.argv = {"/bin/true"}, .new_process_group = false};
  auto plain = Spawn(same_group);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->Wait().exit_code, 0);
}

TEST(ProcessSpawnTest, DieWithParentKillsTheChildWhenTheSpawningThreadEnds) {
  Result<Child> child = InvalidArgument("not spawned");
  std::thread([&] {
    child = Spawn({.argv = {"/bin/sleep", "30"}, .die_with_parent = true});
  }).join();
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto status = child->WaitUntil(std::chrono::steady_clock::now() + seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->term_signal, SIGKILL);
}

TEST(ProcessSpawnTest, DetachedChildOutlivesTheProcessThatStartedIt) {
  TempDir dir("rtgw-process");
  int pid_pipe[2];
  ASSERT_EQ(pipe(pid_pipe), 0);
  // A process of our own starts the detached job and exits at once.
  const pid_t starter = fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    Spec s = Sh("sleep 0.5; echo alive > " + dir.File("alive"));
    s.stdin_stream = s.stdout_stream = s.stderr_stream = Stream::Null();
    auto pid = SpawnDetached(s);
    const int value = pid.ok() ? *pid : -1;
    (void)!write(pid_pipe[1], &value, sizeof value);
    _exit(pid.ok() ? 0 : 1);
  }
  close(pid_pipe[1]);
  int detached = -1;
  ASSERT_EQ(read(pid_pipe[0], &detached, sizeof detached), static_cast<ssize_t>(sizeof detached));
  close(pid_pipe[0]);
  int starter_status = 0;
  ASSERT_EQ(waitpid(starter, &starter_status, 0), starter);
  EXPECT_TRUE(WIFEXITED(starter_status) && WEXITSTATUS(starter_status) == 0);
  ASSERT_GT(detached, 0);
  EXPECT_EQ(getsid(detached), detached);  // its own session and process group
  EXPECT_EQ(getpgid(detached), detached);
  for (int i = 0; i < 300 && ReadFile(dir.File("alive")).empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(ReadFile(dir.File("alive")), "alive\n");
}

TEST(ProcessSpawnTest, DetachedIsNeverOurZombieAndRefusesPipes) {
  Spec s{.argv = {"/bin/true"}, .stdout_stream = Stream::Null(), .stderr_stream = Stream::Null()};
  auto pid = SpawnDetached(s);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  int status = 0;
  EXPECT_EQ(waitpid(*pid, &status, WNOHANG), -1);  // not our child
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(SpawnDetached(Sh("true")).error().code, ErrorCode::kInvalidArgument);  // pipes
  auto missing = SpawnDetached({.argv = {"/nonexistent/rtgw-nothing"},
                                .stdout_stream = Stream::Null(),
                                .stderr_stream = Stream::Null()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
}

TEST(FindOnPathTest, LooksUpNamesAndChecksPaths) {
  EXPECT_FALSE(FindOnPath("sh").empty());
  EXPECT_EQ(FindOnPath("rtgw-no-such-program-xyz"), "");
  EXPECT_EQ(FindOnPath("/bin/sh"), "/bin/sh");
  EXPECT_EQ(FindOnPath("/etc/passwd"), "");  // not executable
  EXPECT_EQ(FindOnPath(""), "");
}

}  // namespace
}  // namespace rtgw::process
