#include "conformance/report.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::conformance {
namespace {

TEST(Diagnose, SeedMeanings) {
  EXPECT_NE(Diagnose("submit", 401, "unauthenticated").find("JWT claims mismatch"),
            std::string::npos);
  EXPECT_NE(Diagnose("proxy", 401, "proxy_unauthorized").find("proxy"), std::string::npos);
  EXPECT_NE(Diagnose("submit", 403, "tenant_mismatch").find("tenant_id"), std::string::npos);
  EXPECT_NE(Diagnose("events", 409, "event_conflict").find("duplicated event_id"),
            std::string::npos);
  EXPECT_NE(Diagnose("read", 404, "not_found").find("wrong tenant scope"), std::string::npos);
  EXPECT_NE(Diagnose("projection", 200, "").find("relay logs"), std::string::npos);
  EXPECT_NE(Diagnose("health", 0, "").find("--base-url"), std::string::npos);
  EXPECT_NE(Diagnose("submit", 409, "job_id_conflict").find("--job-id"), std::string::npos);
}

ConformanceReport Sample() {
  ConformanceReport r;
  r.base_url = "http://127.0.0.1:1";
  r.tenant_id = "t1";
  r.other_tenant_id = "t2";
  r.job_id = "job-gate-x";
  GateResult g1{1, "reachability", {}};
  CheckResult ok;
  ok.gate = 1;
  ok.name = "health";
  ok.passed = true;
  ok.http_status = 200;
  g1.checks.push_back(ok);
  GateResult g2{2, "submit", {}};
  CheckResult bad;
  bad.gate = 2;
  bad.name = "submit -> 202";
  bad.http_status = 401;
  bad.error_code = "unauthenticated";
  bad.detail = "expected 202, got 401";
  bad.diagnostic = Diagnose("submit", 401, "unauthenticated");
  g2.checks.push_back(bad);
  r.gates = {g1, g2};
  return r;
}

TEST(Report, PassedNeedsEveryCheck) {
  auto r = Sample();
  EXPECT_FALSE(r.passed());
  r.gates[1].checks[0].passed = true;
  EXPECT_TRUE(r.passed());
  EXPECT_FALSE(ConformanceReport{}.passed());
}

TEST(Report, TableShowsFailureWithDiagnosis) {
  const std::string t = FormatTable(Sample());
  EXPECT_NE(t.find("PASS"), std::string::npos);
  EXPECT_NE(t.find("FAIL"), std::string::npos);
  EXPECT_NE(t.find("observed:  expected 202, got 401"), std::string::npos);
  EXPECT_NE(t.find("diagnosis: 401/403: JWT claims mismatch"), std::string::npos);
  EXPECT_NE(t.find("CONFORMANCE FAIL: 1 of 2 checks failed"), std::string::npos);
}

TEST(Report, JsonRoundTrips) {
  const auto v = boost::json::parse(ReportJson(Sample()));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("format").as_string(), "rtgw-conformance-report/v1");
  EXPECT_FALSE(o.at("passed").as_bool());
  EXPECT_TRUE(o.at("sink_log").is_null());
  EXPECT_TRUE(o.at("convex_url").is_null());
  const auto& gates = o.at("gates").as_array();
  ASSERT_EQ(gates.size(), 2u);
  const auto& check = gates[1].at("checks").as_array()[0].as_object();
  EXPECT_EQ(check.at("http_status").as_int64(), 401);
  EXPECT_EQ(check.at("error_code").as_string(), "unauthenticated");
  EXPECT_FALSE(check.at("diagnostic").as_string().empty());
  EXPECT_TRUE(gates[0].at("checks").as_array()[0].at("diagnostic").is_null());
}

}  // namespace
}  // namespace rtgw::conformance
