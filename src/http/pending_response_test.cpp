#include "http/pending_response.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw::http {
namespace {

Response MakeResponse(int status) {
  Response r;
  r.status = status;
  return r;
}

TEST(PendingResponseTest, ResponseGivenBeforeWaitIsTakenWithoutWake) {
  PendingResponse pending;
  EXPECT_TRUE(pending.Complete(MakeResponse(201)));
  int wakes = 0;
  std::optional<Response> r = pending.TakeOrWait([&] { ++wakes; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(wakes, 0);
}

TEST(PendingResponseTest, ResponseGivenWhileWaitingWakesOnceAndIsReturnedByAbandon) {
  PendingResponse pending;
  int wakes = 0;
  EXPECT_FALSE(pending.TakeOrWait([&] { ++wakes; }).has_value());
  EXPECT_TRUE(pending.Complete(MakeResponse(202)));
  EXPECT_EQ(wakes, 1);
  std::optional<Response> r = pending.Abandon();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 202);
}

TEST(PendingResponseTest, SecondCompleteIsIgnored) {
  PendingResponse pending;
  EXPECT_TRUE(pending.Complete(MakeResponse(200)));
  EXPECT_FALSE(pending.Complete(MakeResponse(500)));
  std::optional<Response> r = pending.Abandon();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(PendingResponseTest, CompleteAfterAbandonIsIgnoredAndDoesNotWake) {
  PendingResponse pending;
  int wakes = 0;
  EXPECT_FALSE(pending.TakeOrWait([&] { ++wakes; }).has_value());
  EXPECT_FALSE(pending.Abandon().has_value());
  EXPECT_FALSE(pending.Complete(MakeResponse(200)));
  EXPECT_EQ(wakes, 0);
  EXPECT_FALSE(pending.Abandon().has_value());
}

TEST(PendingResponseTest, AbandonDropsTheWakeCallable) {
  auto token = std::make_shared<int>(7);
  PendingResponse pending;
  EXPECT_FALSE(pending.TakeOrWait([token] {}).has_value());
  EXPECT_EQ(token.use_count(), 2);
  pending.Abandon();
  EXPECT_EQ(token.use_count(), 1);
}

TEST(PendingResponseTest, ConcurrentCompletesHaveExactlyOneWinner) {
  auto pending = std::make_shared<PendingResponse>();
  std::atomic<int> wakes{0};
  EXPECT_FALSE(pending->TakeOrWait([&] { ++wakes; }).has_value());
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (pending->Complete(MakeResponse(200 + i))) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(wakes.load(), 1);
  EXPECT_TRUE(pending->Abandon().has_value());
}

}  // namespace
}  // namespace rtgw::http
