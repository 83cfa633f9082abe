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
      {"POST", "/api/runtime/jobs/job-1:cancel", RouteId::kCancelJob, "job-1"},
      {"POST", "/api/onboarding/dry-run", RouteId::kOnboardingDryRun, ""},
      {"GET", "/api/runtime/jobs", RouteId::kListJobs, ""},
      {"GET", "/api/runtime/jobs:watch", RouteId::kWatchJobs, ""},
      {"GET", "/api/runtime/validations", RouteId::kListValidations, ""},
      {"GET", "/api/runtime/validations/vr-1", RouteId::kGetValidation, "vr-1"},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    ASSERT_EQ(m.kind, Kind::kMatched) << c.path;
    EXPECT_EQ(m.route->id, c.id) << c.path;
    EXPECT_EQ(m.job_id, c.job_id) << c.path;
  }
}

TEST(RoutesTest, NodeRoutesTakeNodeAndLeaseIds) {
  RouteMatch hb = MatchRoute("POST", "/api/runtime/nodes/n%2D1/heartbeat");
  ASSERT_EQ(hb.kind, Kind::kMatched);
  EXPECT_EQ(hb.route->id, RouteId::kNodeHeartbeat);
  EXPECT_EQ(hb.node_id, "n-1");
  RouteMatch acq = MatchRoute("POST", "/api/runtime/nodes/n1/leases:acquire");
  ASSERT_EQ(acq.kind, Kind::kMatched);
  EXPECT_EQ(acq.route->id, RouteId::kAcquireLeases);
  EXPECT_EQ(acq.node_id, "n1");
  RouteMatch renew = MatchRoute("POST", "/api/runtime/nodes/n1/leases/abc-123:renew");
  ASSERT_EQ(renew.kind, Kind::kMatched);
  EXPECT_EQ(renew.route->id, RouteId::kRenewLease);
  EXPECT_EQ(renew.node_id, "n1");
  EXPECT_EQ(renew.lease_id, "abc-123");
  EXPECT_EQ(renew.path_template, "/api/runtime/nodes/{node_id}/leases/{lease_id}:renew");
  RouteMatch release = MatchRoute("POST", "/api/runtime/nodes/n1/leases/abc:release");
  ASSERT_EQ(release.kind, Kind::kMatched);
  EXPECT_EQ(release.route->id, RouteId::kReleaseLease);
  EXPECT_EQ(release.lease_id, "abc");
  // A verb without a value, an unknown verb, or a missing segment: no route.
  EXPECT_EQ(MatchRoute("POST", "/api/runtime/nodes/n1/leases/:renew").kind, Kind::kNotFound);
  EXPECT_EQ(MatchRoute("POST", "/api/runtime/nodes/n1/leases/a:steal").kind, Kind::kNotFound);
  EXPECT_EQ(MatchRoute("POST", "/api/runtime/nodes//heartbeat").kind, Kind::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/api/runtime/nodes/n1/heartbeat").kind, Kind::kMethodNotAllowed);
  // The cancel verb is POST only; GET of "x:cancel" is a (missing) job named so.
  RouteMatch get_cancel = MatchRoute("GET", "/api/runtime/jobs/x:cancel");
  ASSERT_EQ(get_cancel.kind, Kind::kMatched);
  EXPECT_EQ(get_cancel.route->id, RouteId::kGetJob);
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

// Found by fuzz/router (corpus: crash-raw-nul-in-parameter): "%00" was refused but a raw NUL
// byte was taken into the job id.
TEST(RoutesTest, NulInAParameterIsNotFoundEscapedOrRaw) {
  EXPECT_EQ(MatchRoute("GET", "/api/runtime/jobs/a%00b").kind, Kind::kNotFound);
  EXPECT_EQ(MatchRoute("GET", std::string_view("/api/runtime/jobs/a\0b", 21)).kind,
            Kind::kNotFound);
}

}  // namespace
}  // namespace rtgw::api
