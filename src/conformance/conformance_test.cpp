// RunConformance itself is exercised end to end against real rtgw processes
// (tests/blackbox/test_conformance.py; with --convex-url against the Convex
// receiver, clients/convex/tests/e2e.test.ts); here: the read model history
// parser and comparison of gate 6, the token claim reader, checks
// reading scripted answers (a fake HTTP client), and the behaviour against an
// address where nothing listens (the real client).
#include "conformance/conformance.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "conformance/read_model.hpp"
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

// ---- gate 6 against the product read model (read_model.hpp) ----

const std::vector<ProjectionStep> kServedSteps = {
    {1, "submitted", "queued"}, {2, "running", "running"}, {3, "completed", "finished"}};

TEST(ReadModel, QueryBodyIsConvexHttpQueryApi) {
  const auto v = boost::json::parse(ReadModelQueryBody("rtgw:history", "t1", "job-1"));
  EXPECT_EQ(
      v, boost::json::parse(R"({"path":"rtgw:history","args":{"tenant_id":"t1","job_id":"job-1"},)"
                            R"("format":"json"})"));
}

TEST(ReadModel, ParsesTheAppliedHistoryOfASuccessAnswer) {
  // Convex numbers are float64: a version may come as 2.0.
  auto steps = ParseReadModelHistory(
      R"({"status":"success","value":[)"
      R"({"projection_version":1,"state":"submitted","status":"queued","webhook_id":"pu_1"},)"
      R"({"projection_version":2.0,"state":"running","status":"running"}],"logLines":[]})");
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0], (ProjectionStep{1, "submitted", "queued"}));
  EXPECT_EQ((*steps)[1], (ProjectionStep{2, "running", "running"}));
  auto empty = ParseReadModelHistory(R"({"status":"success","value":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ReadModel, AQueryErrorOrAnotherShapeIsAnErrorNamingIt) {
  auto failed = ParseReadModelHistory(
      R"({"status":"error","errorMessage":"Could not find public function for 'rtgw:histroy'"})");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("Could not find public function"), std::string::npos);
  auto not_json = ParseReadModelHistory("<html>502</html>");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.error().message.find("not a JSON object"), std::string::npos);
  auto not_list = ParseReadModelHistory(R"({"status":"success","value":{"job_id":"j"}})");
  ASSERT_FALSE(not_list.ok());
  EXPECT_NE(not_list.error().message.find("not a list"), std::string::npos);
  auto fractional =
      ParseReadModelHistory(R"({"status":"success","value":[{"projection_version":1.5}]})");
  ASSERT_FALSE(fractional.ok());
  EXPECT_NE(fractional.error().message.find("applied update 1"), std::string::npos);
}

TEST(ReadModel, TheServedSequenceAppliedOnceInOrderIsAligned) {
  EXPECT_EQ(CompareAppliedHistory(kServedSteps, kServedSteps), "");
}

TEST(ReadModel, AVersionAppliedTwiceIsAMismatchUnlikeARedeliveryToASink) {
  // What a sink may receive (a redelivery), a read model must not apply.
  auto twice = kServedSteps;
  twice.insert(twice.begin() + 2, kServedSteps[1]);
  EXPECT_EQ(CompareProjectionSequences(kServedSteps, twice), "");
  const std::string m = CompareAppliedHistory(kServedSteps, twice);
  EXPECT_NE(m.find("applied version 2 after version 2"), std::string::npos) << m;
}

TEST(ReadModel, AnOlderVersionAppliedAfterANewerOneIsAMismatch) {
  // A receiver without the version check applies a late retry of version 1.
  auto backwards = kServedSteps;
  backwards.push_back(kServedSteps[0]);
  const std::string m = CompareAppliedHistory(kServedSteps, backwards);
  EXPECT_NE(m.find("applied version 1 after version 3"), std::string::npos) << m;
}

TEST(ReadModel, AMissingOrChangedOrUnknownVersionIsAMismatch) {
  EXPECT_NE(CompareAppliedHistory(kServedSteps, {kServedSteps[0], kServedSteps[2]})
                .find("never received version 2"),
            std::string::npos);
  auto changed = kServedSteps;
  changed[1] = {2, "failed", "failed"};
  EXPECT_NE(CompareAppliedHistory(kServedSteps, changed).find("version 2 differs"),
            std::string::npos);
  auto extra = kServedSteps;
  extra.push_back({4, "completed", "finished"});
  EXPECT_NE(CompareAppliedHistory(kServedSteps, extra).find("never served"), std::string::npos);
  EXPECT_NE(CompareAppliedHistory(kServedSteps, {}).find("never received version 1"),
            std::string::npos);
}

TEST(RunConformance, WithoutConvexUrlTheReadModelCheckIsSkippedAndSaysSo) {
  net::FakeHttpClient http;
  AnswerGate1(http, 200, R"({"status":"ok","checks":{"managed_aiida_runtime":{}}})");
  const ConformanceReport r = RunConformance(FakeDeploymentOptions(), http);
  ASSERT_EQ(r.gates.size(), 6u);
  const auto& checks = r.gates[5].checks;
  const auto it = std::find_if(checks.begin(), checks.end(), [](const CheckResult& c) {
    return c.name.find("--convex-url") != std::string::npos;
  });
  ASSERT_NE(it, checks.end());
  EXPECT_TRUE(it->skipped);
  EXPECT_TRUE(r.convex_url.empty());
}

TEST(RunConformance, AConvexUrlWithoutASubmissionSendsNothingThereAndSaysWhy) {
  net::FakeHttpClient http;
  AnswerGate1(http, 200, R"({"status":"ok","checks":{"managed_aiida_runtime":{}}})");
  ConformanceOptions o = FakeDeploymentOptions();
  o.convex_url = "http://convex.test/";
  const ConformanceReport r = RunConformance(o, http);
  EXPECT_EQ(r.convex_url, "http://convex.test");
  const CheckResult& read_model = r.gates[5].checks.back();
  EXPECT_FALSE(read_model.passed);
  EXPECT_NE(read_model.detail.find("gate 2"), std::string::npos) << read_model.detail;
  for (const net::HttpRequest& q : http.Requests()) {
    EXPECT_EQ(q.url.find("convex.test"), std::string::npos) << q.url;
  }
}

}  // namespace
}  // namespace rtgw::conformance
