#include "agent/gateway_client/gateway_client.hpp"

#include <gtest/gtest.h>

#include "net/fake_http_client.hpp"
#include "net/loopback_server.hpp"

namespace rtgw::agent {
namespace {

using net::FakeHttpClient;
using std::chrono::milliseconds;

GatewayClientOptions Options(std::string base_url) {
  GatewayClientOptions o;
  o.base_url = std::move(base_url);
  o.node_id = "n1";
  o.token = "t";
  o.connect_timeout = milliseconds(500);
  o.request_timeout = milliseconds(2'000);
  return o;
}

TEST(GatewayClientTest, DeliveryClassification) {
  const struct {
    int status;
    Delivery want;
  } cases[] = {
      {200, Delivery::kDelivered}, {202, Delivery::kDelivered}, {299, Delivery::kDelivered},
      {0, Delivery::kRetry},       {408, Delivery::kRetry},     {429, Delivery::kRetry},
      {500, Delivery::kRetry},     {503, Delivery::kRetry},     {400, Delivery::kPermanent},
      {401, Delivery::kPermanent}, {404, Delivery::kPermanent}, {409, Delivery::kPermanent},
      {301, Delivery::kPermanent},
  };
  for (const auto& c : cases) EXPECT_EQ(ClassifyDelivery(c.status), c.want) << c.status;
}

TEST(GatewayClientTest, RequestsCarryTheTokenJsonAndEncodedPaths) {
  FakeHttpClient http;
  http.SetDefault([](const net::HttpRequest&) { return FakeHttpClient::Status(202); });
  std::atomic<bool> abort{false};
  GatewayClientOptions o = Options("http://gw:8080//");
  o.node_id = "node/1";
  o.abort = &abort;
  GatewayClient client(o, &http);
  EXPECT_EQ(client.PostEvent("job 1", R"({"e":1})").status, 202);
  EXPECT_EQ(client.Heartbeat("{}").status, 202);
  EXPECT_EQ(client.Renew("L:1", 60).status, 202);
  EXPECT_EQ(client.Release("L:1").status, 202);

  const std::vector<net::HttpRequest> sent = http.Requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].url, "http://gw:8080/api/runtime/jobs/job%201/events");
  EXPECT_EQ(sent[1].url, "http://gw:8080/api/runtime/nodes/node%2F1/heartbeat");
  EXPECT_EQ(sent[2].url, "http://gw:8080/api/runtime/nodes/node%2F1/leases/L%3A1:renew");
  EXPECT_EQ(sent[2].body, R"({"lease_seconds":60})");
  EXPECT_EQ(sent[3].url, "http://gw:8080/api/runtime/nodes/node%2F1/leases/L%3A1:release");
  EXPECT_EQ(sent[3].body, "{}");
  const net::HttpRequest& event = sent[0];
  EXPECT_EQ(event.method, "POST");
  EXPECT_EQ(event.body, R"({"e":1})");
  const net::HeaderList want = {{"Content-Type", "application/json"},
                                {"Accept", "application/json"},
                                {"Authorization", "Bearer t"}};
  EXPECT_EQ(event.headers, want);
  EXPECT_EQ(event.timeout, milliseconds(2'000));
  EXPECT_EQ(event.connect_timeout, milliseconds(500));
  EXPECT_EQ(event.abort, &abort);
}

TEST(GatewayClientTest, AcquireWaitsLongerAndParsesTheLeases) {
  FakeHttpClient http;
  http.Enqueue(FakeHttpClient::Status(200, R"({"leases":[],"cancellations":[
      {"job_id":"j1","submission_id":"s1","execution_id":null}]})"));
  GatewayClient client(Options("http://gw"), &http);
  Result<AcquireResult> got = client.Acquire(2, 20, 60);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->cancellations.size(), 1u);
  EXPECT_EQ(got->cancellations[0].job_id, "j1");
  const net::HttpRequest sent = http.Requests().at(0);
  EXPECT_EQ(sent.url, "http://gw/api/runtime/nodes/n1/leases:acquire");
  EXPECT_EQ(sent.body, R"({"max_jobs":2,"wait_seconds":20,"lease_seconds":60})");
  EXPECT_EQ(sent.timeout, milliseconds(22'000)) << "the long poll's wait is added";
}

TEST(GatewayClientTest, AcquireErrorsByStatus) {
  const struct {
    net::HttpResponse answer;
    ErrorCode want;
  } cases[] = {
      {FakeHttpClient::TransportError("refused"), ErrorCode::kUnavailable},
      {FakeHttpClient::Status(503), ErrorCode::kUnavailable},
      {FakeHttpClient::Status(429), ErrorCode::kUnavailable},
      {FakeHttpClient::Status(408), ErrorCode::kUnavailable},
      {FakeHttpClient::Status(401), ErrorCode::kUnauthenticated},
      {FakeHttpClient::Status(403), ErrorCode::kPermissionDenied},
      {FakeHttpClient::Status(404), ErrorCode::kNotFound},
      {FakeHttpClient::Status(400), ErrorCode::kInvalidArgument},
      {FakeHttpClient::Status(200, "not json"), ErrorCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    FakeHttpClient http;
    http.Enqueue(c.answer);
    GatewayClient client(Options("http://gw"), &http);
    Result<AcquireResult> got = client.Acquire(1, 0, 60);
    ASSERT_FALSE(got.ok()) << c.answer.status;
    EXPECT_EQ(got.error().code, c.want) << c.answer.status << " " << got.error().message;
  }
}

TEST(GatewayClientTest, ConnectionRefusedIsATransportFailure) {
  GatewayClient c(Options(net::UnusedLoopbackUrl("/")));
  net::HttpResponse r = c.Heartbeat("{}");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(ClassifyDelivery(r.status), Delivery::kRetry);
  auto a = c.Acquire(1, 0, 60);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace rtgw::agent
