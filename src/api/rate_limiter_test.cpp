#include "api/rate_limiter.hpp"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/fake_clock.hpp"

namespace rtgw::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RatePolicy RlPolicy(double per_second, std::int64_t burst) {
  RatePolicy p;
  p.per_second = per_second;
  p.burst = burst;
  return p;
}

TEST(RateLimiterTest, PolicyOfLimits) {
  EXPECT_FALSE(RatePolicy::Of(EffectiveLimits{}));
  EffectiveLimits l;
  l.burst = 7;  // without a rate: not limited
  EXPECT_FALSE(RatePolicy::Of(l));
  l.requests_per_second = 2.5;
  l.burst.reset();
  auto p = RatePolicy::Of(l);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->burst, 3);            // ceil(2.5)
  EXPECT_EQ(p->WindowSeconds(), 2);  // ceil(3 / 2.5)
  l.requests_per_second = 0.25;
  EXPECT_EQ(RatePolicy::Of(l)->burst, 1);  // at least one
  EXPECT_EQ(RatePolicy::Of(l)->WindowSeconds(), 4);
  l.burst = 10;
  l.requests_per_second = 100;
  EXPECT_EQ(RatePolicy::Of(l)->burst, 10);
  EXPECT_EQ(RatePolicy::Of(l)->WindowSeconds(), 1);  // never 0
}

TEST(RateLimiterTest, BurstThenRefusedUntilARefill) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RatePolicy p = RlPolicy(2, 4);  // 2 a second, 4 at once
  for (std::int64_t i = 3; i >= 0; --i) {
    RateDecision d = limiter.Take("t", p);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, i);
    // Tokens left: seconds until full (4 - i tokens at 2/s); none left: until the next token.
    EXPECT_EQ(d.reset_seconds, i > 0 ? (4 - i + 1) / 2 : 1) << i;
  }
  RateDecision refused = limiter.Take("t", p);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.reset_seconds, 1);  // 0.5 s to the next token, rounded up
  clock.Advance(milliseconds(499));
  EXPECT_FALSE(limiter.Take("t", p).allowed);  // a refusal takes nothing
  clock.Advance(milliseconds(1));
  RateDecision one = limiter.Take("t", p);
  EXPECT_TRUE(one.allowed);
  EXPECT_EQ(one.remaining, 0);
  EXPECT_FALSE(limiter.Take("t", p).allowed);
  clock.Advance(seconds(60));  // refills to the burst, not beyond
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.Take("t", p).allowed) << i;
  EXPECT_FALSE(limiter.Take("t", p).allowed);
}

TEST(RateLimiterTest, SlowRatesSayHowLongToWait) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RatePolicy p = RlPolicy(0.1, 1);  // one request per 10 s
  EXPECT_TRUE(limiter.Take("t", p).allowed);
  RateDecision d = limiter.Take("t", p);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reset_seconds, 10);
  clock.Advance(milliseconds(7500));
  EXPECT_EQ(limiter.Take("t", p).reset_seconds, 3);  // 2.5 s, rounded up
}

TEST(RateLimiterTest, TenantsHaveTheirOwnBuckets) {
  FakeClock clock;
  RateLimiter limiter(clock);
  const RatePolicy p = RlPolicy(1, 2);
  EXPECT_TRUE(limiter.Take("a", p).allowed);
  EXPECT_TRUE(limiter.Take("a", p).allowed);
  EXPECT_FALSE(limiter.Take("a", p).allowed);
  EXPECT_TRUE(limiter.Take("b", p).allowed);
  EXPECT_EQ(limiter.Take("b", p).remaining, 0);
}

TEST(RateLimiterTest, ANewPolicyAppliesFromTheNextRequest) {
  FakeClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Take("t", RlPolicy(1, 10)).allowed);
  // A smaller burst caps the bucket; a larger one is reached by refilling, not granted at once.
  clock.Advance(seconds(100));
  EXPECT_EQ(limiter.Take("t", RlPolicy(1, 3)).remaining, 2);
  RateDecision bigger = limiter.Take("t", RlPolicy(1, 50));
  EXPECT_TRUE(bigger.allowed);
  EXPECT_EQ(bigger.remaining, 1);
}

TEST(RateLimiterTest, FullBucketsAreDroppedBySweeps) {
  FakeClock clock;
  RateLimiter limiter(clock, RateLimiter::kDefaultMaxBuckets, seconds(10));
  const RatePolicy p = RlPolicy(1, 5);  // full 5 s after one request
  for (int i = 0; i < 100; ++i) limiter.Take("idle-" + std::to_string(i), p);
  for (int i = 0; i < 5; ++i) limiter.Take("busy", p);  // empty: full 5 s later
  EXPECT_EQ(limiter.BucketCountForTest(), 101u);
  clock.Advance(seconds(4));
  limiter.Take("other", p);  // no sweep yet (10 s interval)
  EXPECT_EQ(limiter.BucketCountForTest(), 102u);
  clock.Advance(seconds(6));
  // The sweep at 10 s drops every bucket full by then; "busy" had used all 5 tokens at 0 s and
  // is full again too, so only the tenant of this request is left.
  limiter.Take("busy", p);
  EXPECT_EQ(limiter.BucketCountForTest(), 1u);
  // Dropping a full bucket changes nothing: a new one starts full.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.Take("idle-0", p).allowed);
}

TEST(RateLimiterTest, AtTheCapTheBucketsNearestToFullGo) {
  FakeClock clock;
  RateLimiter limiter(clock, /*max_buckets=*/128, seconds(3600));
  const RatePolicy p = RlPolicy(1, 1000);  // 1,000 s to fill: no sweep helps
  for (int i = 0; i < 128; ++i) {
    // Tenant i uses i + 1 tokens: the lower i, the nearer to full.
    for (int k = 0; k <= i; ++k) limiter.Take("t" + std::to_string(i), p);
  }
  EXPECT_EQ(limiter.BucketCountForTest(), 128u);
  limiter.Take("newcomer", p);
  EXPECT_EQ(limiter.BucketCountForTest(), 128u - 2 + 1);  // 128 / 64 dropped, one added
  // t0 and t1 were dropped (new buckets: full), t2 was kept (997 tokens left).
  EXPECT_EQ(limiter.Take("t0", p).remaining, 999);
  EXPECT_EQ(limiter.Take("t2", p).remaining, 996);
  // The bound holds under any number of tenants.
  for (int i = 0; i < 10'000; ++i) limiter.Take("flood-" + std::to_string(i), p);
  EXPECT_LE(limiter.BucketCountForTest(), 128u);
}

TEST(RateLimiterTest, ConcurrentTakesNeverGrantMoreThanTheBurst) {
  FakeClock clock;  // no time passes: exactly the burst is granted
  RateLimiter limiter(clock);
  const RatePolicy p = RlPolicy(1, 1000);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Take("t", p).allowed) granted.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1000);
}

}  // namespace
}  // namespace rtgw::api
