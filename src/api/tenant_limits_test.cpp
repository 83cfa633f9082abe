#include "api/tenant_limits.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::api {
namespace {

TEST(TenantLimitsTest, TenantEntryOverridesTheDefaultFieldByField) {
  auto limits = TenantLimits::Parse(R"({
    "default": {"max_active_jobs": 100, "requests_per_second": 50, "burst": 80},
    "tenants": {
      "t1": {"max_active_jobs": 10, "requests_per_second": 2.5},
      "t2": {"max_active_jobs_per_user": 3, "burst": null},
      "t3": {"requests_per_second": null, "burst": null},
      "t4": {}
    }})");
  ASSERT_TRUE(limits) << limits.error().message;
  EXPECT_EQ(limits->tenant_count(), 4u);
  const EffectiveLimits t1 = limits->For("t1");
  EXPECT_EQ(t1.max_active_jobs, 10);
  EXPECT_EQ(t1.max_active_jobs_per_user, std::nullopt);
  EXPECT_EQ(t1.requests_per_second, 2.5);
  EXPECT_EQ(t1.burst, 80);  // from the default
  const EffectiveLimits t2 = limits->For("t2");
  EXPECT_EQ(t2.max_active_jobs, 100);
  EXPECT_EQ(t2.max_active_jobs_per_user, 3);
  EXPECT_EQ(t2.requests_per_second, 50.0);
  EXPECT_EQ(t2.burst, std::nullopt);  // null: the derived burst
  const EffectiveLimits t3 = limits->For("t3");
  EXPECT_EQ(t3.requests_per_second, std::nullopt);  // null: not rate limited
  EXPECT_EQ(t3.max_active_jobs, 100);
  EXPECT_EQ(limits->For("t4"), limits->For("someone-else"));
  EXPECT_EQ(limits->For("someone-else").max_active_jobs, 100);
}

TEST(TenantLimitsTest, AbsentFieldsAreUnlimited) {
  for (const char* text : {"{}", R"({"default": {}})", R"({"tenants": {}})",
                           R"({"default": {"max_active_jobs": null}})"}) {
    auto limits = TenantLimits::Parse(text);
    ASSERT_TRUE(limits) << text << ": " << limits.error().message;
    EXPECT_EQ(limits->For("t"), EffectiveLimits{}) << text;
  }
  EXPECT_EQ(TenantLimits().For("t"), EffectiveLimits{});
}

TEST(TenantLimitsTest, ErrorsNameTheField) {
  struct Case {
    const char* text;
    const char* message_start;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"defaults": {}})", "defaults: unknown key"},
      {R"({"default": 5})", "default: must be an object"},
      {R"({"default": {"max_jobs": 5}})", "default.max_jobs: unknown field"},
      {R"({"default": {"max_active_jobs": 0}})", "default.max_active_jobs: must be an integer"},
      {R"({"default": {"max_active_jobs": -3}})", "default.max_active_jobs: must be an integer"},
      {R"({"default": {"max_active_jobs": 1.5}})", "default.max_active_jobs: must be an integer"},
      {R"({"default": {"max_active_jobs": "10"}})", "default.max_active_jobs: must be an integer"},
      {R"({"default": {"max_active_jobs": 1000000001}})",
       "default.max_active_jobs: must be an integer from 1 to 1000000000"},
      {R"({"tenants": {"t": {"max_active_jobs_per_user": true}}})",
       "tenants.t.max_active_jobs_per_user: must be an integer"},
      {R"({"tenants": {"t": {"requests_per_second": 0}}})",
       "tenants.t.requests_per_second: must be a number from 0.001"},
      {R"({"tenants": {"t": {"requests_per_second": -1}}})",
       "tenants.t.requests_per_second: must be a number"},
      {R"({"tenants": {"t": {"requests_per_second": 1e7}}})",
       "tenants.t.requests_per_second: must be a number"},
      {R"({"tenants": {"t": {"requests_per_second": "fast"}}})",
       "tenants.t.requests_per_second: must be a number"},
      {R"({"tenants": {"t": {"requests_per_second": 5, "burst": 0}}})",
       "tenants.t.burst: must be an integer"},
      {R"({"tenants": {"t": {"burst": 5}}})", "tenants.t.burst: is set but no requests_per_second"},
      {R"({"default": {"burst": 5}})", "default.burst: is set but no requests_per_second"},
      {R"({"default": {"burst": 5, "requests_per_second": 1}, "tenants": {"t": {"requests_per_second": null}}})",
       "tenants.t.burst: is set but no requests_per_second"},
      {R"({"tenants": []})", "tenants: must be an object"},
      {R"({"tenants": {"t": 3}})", "tenants.t: must be an object"},
      {R"({"tenants": {"": {}}})", "tenants.: a tenant_id must be 1 to 256 characters"},
      {R"({"tenants": {"a\u0001b": {}}})",
       "tenants.a\x01"
       "b: a tenant_id must be"},
  };
  for (const Case& c : cases) {
    auto limits = TenantLimits::Parse(c.text);
    ASSERT_FALSE(limits) << c.text;
    EXPECT_EQ(limits.error().code, ErrorCode::kInvalidArgument) << c.text;
    EXPECT_EQ(limits.error().message.rfind(c.message_start, 0), 0u)
        << c.text << " -> " << limits.error().message;
  }
}

TEST(TenantLimitsTest, LoadFileNamesThePathFirst) {
  TempDir dir("rtgw-tenant-limits-test");
  const std::string good = (dir.path() / "good.json").string();
  const std::string bad = (dir.path() / "bad.json").string();
  std::ofstream(good) << R"({"default": {"requests_per_second": 3}})";
  std::ofstream(bad) << R"({"default": {"requests_per_second": "x"}})";
  auto loaded = LoadTenantLimitsFile(good);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->For("t").requests_per_second, 3.0);
  auto refused = LoadTenantLimitsFile(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.rfind(bad + ": default.requests_per_second: must be", 0), 0u)
      << refused.error().message;
  auto missing = LoadTenantLimitsFile((dir.path() / "none.json").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("none.json: cannot read"), std::string::npos);
}

TEST(TenantLimitsTest, LiveLimitsReadersSeeOneWholeVersion) {
  auto a = TenantLimits::Parse(R"({"default": {"max_active_jobs": 1, "burst": 1,
                                   "requests_per_second": 1}})");
  auto b = TenantLimits::Parse(R"({"default": {"max_active_jobs": 2, "burst": 2,
                                   "requests_per_second": 2}})");
  ASSERT_TRUE(a && b);
  LiveTenantLimits live(*a);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  readers.reserve(4);
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const EffectiveLimits l = live.Get()->For("t");
        if (l.max_active_jobs != l.burst) torn.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) live.Replace(i % 2 == 0 ? *b : *a);
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(live.Get()->For("t").max_active_jobs, 1);
}

}  // namespace
}  // namespace rtgw::api
