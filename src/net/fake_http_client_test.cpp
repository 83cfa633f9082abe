#include "net/fake_http_client.hpp"

#include <gtest/gtest.h>

namespace rtgw::net {
namespace {

HttpRequest Get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  return r;
}

TEST(FakeHttpClientTest, QueuedAnswersComeFirstThenPerUrlThenDefault) {
  FakeHttpClient fake;
  fake.Answer("http://a/x", FakeHttpClient::Status(404));
  fake.Enqueue(FakeHttpClient::Status(503, "busy"));
  fake.SetDefault([](const HttpRequest& r) { return FakeHttpClient::Status(200, r.url); });
  EXPECT_EQ(fake.Send(Get("http://a/x")).status, 503);  // queued, whatever the URL
  EXPECT_EQ(fake.Send(Get("http://a/x")).status, 404);
  const HttpResponse other = fake.Send(Get("http://a/y"));
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, "http://a/y");
}

TEST(FakeHttpClientTest, WithoutAnAnswerItIsATransportFailure) {
  FakeHttpClient fake;
  const HttpResponse r = fake.Send(Get("http://a/x"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "fake: no answer for GET http://a/x");
  EXPECT_EQ(FakeHttpClient::Status(0).status, 0);
  EXPECT_FALSE(FakeHttpClient::Status(0).error.empty());
}

TEST(FakeHttpClientTest, RecordsEveryRequestInOrder) {
  FakeHttpClient fake;
  fake.SetDefault([](const HttpRequest&) { return FakeHttpClient::Status(204); });
  HttpRequest post = Get("http://a/p");
  post.method = "POST";
  post.body = "{}";
  post.headers = {{"Content-Type", "application/json"}};
  (void)fake.Send(Get("http://a/g"));
  (void)fake.Send(post);
  const std::vector<HttpRequest> got = fake.Requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_EQ(got[1].url, "http://a/p");
  EXPECT_EQ(got[1].body, "{}");
  EXPECT_EQ(got[1].headers, post.headers);
  EXPECT_EQ(fake.RequestCount(), 2);
}

}  // namespace
}  // namespace rtgw::net
