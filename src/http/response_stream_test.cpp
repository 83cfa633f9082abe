#include "http/response_stream.hpp"

#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw::http {
namespace {

TEST(ResponseStreamTest, TakeMovesOutWhatWasWrittenInOrder) {
  ResponseStream stream;
  EXPECT_TRUE(stream.Write("a"));
  EXPECT_TRUE(stream.Write("b"));
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.data, "ab");
  EXPECT_FALSE(taken.ended);
  EXPECT_FALSE(taken.aborted);
  EXPECT_EQ(stream.Take().data, "");
}

TEST(ResponseStreamTest, CloseEndsAfterTheQueuedDataAndRunsOnClosedOnce) {
  ResponseStream stream;
  int closed = 0;
  stream.OnClosed([&] { ++closed; });
  EXPECT_TRUE(stream.Write("last"));
  stream.Close();
  EXPECT_TRUE(stream.closed());
  EXPECT_FALSE(stream.Write("after close"));
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.data, "last");
  EXPECT_TRUE(taken.ended);
  EXPECT_FALSE(taken.aborted);
  stream.Abort();  // already ended: nothing more
  stream.Close();
  EXPECT_EQ(closed, 1);
  int late = 0;
  stream.OnClosed([&] { ++late; });  // runs at once when it has ended
  EXPECT_EQ(late, 1);
}

TEST(ResponseStreamTest, OverflowAbortsAndDropsTheQueue) {
  ResponseStream stream(/*max_buffered_bytes=*/4);
  int closed = 0;
  stream.OnClosed([&] { ++closed; });
  EXPECT_TRUE(stream.Write("1234"));
  EXPECT_FALSE(stream.Write("5"));
  EXPECT_EQ(closed, 1);
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.data, "");
  EXPECT_TRUE(taken.ended);
  EXPECT_TRUE(taken.aborted);
}

TEST(ResponseStreamTest, WakeComesWhenDataOrTheEndArrivesAfterAnEmptyTake) {
  ResponseStream stream;
  int wakes = 0;
  stream.SetWake([&] { ++wakes; });
  EXPECT_EQ(stream.Take().data, "");
  EXPECT_TRUE(stream.Write("a"));
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(stream.Write("b"));  // still queued: the server has not taken "a" yet
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(stream.Take().data, "ab");
  stream.Close();
  EXPECT_EQ(wakes, 2);
  EXPECT_TRUE(stream.Take().ended);
}

TEST(ResponseStreamTest, AbortWakesTheServerAndRunsOnClosed) {
  ResponseStream stream;
  int wakes = 0;
  int closed = 0;
  stream.SetWake([&] { ++wakes; });
  stream.OnClosed([&] { ++closed; });
  stream.Abort();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(closed, 1);
  EXPECT_FALSE(stream.Write("x"));
  EXPECT_TRUE(stream.Take().aborted);
}

TEST(ResponseStreamTest, ConcurrentWritersLoseNothing) {
  ResponseStream stream;
  constexpr int kWriters = 4;
  constexpr int kWrites = 10'000;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kWrites; ++i) EXPECT_TRUE(stream.Write("x"));
    });
  }
  std::size_t taken = 0;
  while (taken < static_cast<std::size_t>(kWriters * kWrites)) taken += stream.Take().data.size();
  for (auto& t : writers) t.join();
  EXPECT_EQ(taken, static_cast<std::size_t>(kWriters * kWrites));
}

}  // namespace
}  // namespace rtgw::http
