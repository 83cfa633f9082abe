#include "api/routes.hpp"

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

using Kind = RouteMatch::Kind;

TEST(RoutesTest, MatchesEveryRuntimeRoute) {
  struct Case {
    const char* method;
    const char* path;
    RouteId id;
    const char* job_id;
  };
  const Case cases[] = {
      {"POST", "/api/runtime/jobs:submit", RouteId::kSubmitJob, ""},
      {"POST", "/api/runtime/jobs/job-1/events", RouteId::kPostEvent, "job-1"},
      {"GET", "/api/runtime/jobs/job-1", RouteId::kGetJob, "job-1"},
      {"GET", "/api/runtime/jobs/job-1/detail", RouteId::kGetJobDetail, "job-1"},
      {"GET", "/api/runtime/jobs/job-1/projection", RouteId::kGetProjection, "job-1"},
      {"GET", "/api/runtime/jobs/a%40b", RouteId::kGetJob, "a@b"},
      {"GET", "/api/health", RouteId::kHealth, ""},
      {"GET", "/metrics", RouteId::kMetrics, ""},
      {"GET", "/api/openapi.json", RouteId::kOpenApi, ""},
      {"DELETE", "/api/zpe/jobs/1", RouteId::kRetiredZpe, ""},
      {"GET", "/api/zpe", RouteId::kRetiredZpe, ""},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    ASSERT_EQ(m.kind, Kind::kMatched) << c.path;
    EXPECT_EQ(m.route->id, c.id) << c.path;
    EXPECT_EQ(m.job_id, c.job_id) << c.path;
  }
}

TEST(RoutesTest, WrongMethodListsAllowed) {
  RouteMatch m = MatchRoute("DELETE", "/api/runtime/jobs/x/events");
  EXPECT_EQ(m.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_EQ(m.path_template, "/api/runtime/jobs/{job_id}/events");
  EXPECT_EQ(MatchRoute("GET", "/api/runtime/jobs:submit").allow, "POST");
}

TEST(RoutesTest, UnknownPathsAreNotFound) {
  const char* paths[] = {"/",
                         "/api/runtime/jobs/",
                         "/api/runtime/jobs/a/b",
                         "/api/runtime/jobs/x/detail/more",
                         "/api/runtime/jobs/%2Fetc/detail",
                         "/api/runtime/jobs/%zz",
                         "/api/healthz",
                         "/api/zpex"};
  for (const char* p : paths) {
    EXPECT_EQ(MatchRoute("GET", p).kind, Kind::kNotFound) << p;
  }
}

}  // namespace
}  // namespace rtgw::api
