#include "agent/gateway_client/gateway_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

TEST(GatewayClientTest, DeliveryClassification) {
  EXPECT_EQ(ClassifyDelivery(200), Delivery::kDelivered);
  EXPECT_EQ(ClassifyDelivery(202), Delivery::kDelivered);
  EXPECT_EQ(ClassifyDelivery(0), Delivery::kRetry);
  EXPECT_EQ(ClassifyDelivery(503), Delivery::kRetry);
  EXPECT_EQ(ClassifyDelivery(429), Delivery::kRetry);
  EXPECT_EQ(ClassifyDelivery(404), Delivery::kPermanent);
  EXPECT_EQ(ClassifyDelivery(409), Delivery::kPermanent);
  EXPECT_EQ(ClassifyDelivery(400), Delivery::kPermanent);
}

TEST(GatewayClientTest, PathSegmentsAreEncoded) {
  EXPECT_EQ(EncodePathSegment("job-1.a_b~"), "job-1.a_b~");
  EXPECT_EQ(EncodePathSegment("a/b c:d"), "a%2Fb%20c%3Ad");
}

TEST(GatewayClientTest, ConnectionRefusedIsATransportFailure) {
  // Bind an ephemeral port, then close it: nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  GatewayClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  o.node_id = "n1";
  o.token = "t";
  o.connect_timeout = std::chrono::milliseconds(500);
  GatewayClient c(o);
  HttpResult r = c.Heartbeat("{}");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(ClassifyDelivery(r.status), Delivery::kRetry);
  auto a = c.Acquire(1, 0, 60);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace rtgw::agent
