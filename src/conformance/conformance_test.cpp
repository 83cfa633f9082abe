// RunConformance itself is exercised end to end against real rtgw processes
// (tests/blackbox/test_conformance.py); here: the token claim reader, checks
// reading scripted answers (a fake HTTP client), and the behaviour against an
// address where nothing listens (the real client).
#include "conformance/conformance.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "crypto/crypto.hpp"
#include "net/curl_http_client.hpp"
#include "net/fake_http_client.hpp"

namespace rtgw::conformance {
namespace {

std::string Token(const std::string& payload) {
  return crypto::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
         crypto::Base64UrlEncode(payload) + ".sig";
}

TEST(TenantFromToken, ReadsTheClaim) {
  EXPECT_EQ(TenantFromToken(Token(R"({"tenant_id":"t-42","sub":"u"})")), "t-42");
  EXPECT_EQ(TenantFromToken(Token(R"({"sub":"u"})")), std::nullopt);
  EXPECT_EQ(TenantFromToken(Token(R"({"tenant_id":7})")), std::nullopt);
  EXPECT_EQ(TenantFromToken("not-a-jwt"), std::nullopt);
  EXPECT_EQ(TenantFromToken("a.%%%.c"), std::nullopt);
}

TEST(RunConformance, UnreachableDeploymentFailsEveryGateWithTheReachabilityDiagnosis) {
  ConformanceOptions o;
  o.base_url = "http://127.0.0.1:1/";  // port 1: nothing listens, connection refused
  o.token = Token(R"({"tenant_id":"t1"})");
  o.other_token = Token(R"({"tenant_id":"t2"})");
  o.timeout = std::chrono::milliseconds(2000);
  net::CurlHttpClient client;
  const auto r = RunConformance(o, client);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.base_url, "http://127.0.0.1:1");
  EXPECT_EQ(r.tenant_id, "t1");
  EXPECT_EQ(r.other_tenant_id, "t2");
  EXPECT_EQ(r.job_id.rfind("job-gate-", 0), 0u);
  ASSERT_EQ(r.gates.size(), 6u);
  for (const auto& g : r.gates) EXPECT_FALSE(g.passed()) << g.title;
  EXPECT_NE(r.gates[0].checks[0].diagnostic.find("--base-url"), std::string::npos);
  EXPECT_NE(r.gates[2].checks[0].detail.find("gate 2"), std::string::npos);
}

constexpr const char* kBase = "http://gw.test";

ConformanceOptions FakeDeploymentOptions() {
  ConformanceOptions o;
  o.base_url = std::string(kBase) + "/";
  o.token = Token(R"({"tenant_id":"t1"})");
  o.other_token = Token(R"({"tenant_id":"t2"})");
  o.job_id = "job-gate-fixed";
  o.proxy_key = "k";
  o.proxy_secret = "s";
  o.timeout = std::chrono::milliseconds(1234);
  return o;
}

// A deployment whose health and OpenAPI answer as given; anything else is a 503.
void AnswerGate1(net::FakeHttpClient& http, int health_status, const std::string& health) {
  http.Answer(std::string(kBase) + "/api/health?deep=1",
              net::FakeHttpClient::Status(health_status, health));
  http.Answer(std::string(kBase) + "/api/openapi.json", net::FakeHttpClient::Status(200, "{}"));
  http.SetDefault([](const net::HttpRequest&) { return net::FakeHttpClient::Status(503); });
}

TEST(RunConformance, Gate1PassesOnADeepHealthyDeploymentAndEveryRequestCarriesProxyAuth) {
  net::FakeHttpClient http;
  AnswerGate1(http, 200, R"({"status":"ok","checks":{"managed_aiida_runtime":{"status":"ok"}}})");
  const ConformanceReport r = RunConformance(FakeDeploymentOptions(), http);
  ASSERT_EQ(r.gates.size(), 6u);
  EXPECT_TRUE(r.gates[0].passed());
  EXPECT_FALSE(r.gates[1].passed());
  const std::vector<net::HttpRequest> sent = http.Requests();
  ASSERT_FALSE(sent.empty());
  for (const net::HttpRequest& q : sent) {
    EXPECT_EQ(q.url.rfind(std::string(kBase) + "/api/", 0), 0u) << q.url;
    EXPECT_EQ(q.timeout, std::chrono::milliseconds(1234));
    EXPECT_NE(std::find(q.headers.begin(), q.headers.end(),
                        std::pair<std::string, std::string>{"Modal-Key", "k"}),
              q.headers.end())
        << q.url;
  }
}

TEST(RunConformance, Gate1ReportsAnUnhealthyStoreWithTheHealthBody) {
  net::FakeHttpClient http;
  AnswerGate1(http, 503, R"({"status":"degraded"})");
  const ConformanceReport r = RunConformance(FakeDeploymentOptions(), http);
  const CheckResult& health = r.gates[0].checks[0];
  EXPECT_FALSE(health.passed);
  EXPECT_EQ(health.http_status, 503);
  EXPECT_NE(health.detail.find("expected 200, got 503"), std::string::npos) << health.detail;
  EXPECT_NE(health.detail.find(R"({"status":"degraded"})"), std::string::npos) << health.detail;
  EXPECT_FALSE(r.gates[0].checks[1].passed) << "no checks.managed_aiida_runtime";
  EXPECT_TRUE(r.gates[0].checks[2].passed) << "the OpenAPI answer was 200";
}

TEST(RunConformance, ASubmitAnswerWithoutItsFieldsIsContractDrift) {
  net::FakeHttpClient http;
  AnswerGate1(http, 200, R"({"status":"ok","checks":{"managed_aiida_runtime":{}}})");
  http.Answer(std::string(kBase) + "/api/runtime/jobs:submit",
              net::FakeHttpClient::Status(202, R"({"job_id":"job-gate-fixed"})"));
  const ConformanceReport r = RunConformance(FakeDeploymentOptions(), http);
  const CheckResult& submit = r.gates[1].checks[0];
  EXPECT_FALSE(submit.passed);
  EXPECT_NE(submit.detail.find("lacks submission_id, accepted_at, trace_id"), std::string::npos)
      << submit.detail;
  EXPECT_NE(submit.diagnostic.find("drifted"), std::string::npos) << submit.diagnostic;
  EXPECT_NE(r.gates[2].checks[0].detail.find("gate 2"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::conformance
