#ifndef RTGW_API_RATE_LIMITER_HPP_
#define RTGW_API_RATE_LIMITER_HPP_

// Per-tenant request rate limits (docs/contracts/limits.md "Rate limit"): one token bucket per
// tenant, `requests_per_second` refill and `burst` capacity; every request it lets through takes
// one token.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/tenant_limits.hpp"
#include "common/clock.hpp"

namespace rtgw::api {

// A tenant's bucket: refilled at `per_second` tokens a second, holding at most `burst`.
struct RatePolicy {
  double per_second = 1;
  std::int64_t burst = 1;

  // The policy of `limits`: nullopt without requests_per_second (not limited); burst defaults
  // to max(1, ceil(requests_per_second)).
  static std::optional<RatePolicy> Of(const EffectiveLimits& limits);
  // w of RateLimit-Policy: seconds an empty bucket takes to fill, ceil(burst / per_second), >= 1.
  std::int64_t WindowSeconds() const;
};

// The answer for one request.
struct RateDecision {
  bool allowed = false;
  // Whole tokens left after this request (r of the RateLimit field).
  std::int64_t remaining = 0;
  // Seconds, rounded up: until the bucket is full again while tokens remain, else until the
  // next token (t of the RateLimit field; >= 1 then, and the Retry-After of a refusal).
  std::int64_t reset_seconds = 0;
};

// Token buckets by tenant. A bucket is created full on a tenant's first request. Memory is
// bounded two ways:
//  - a bucket that would be full again is the same as no bucket, so a sweep (at most once per
//    `sweep_interval` of the clock, during a Take) drops every bucket full by then: what is kept
//    is the tenants that made a request within their bucket's fill time (burst / rate) plus one
//    sweep interval;
//  - at `max_buckets` buckets, a new tenant first triggers that sweep and, when still at the cap,
//    drops the 1/64 of the buckets nearest to full (those tenants get back at most the tokens
//    they had not yet regained: a burst early, never more).
// Each bucket is about 100 bytes plus the tenant id, so the default cap bounds memory at about
// 40 MB.
//
// Thread-safety: safe for concurrent use (one mutex; a Take is a hash lookup and a few floating
// point operations). `*clock` must outlive this object.
class RateLimiter {
 public:
  static constexpr std::size_t kDefaultMaxBuckets = 100'000;
  static constexpr std::chrono::seconds kDefaultSweepInterval{10};

  explicit RateLimiter(const rtgw::Clock& clock, std::size_t max_buckets = kDefaultMaxBuckets,
                       std::chrono::seconds sweep_interval = kDefaultSweepInterval);

  // Takes a token from `tenant_id`'s bucket under `policy` if there is one. A policy changed by
  // a reload applies from the tenant's next request: the bucket keeps its tokens, capped at the
  // new burst, and the time since the last request refills at the new rate.
  RateDecision Take(std::string_view tenant_id, const RatePolicy& policy);

  std::size_t BucketCountForTest() const;

 private:
  struct Bucket {
    double tokens = 0;
    rtgw::Clock::TimePoint updated;
    RatePolicy policy;
    rtgw::Clock::TimePoint FullAt() const;
  };
  struct Hash {
    // NOLINTNEXTLINE(readability-identifier-naming): the standard library looks up this name
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void SweepLocked(rtgw::Clock::TimePoint now);
  void MakeRoomLocked(rtgw::Clock::TimePoint now);

  const rtgw::Clock& clock_;
  const std::size_t max_buckets_;
  const std::chrono::seconds sweep_interval_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;  // GUARDED_BY(mu_)
  rtgw::Clock::TimePoint last_sweep_;                                       // GUARDED_BY(mu_)
};

}  // namespace rtgw::api

#endif  // RTGW_API_RATE_LIMITER_HPP_
