// RunConformance itself is exercised end to end against real rtgw processes
// (tests/blackbox/test_conformance.py); here: the token claim reader and the
// behaviour against an address where nothing listens.
#include "conformance/conformance.hpp"

#include <gtest/gtest.h>

#include "crypto/crypto.hpp"

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
  HttpClient client(o.timeout);
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

}  // namespace
}  // namespace rtgw::conformance
