#include "common/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw {
namespace {

// Configures JSON lines at info level and points stderr at a temporary file
// for the test's lifetime.
class StderrCapture {
 public:
  StderrCapture() {
    Logger::Configure(LogFormat::kJson, LogLevel::kInfo);
    char tmpl[] = "/tmp/rtgw-logging-test-XXXXXX";
    fd_ = ::mkstemp(tmpl);
    path_ = tmpl;
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fd_, STDERR_FILENO);
  }
  ~StderrCapture() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    std::istringstream in(Text());
    for (std::string line; std::getline(in, line);) {
      const auto at = line.find("\"msg\":\"");
      if (at == std::string::npos) continue;
      const auto end = line.find('"', at + 7);
      out.push_back(line.substr(at + 7, end - at - 7));
    }
    return out;
  }

 private:
  int fd_ = -1;
  int saved_ = -1;
  std::string path_;
};

TEST(LoggingTest, JsonEscapingKeepsPlainRunsAndEscapesTheRest) {
  std::string out = "x";
  AppendJsonEscaped(out, "");
  EXPECT_EQ(out, "x");
  out.clear();
  AppendJsonEscaped(out, "plain text, unicode \xc3\xa9 stays");
  EXPECT_EQ(out, "plain text, unicode \xc3\xa9 stays");
  out.clear();
  AppendJsonEscaped(out, std::string_view("a\"b\\c\nd\re\tf\x01g\x1f\0h", 16));
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\\u0000h");
  out.clear();
  AppendJsonEscaped(out, "\"edge\"");
  EXPECT_EQ(out, "\\\"edge\\\"");
  out.clear();
  // C1 controls are escaped too; U+00A0 (0xC2 0xA0) is not a control and stays.
  AppendJsonEscaped(out, "a\u009b31mb\u0080\u00a0c\xc2");
  EXPECT_EQ(out, "a\\u009b31mb\\u0080\u00a0c\xc2");
}

TEST(LoggingTest, UnbufferedLinesAreWrittenAtOnce) {
  StderrCapture cap;
  LogInfo("one", {{"k", "v"}, {"n", 3}});
  EXPECT_EQ(cap.Messages(), std::vector<std::string>{"one"});
  EXPECT_NE(cap.Text().find("\"k\":\"v\",\"n\":3}"), std::string::npos) << cap.Text();
}

TEST(LoggingTest, BufferedInfoLinesGoOutWithinTheIntervalInOrder) {
  StderrCapture cap;
  {
    LogBuffering buffering(std::chrono::milliseconds(200));
    LogInfo("a");
    LogInfo("b");
    EXPECT_TRUE(cap.Messages().empty());  // still in the buffer
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(cap.Messages(), (std::vector<std::string>{"a", "b"}));
    LogInfo("c");
  }  // the destructor flushes
  EXPECT_EQ(cap.Messages(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(LoggingTest, WarningsFlushWhatCameBeforeThem) {
  StderrCapture cap;
  LogBuffering buffering(std::chrono::seconds(30));
  LogInfo("before");
  LogWarn("warned");
  EXPECT_EQ(cap.Messages(), (std::vector<std::string>{"before", "warned"}));
  LogInfo("after");
  Logger::Flush();
  EXPECT_EQ(cap.Messages(), (std::vector<std::string>{"before", "warned", "after"}));
}

TEST(LoggingTest, ManyThreadsNeverInterleaveLines) {
  StderrCapture cap;
  {
    LogBuffering buffering(std::chrono::milliseconds(1));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 5000; ++i) {
          LogInfo("line", {{"thread", t}, {"i", i}, {"pad", std::string(100, 'x')}});
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::istringstream in(cap.Text());
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_EQ(line.back(), '}') << line;
  }
  EXPECT_EQ(lines, 20000);
}

}  // namespace
}  // namespace rtgw
