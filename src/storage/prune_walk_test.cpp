#include "storage/prune_walk.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

using namespace std::chrono_literals;

// A walk over the integers 0..n-1, pages of `limit` keyed by the last item;
// records what each step saw.
struct Numbers {
  int n = 0;
  std::vector<std::optional<int>> reads;  // the `after` of each read
  std::vector<std::vector<int>> archived;
  std::vector<std::vector<int>> removed;
  bool fail_archive = false;
  int fail_remove_at = -1;  // the remove call (0-based) that fails
  std::chrono::milliseconds step_time{0};

  WalkSteps<int, int> Steps(bool with_archive = true) {
    WalkSteps<int, int> s;
    s.read = [this](const std::optional<int>& after, int limit) -> Result<WalkPage<int, int>> {
      reads.push_back(after);
      std::this_thread::sleep_for(step_time);
      WalkPage<int, int> page;
      for (int i = after ? *after + 1 : 0; i < n && static_cast<int>(page.items.size()) < limit;
           ++i) {
        page.items.push_back(i);
      }
      if (!page.items.empty() && page.items.back() < n - 1) page.next = page.items.back();
      return page;
    };
    if (with_archive) {
      s.archive = [this](const std::vector<int>& items) -> Status {
        if (fail_archive) return Unavailable("archive down");
        archived.push_back(items);
        return Ok{};
      };
    }
    s.remove = [this](std::vector<int> items) -> Status {
      if (static_cast<int>(removed.size()) == fail_remove_at) return Unavailable("store down");
      std::this_thread::sleep_for(step_time);
      removed.push_back(std::move(items));
      return Ok{};
    };
    return s;
  }
};

WalkPacing Pacing(int batch, int delete_batch) {
  WalkPacing p;
  p.batch = batch;
  p.delete_batch = delete_batch;
  p.pause = 0ms;
  return p;
}

TEST(WalkAndDeleteTest, ArchivesEachPageThenDeletesItInWritesOfDeleteBatch) {
  Numbers w{.n = 7};
  WalkTimes times;
  ASSERT_TRUE(WalkAndDelete(Pacing(3, 2), w.Steps(), times).ok());
  EXPECT_EQ(w.reads, (std::vector<std::optional<int>>{std::nullopt, 2, 5}));
  EXPECT_EQ(w.archived, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6}}));
  EXPECT_EQ(w.removed, (std::vector<std::vector<int>>{{0, 1}, {2}, {3, 4}, {5}, {6}}));
  EXPECT_EQ(times.batches, 3);
}

TEST(WalkAndDeleteTest, AFailedArchiveDeletesNothingOfItsPage) {
  Numbers w{.n = 5, .fail_archive = true};
  WalkTimes times;
  Status s = WalkAndDelete(Pacing(3, 2), w.Steps(), times);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(w.removed.empty());
  EXPECT_EQ(w.reads.size(), 1U);  // stopped at once
}

TEST(WalkAndDeleteTest, AFailedDeleteStopsTheWalk) {
  Numbers w{.n = 9, .fail_remove_at = 1};
  WalkTimes times;
  ASSERT_FALSE(WalkAndDelete(Pacing(3, 2), w.Steps(/*with_archive=*/false), times).ok());
  EXPECT_EQ(w.removed, (std::vector<std::vector<int>>{{0, 1}}));
  EXPECT_EQ(w.reads.size(), 1U);
}

TEST(WalkAndDeleteTest, ReleaseDecidesWhichItemsGo) {
  Numbers w{.n = 6};
  WalkSteps<int, int> steps = w.Steps();
  std::vector<int> released;
  steps.release = [&](std::vector<int> items) {
    std::vector<int> gone;
    for (int i : items) {
      released.push_back(i);
      if (i % 2 == 0) gone.push_back(i);  // odd ones are kept for the next walk
    }
    return gone;
  };
  WalkTimes times;
  ASSERT_TRUE(WalkAndDelete(Pacing(4, 10), steps, times).ok());
  EXPECT_EQ(released, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(w.removed, (std::vector<std::vector<int>>{{0, 2}, {4}}));
  EXPECT_EQ(w.archived.size(), 2U);  // the whole page is archived first
}

TEST(WalkAndDeleteTest, StopsAtMaxItemsAndAtTheStopFlag) {
  Numbers w{.n = 100};
  WalkPacing p = Pacing(4, 4);
  p.max_items = 6;
  WalkTimes times;
  ASSERT_TRUE(WalkAndDelete(p, w.Steps(), times).ok());
  EXPECT_EQ(w.removed, (std::vector<std::vector<int>>{{0, 1, 2, 3}, {4, 5}}));

  Numbers stopped{.n = 100};
  std::atomic<bool> stop{true};
  p.max_items = 0;
  p.stop = &stop;
  ASSERT_TRUE(WalkAndDelete(p, stopped.Steps(), times).ok());
  EXPECT_TRUE(stopped.reads.empty());
}

TEST(WalkAndDeleteTest, EveryStepIsFollowedByItsDutyCycleShare) {
  // Reads and deletes take >= 5 ms each; at 50 % each is followed by as much sleep.
  Numbers w{.n = 4, .step_time = 5ms};
  WalkPacing p = Pacing(2, 2);
  p.busy_percent = 50;
  WalkTimes times;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WalkAndDelete(p, w.Steps(/*with_archive=*/false), times).ok());
  const auto wall = std::chrono::steady_clock::now() - start;
  const auto busy = times.read_time + times.delete_time;
  EXPECT_GE(busy, 20ms);              // 2 reads + 2 deletes
  EXPECT_GE(times.paced_time, busy);  // integer division never rounds a share up past t
  EXPECT_LE(times.paced_time, busy + 1ms);
  EXPECT_GE(wall, busy + times.paced_time);
  EXPECT_GE(times.longest_delete, 5ms);
}

TEST(WalkAndDeleteTest, RefusesABadBatchOrBusyPercentBeforeAnyRead) {
  Numbers w{.n = 3};
  WalkTimes times;
  WalkPacing p = Pacing(0, 1);
  EXPECT_EQ(WalkAndDelete(p, w.Steps(), times).error().code, ErrorCode::kInvalidArgument);
  p = Pacing(3, 1);
  p.busy_percent = 101;
  EXPECT_EQ(WalkAndDelete(p, w.Steps(), times).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(w.reads.empty());
}

}  // namespace
}  // namespace rtgw::storage
