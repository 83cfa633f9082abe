#include "api/tenant_limits.hpp"

#include <cmath>
#include <fstream>

#include <boost/json.hpp>

#include "api/schemas.hpp"
#include "common/text.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

// One entry as written: a field absent (nullopt), explicitly unlimited (null), or set.
template <typename T>
using Field = std::optional<std::optional<T>>;

struct Entry {
  Field<std::int64_t> max_active_jobs;
  Field<std::int64_t> max_active_jobs_per_user;
  Field<double> requests_per_second;
  Field<std::int64_t> burst;
};

Error Bad(const std::string& path, std::string_view why) {
  return InvalidArgument(path + ": " + std::string(why));
}

Result<Field<std::int64_t>> Count(const json::object& o, std::string_view key,
                                  const std::string& path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Field<std::int64_t>();
  if (v->is_null()) return Field<std::int64_t>(std::optional<std::int64_t>());
  std::optional<std::int64_t> n;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(kMaxLimitCount)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  }
  if (!n || *n < 1 || *n > kMaxLimitCount) {
    return Bad(
        path + "." + std::string(key),
        "must be an integer from 1 to " + std::to_string(kMaxLimitCount) + " (or null: unlimited)");
  }
  return Field<std::int64_t>(n);
}

Result<Field<double>> Rate(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Field<double>();
  if (v->is_null()) return Field<double>(std::optional<double>());
  std::optional<double> x;
  if (v->is_int64()) x = static_cast<double>(v->get_int64());
  if (v->is_uint64()) x = static_cast<double>(v->get_uint64());
  if (v->is_double()) x = v->get_double();
  if (!x || !std::isfinite(*x) || *x < kMinRequestsPerSecond || *x > kMaxRequestsPerSecond) {
    return Bad(path + "." + std::string(key),
               "must be a number from 0.001 to 1000000 (or null: unlimited)");
  }
  return Field<double>(x);
}

Result<Entry> ParseEntry(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Bad(path, "must be an object");
  const json::object& o = v.get_object();
  for (const auto& kv : o) {
    if (kv.key() != "max_active_jobs" && kv.key() != "max_active_jobs_per_user" &&
        kv.key() != "requests_per_second" && kv.key() != "burst") {
      return Bad(path + "." + std::string(kv.key()),
                 "unknown field (expected max_active_jobs, max_active_jobs_per_user, "
                 "requests_per_second, burst)");
    }
  }
  Entry e;
  auto active = Count(o, "max_active_jobs", path);
  if (!active) return active.error();
  e.max_active_jobs = *active;
  auto per_user = Count(o, "max_active_jobs_per_user", path);
  if (!per_user) return per_user.error();
  e.max_active_jobs_per_user = *per_user;
  auto rate = Rate(o, "requests_per_second", path);
  if (!rate) return rate.error();
  e.requests_per_second = *rate;
  auto burst = Count(o, "burst", path);
  if (!burst) return burst.error();
  e.burst = *burst;
  return e;
}

template <typename T>
void Override(std::optional<T>& base, const Field<T>& over) {
  if (over) base = *over;
}

EffectiveLimits Merge(EffectiveLimits base, const Entry& over) {
  Override(base.max_active_jobs, over.max_active_jobs);
  Override(base.max_active_jobs_per_user, over.max_active_jobs_per_user);
  Override(base.requests_per_second, over.requests_per_second);
  Override(base.burst, over.burst);
  return base;
}

// A burst without a rate limits nothing: most likely a typo or a forgotten field.
Status CheckBurst(const EffectiveLimits& limits, const std::string& path) {
  if (limits.burst && !limits.requests_per_second) {
    return Bad(path + ".burst", "is set but no requests_per_second applies (here or in default)");
  }
  return Ok{};
}

}  // namespace

Result<TenantLimits> TenantLimits::Parse(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value doc = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("not valid JSON: " + ec.message());
  if (!doc.is_object()) {
    return InvalidArgument("must be a JSON object {\"default\": {...}, \"tenants\": {...}}");
  }
  const json::object& root = doc.get_object();
  for (const auto& kv : root) {
    if (kv.key() != "default" && kv.key() != "tenants") {
      return Bad(std::string(kv.key()), "unknown key (expected default, tenants)");
    }
  }
  TenantLimits limits;
  if (const json::value* d = root.if_contains("default"); d != nullptr) {
    auto entry = ParseEntry(*d, "default");
    if (!entry) return entry.error();
    limits.default_ = Merge({}, *entry);
    if (Status s = CheckBurst(limits.default_, "default"); !s) return s.error();
  }
  if (const json::value* t = root.if_contains("tenants"); t != nullptr) {
    if (!t->is_object()) return Bad("tenants", "must be an object of tenant_id -> limits");
    if (t->get_object().size() > kMaxLimitTenants) {
      return Bad("tenants", "has more than " + std::to_string(kMaxLimitTenants) + " entries");
    }
    for (const auto& kv : t->get_object()) {
      const std::string tenant(kv.key());
      const std::string path = "tenants." + tenant;
      if (tenant.empty() || static_cast<std::int64_t>(tenant.size()) > schema::kIdMaxChars ||
          HasControlChars(tenant)) {
        return Bad(path, "a tenant_id must be 1 to 256 characters without control characters");
      }
      auto entry = ParseEntry(kv.value(), path);
      if (!entry) return entry.error();
      EffectiveLimits merged = Merge(limits.default_, *entry);
      if (Status s = CheckBurst(merged, path); !s) return s.error();
      limits.tenants_.emplace(tenant, merged);
    }
  }
  return limits;
}

EffectiveLimits TenantLimits::For(std::string_view tenant_id) const {
  if (auto it = tenants_.find(tenant_id); it != tenants_.end()) return it->second;
  return default_;
}

Result<TenantLimits> LoadTenantLimitsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot read the file");
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxLimitsFileBytes) {
      return InvalidArgument(path + ": larger than 16 MiB");
    }
  }
  if (in.bad()) return InvalidArgument(path + ": cannot read the file");
  auto limits = TenantLimits::Parse(text);
  if (!limits) return InvalidArgument(path + ": " + limits.error().message);
  return limits;
}

}  // namespace rtgw::api
