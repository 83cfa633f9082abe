#include "api/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rtgw::api {
namespace {

using Seconds = std::chrono::duration<double>;

// Whole seconds, rounded up, at least 1.
std::int64_t CeilSeconds(double seconds) {
  // The bounds of the limits file keep this far below int64 (burst 1e9 / rate 0.001 = 1e12 s).
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(seconds)));
}

}  // namespace

std::optional<RatePolicy> RatePolicy::Of(const EffectiveLimits& limits) {
  if (!limits.requests_per_second) return std::nullopt;
  RatePolicy p;
  p.per_second = *limits.requests_per_second;
  p.burst = limits.burst
                ? *limits.burst
                : std::max<std::int64_t>(
                      1, static_cast<std::int64_t>(std::ceil(*limits.requests_per_second)));
  return p;
}

std::int64_t RatePolicy::WindowSeconds() const {
  return CeilSeconds(static_cast<double>(burst) / per_second);
}

rtgw::Clock::TimePoint RateLimiter::Bucket::FullAt() const {
  const double missing = static_cast<double>(policy.burst) - tokens;
  if (missing <= 0) return updated;
  return updated + std::chrono::duration_cast<rtgw::Clock::TimePoint::duration>(
                       Seconds(missing / policy.per_second));
}

RateLimiter::RateLimiter(const rtgw::Clock& clock, std::size_t max_buckets,
                         std::chrono::seconds sweep_interval)
    : clock_(clock),
      max_buckets_(std::max<std::size_t>(1, max_buckets)),
      sweep_interval_(sweep_interval),
      last_sweep_(clock.Now()) {}

RateDecision RateLimiter::Take(std::string_view tenant_id, const RatePolicy& policy) {
  const rtgw::Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  if (now - last_sweep_ >= sweep_interval_) SweepLocked(now);
  auto it = buckets_.find(tenant_id);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_buckets_) MakeRoomLocked(now);
    Bucket fresh;
    fresh.tokens = static_cast<double>(policy.burst);
    fresh.updated = now;
    fresh.policy = policy;
    it = buckets_.emplace(std::string(tenant_id), fresh).first;
  } else {
    Bucket& b = it->second;
    // A reloaded policy applies at once: the time since the last request refills at the new
    // rate, up to the new burst.
    const double elapsed = std::max(0.0, Seconds(now - b.updated).count());
    b.tokens = std::min(static_cast<double>(policy.burst), b.tokens + elapsed * policy.per_second);
    b.updated = now;
    b.policy = policy;
  }
  Bucket& b = it->second;
  RateDecision d;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    d.allowed = true;
    d.remaining = static_cast<std::int64_t>(std::floor(b.tokens));
  }
  if (d.remaining > 0) {
    d.reset_seconds =
        CeilSeconds((static_cast<double>(policy.burst) - b.tokens) / policy.per_second);
  } else {
    d.reset_seconds = CeilSeconds((1 - b.tokens) / policy.per_second);
  }
  return d;
}

void RateLimiter::SweepLocked(rtgw::Clock::TimePoint now) {
  last_sweep_ = now;
  std::erase_if(buckets_, [now](const auto& entry) { return entry.second.FullAt() <= now; });
}

void RateLimiter::MakeRoomLocked(rtgw::Clock::TimePoint now) {
  SweepLocked(now);
  if (buckets_.size() < max_buckets_) return;
  std::vector<std::pair<rtgw::Clock::TimePoint, std::string>> by_full;
  by_full.reserve(buckets_.size());
  for (const auto& [tenant, bucket] : buckets_) by_full.emplace_back(bucket.FullAt(), tenant);
  const std::size_t drop = std::max<std::size_t>(1, by_full.size() / 64);
  std::nth_element(by_full.begin(), by_full.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                   by_full.end());
  for (std::size_t i = 0; i < drop; ++i) buckets_.erase(by_full[i].second);
}

std::size_t RateLimiter::BucketCountForTest() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace rtgw::api
