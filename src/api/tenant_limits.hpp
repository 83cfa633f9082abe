#ifndef RTGW_API_TENANT_LIMITS_HPP_
#define RTGW_API_TENANT_LIMITS_HPP_

// The limits file of `rtgw serve --limits-file` (docs/contracts/limits.md "Quotas and rate
// limits"): per-tenant quotas and request rates, a default entry and one entry per tenant that
// overrides it field by field.
//
//   {"default": {"requests_per_second": 50, "burst": 100},
//    "tenants": {"tenant-a": {"max_active_jobs": 10, "requests_per_second": 5.5}}}

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.hpp"

namespace rtgw::api {

// Bounds of the file's values; beyond them the file is refused, naming the field.
inline constexpr std::int64_t kMaxLimitCount = 1'000'000'000;  // max_active_jobs*, burst
inline constexpr double kMinRequestsPerSecond = 0.001;         // one request per 1,000 s
inline constexpr double kMaxRequestsPerSecond = 1'000'000;
inline constexpr std::size_t kMaxLimitTenants = 100'000;              // entries of "tenants"
inline constexpr std::size_t kMaxLimitsFileBytes = 16 * 1024 * 1024;  // read at start and SIGHUP

// The limits that apply to one tenant. An empty field is unlimited.
struct EffectiveLimits {
  std::optional<std::int64_t> max_active_jobs;           // submitted + queued + running
  std::optional<std::int64_t> max_active_jobs_per_user;  // the same, per requested_by.user_id
  std::optional<double> requests_per_second;             // token bucket refill rate
  std::optional<std::int64_t> burst;                     // token bucket capacity

  bool operator==(const EffectiveLimits&) const = default;
};

// A parsed limits file. Immutable once built; safe for concurrent use.
class TenantLimits {
 public:
  // No limits at all (no --limits-file).
  TenantLimits() = default;

  // The file's text -> its limits. InvalidArgument naming the field ("tenants.t1.burst: must be
  // an integer from 1 to 1000000000") for invalid JSON, an unknown key, a value of the wrong type
  // or out of bounds, and for a burst without any requests_per_second to go with it. In a tenant
  // entry a field set to null is unlimited even when the default sets it; in "default", null is
  // the same as absent. Pure.
  static Result<TenantLimits> Parse(std::string_view text);

  // The default's fields, each replaced by the tenant's entry where that names it.
  EffectiveLimits For(std::string_view tenant_id) const;

  std::size_t tenant_count() const { return tenants_.size(); }

 private:
  struct Hash {
    // NOLINTNEXTLINE(readability-identifier-naming): the standard library looks up this name
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  EffectiveLimits default_;
  std::unordered_map<std::string, EffectiveLimits, Hash, std::equal_to<>> tenants_;
};

// Reads and parses the limits file at `path`; the error names the path, then the problem
// ("/etc/rtgw/limits.json: tenants.t1.burst: must be ..."; "cannot read", "larger than
// 16 MiB"). Blocks on the file read.
Result<TenantLimits> LoadTenantLimitsFile(const std::string& path);

// The limits in force, replaced whole on a reload (SIGHUP): a reader gets the old or the new
// TenantLimits, never a mix. Thread-safe: Get and Replace may run concurrently from any thread.
class LiveTenantLimits {
 public:
  explicit LiveTenantLimits(TenantLimits initial = {})
      : current_(std::make_shared<const TenantLimits>(std::move(initial))) {}

  std::shared_ptr<const TenantLimits> Get() const { return current_.load(); }
  void Replace(TenantLimits next) {
    current_.store(std::make_shared<const TenantLimits>(std::move(next)));
  }

 private:
  std::atomic<std::shared_ptr<const TenantLimits>> current_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_TENANT_LIMITS_HPP_
