#include "common/random.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw {
namespace {

TEST(RandomTest, UuidsAreVersion4AndDistinctAcrossPoolRefills) {
  // ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
  auto v4 = [](const std::string& id) {
    if (id.size() != 36 || id[14] != '4' ||
        std::string_view("89ab").find(id[19]) == std::string_view::npos) {
      return false;
    }
    for (std::size_t i = 0; i < id.size(); ++i) {
      const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      const bool hex = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
      if (dash ? id[i] != '-' : !hex) return false;
    }
    return true;
  };
  std::set<std::string> seen;
  // 20,000 x 16 bytes: the 4 KiB per-thread pool is refilled ~80 times.
  for (int i = 0; i < 20'000; ++i) {
    const std::string id = NewUuidV4();
    ASSERT_TRUE(v4(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
  }
}

TEST(RandomTest, ThreadsDrawDifferentBytes) {
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < 2'000; ++i) ids[t].push_back(RandomHex(16));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * 2'000));
}

TEST(RandomTest, LargeRequestsAndHexLength) {
  EXPECT_EQ(RandomHex(32).size(), 64u);
  unsigned char big[256] = {};
  FillRandom(big, sizeof big);  // bypasses the pool
  int nonzero = 0;
  for (unsigned char c : big) nonzero += c != 0;
  EXPECT_GT(nonzero, 200);  // all-but-a-few zero bytes would mean nothing was written
}

TEST(RandomTest, ForkedChildDoesNotRepeatTheParentsNextBytes) {
  (void)RandomHex(8);  // the pool now holds unused bytes the child inherits
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string child = RandomHex(16);
    ssize_t n = write(fds[1], child.data(), child.size());
    _exit(n == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  const std::string parent = RandomHex(16);
  char buf[32];
  ASSERT_EQ(read(fds[0], buf, sizeof buf), 32);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(std::string(buf, 32), parent);
}

}  // namespace
}  // namespace rtgw
