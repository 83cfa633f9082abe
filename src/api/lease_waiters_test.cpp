#include "api/lease_waiters.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

using namespace std::chrono_literals;
using Clock = LeaseWaiters::Clock;

TEST(LeaseWaitersTest, NotifyWakesOnlyThatKey) {
  LeaseWaiters w(10s);
  std::promise<bool> a, b;
  w.Park("t\nn1", w.Version("t\nn1"), Clock::now() + 10s, [&](bool f) { a.set_value(f); });
  w.Park("t\nn2", w.Version("t\nn2"), Clock::now() + 200ms, [&](bool f) { b.set_value(f); });
  w.Notify("t\nn1");
  auto fa = a.get_future();
  ASSERT_EQ(fa.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(fa.get());  // not final: query again
  auto fb = b.get_future();
  ASSERT_EQ(fb.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(fb.get());  // its deadline passed
}

TEST(LeaseWaitersTest, ANotificationBeforeParkIsNotLost) {
  LeaseWaiters w(10s);
  const std::uint64_t seen = w.Version("k");
  w.Notify("k");  // between the store query and Park
  std::promise<bool> p;
  const auto start = Clock::now();
  w.Park("k", seen, Clock::now() + 10s, [&](bool f) { p.set_value(f); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(f.get());
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(LeaseWaitersTest, RecheckWakesWithoutNotification) {
  LeaseWaiters w(50ms);
  std::promise<bool> p;
  w.Park("k", w.Version("k"), Clock::now() + 10s, [&](bool f) { p.set_value(f); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(f.get());
}

TEST(LeaseWaitersTest, PollsBeyondThePerKeyCapAreAnsweredAtOnce) {
  // Declared before the waiters: their wakes run on its thread until its destructor joins it.
  std::atomic<int> finals{0};
  std::atomic<bool> extra_final{false};
  std::promise<bool> other;
  LeaseWaiters w(10s);
  for (std::size_t i = 0; i < LeaseWaiters::kMaxParkedPerKey; ++i) {
    w.Park("k", w.Version("k"), Clock::now() + 10s, [&](bool f) { finals += f ? 1 : 0; });
  }
  EXPECT_EQ(w.parked(), LeaseWaiters::kMaxParkedPerKey);
  w.Park("k", w.Version("k"), Clock::now() + 10s, [&](bool f) { extra_final = f; });
  EXPECT_TRUE(extra_final.load());  // answered on the caller's thread, not parked
  EXPECT_EQ(w.parked(), LeaseWaiters::kMaxParkedPerKey);
  w.Park("other", w.Version("other"), Clock::now() + 10s, [&](bool f) { other.set_value(f); });
  EXPECT_EQ(w.parked(), LeaseWaiters::kMaxParkedPerKey + 1);  // another node still parks
  w.Shutdown();
  auto f = other.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(f.get());
  for (int i = 0; i < 200 && finals.load() < 16; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(finals.load(), static_cast<int>(LeaseWaiters::kMaxParkedPerKey));
}

TEST(LeaseWaitersTest, ShutdownAnswersEveryoneFinal) {
  LeaseWaiters w(10s);
  std::atomic<int> finals{0};
  for (int i = 0; i < 5; ++i) {
    w.Park("k", w.Version("k"), Clock::now() + 10s, [&](bool f) { finals += f ? 1 : 0; });
  }
  EXPECT_EQ(w.parked(), 5u);
  w.Shutdown();
  for (int i = 0; i < 200 && finals.load() < 5; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(finals.load(), 5);
  bool late = false;
  w.Park("k", 0, Clock::now() + 10s, [&](bool f) { late = f; });  // after Shutdown: at once
  EXPECT_TRUE(late);
}

TEST(LeaseWaitersTest, CapPerKeyIsAParameter) {
  std::atomic<int> at_once{0};
  LeaseWaiters w(10s, /*max_parked_per_key=*/2);
  for (int i = 0; i < 3; ++i) {
    w.Park("k", w.Version("k"), Clock::now() + 10s, [&](bool f) { at_once += f ? 1 : 0; });
  }
  EXPECT_EQ(w.parked(), 2u);
  EXPECT_EQ(at_once.load(), 1);  // the third was answered at once
  w.Shutdown();
}

TEST(LeaseWaitersTest, ForgetDropsTheCounterOfAKeyNobodyWaitsOn) {
  LeaseWaiters w(10s);
  w.Notify("job");
  w.Notify("job");
  EXPECT_EQ(w.Version("job"), 2u);
  w.Forget("job");
  EXPECT_EQ(w.Version("job"), 0u);
  // A key with a parked waiter keeps its counter: its waiter compares with it.
  std::promise<bool> p;
  w.Notify("parked");
  w.Park("parked", w.Version("parked"), Clock::now() + 10s, [&](bool f) { p.set_value(f); });
  w.Forget("parked");
  EXPECT_EQ(w.Version("parked"), 1u);
  w.Notify("parked");
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_FALSE(f.get());
}

}  // namespace
}  // namespace rtgw::api
