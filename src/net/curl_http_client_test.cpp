// The libcurl client against a real HTTP server on loopback.
#include "net/curl_http_client.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "net/loopback_server.hpp"

namespace rtgw::net {
namespace {

using std::chrono::milliseconds;

// Answers by path: /echo (method, body, what the request carried), /big
// (a 1000-byte body), /redirect (302 to /echo), /hold (answered by the test).
class TestPeer {
 public:
  TestPeer()
      : handler_([this](http::Request r, http::Respond respond) { Handle(r, respond); }),
        server_(handler_) {}
  ~TestPeer() { ReleaseHeld(); }

  std::string Url(const std::string& path) const { return server_.Url(path); }

  void ReleaseHeld() {
    std::lock_guard lock(mu_);
    if (held_) held_(http::Response{.status = 200, .body = "late"});
    held_ = nullptr;
  }

 private:
  void Handle(const http::Request& r, const http::Respond& respond) {
    if (r.path == "/echo") {
      respond(http::Response{.status = 201,
                             .headers = {{"X-Remote", r.remote_address},
                                         {"X-Expect", std::string(r.Header("expect"))},
                                         {"X-Agent", std::string(r.Header("user-agent"))},
                                         {"X-Token", std::string(r.Header("x-token"))}},
                             .body = r.method + " " + r.body});
    } else if (r.path == "/big") {
      respond(http::Response{.status = 200, .body = std::string(1000, 'b')});
    } else if (r.path == "/redirect") {
      respond(http::Response{.status = 302, .headers = {{"Location", "/echo"}}});
    } else {
      std::lock_guard lock(mu_);
      held_ = respond;
    }
  }

  std::mutex mu_;
  http::Respond held_;
  FunctionHandler handler_;
  LoopbackServer server_;
};

HttpRequest Request(std::string method, std::string url, std::string body = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  r.timeout = milliseconds(5'000);
  return r;
}

TEST(CurlHttpClientTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  TestPeer peer;
  CurlHttpClient client({.keep_alive = false, .user_agent = "rtgw-test"});
  HttpRequest request = Request("POST", peer.Url("/echo"), R"({"a":1})");
  request.headers = {{"Content-Type", "application/json"}, {"X-Token", "t1"}};
  const HttpResponse r = client.Send(request);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body, R"(POST {"a":1})");
  EXPECT_EQ(r.Header("x-token"), "t1");
  EXPECT_EQ(r.Header("x-expect"), "") << "no 100-continue";
  EXPECT_EQ(r.Header("x-agent"), "rtgw-test");
  EXPECT_EQ(r.Header("content-type"), "application/json") << "names lowercased";
  EXPECT_GE(r.elapsed.count(), 0);

  EXPECT_EQ(client.Send(Request("PUT", peer.Url("/echo"))).body, "PUT ");
  EXPECT_EQ(client.Send(Request("GET", peer.Url("/echo"))).body, "GET ");
  EXPECT_EQ(client.Send(Request("DELETE", peer.Url("/echo"))).body, "DELETE ");
  const HttpResponse head = client.Send(Request("HEAD", peer.Url("/echo")));
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(head.body, "");
}

TEST(CurlHttpClientTest, KeepAliveReusesTheConnectionAndOtherwiseOpensANewOne) {
  TestPeer peer;
  CurlHttpClient keep({.keep_alive = true});
  const std::string first = keep.Send(Request("GET", peer.Url("/echo"))).Header("x-remote");
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(keep.Send(Request("GET", peer.Url("/echo"))).Header("x-remote"), first);

  CurlHttpClient fresh;
  const std::string a = fresh.Send(Request("GET", peer.Url("/echo"))).Header("x-remote");
  EXPECT_NE(fresh.Send(Request("GET", peer.Url("/echo"))).Header("x-remote"), a);
}

TEST(CurlHttpClientTest, BodyLimitFailsOrTruncates) {
  TestPeer peer;
  CurlHttpClient client;
  HttpRequest request = Request("GET", peer.Url("/big"));
  request.body_bytes_max = 1000;
  EXPECT_EQ(client.Send(request).body.size(), 1000u);
  request.body_bytes_max = 999;
  const HttpResponse failed = client.Send(request);
  EXPECT_EQ(failed.status, 0);
  EXPECT_EQ(failed.error, "response body over 999 bytes");
  request.truncate_body = true;
  request.body_bytes_max = 10;
  const HttpResponse cut = client.Send(request);
  EXPECT_EQ(cut.status, 200);
  EXPECT_EQ(cut.body, std::string(10, 'b'));
}

TEST(CurlHttpClientTest, RedirectsAreNotFollowed) {
  TestPeer peer;
  CurlHttpClient client;
  const HttpResponse r = client.Send(Request("GET", peer.Url("/redirect")));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.Header("location"), "/echo");
}

TEST(CurlHttpClientTest, TransportFailuresHaveStatusZeroAndAReason) {
  CurlHttpClient client;
  const HttpResponse refused = client.Send(Request("GET", UnusedLoopbackUrl("/x")));
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
  const HttpResponse scheme = client.Send(Request("GET", "file:///etc/hostname"));
  EXPECT_EQ(scheme.status, 0);
  EXPECT_FALSE(scheme.error.empty());
}

TEST(CurlHttpClientTest, TimeoutAndAbortEndAnUnansweredRequest) {
  TestPeer peer;
  CurlHttpClient client;
  HttpRequest request = Request("GET", peer.Url("/hold"));
  request.timeout = milliseconds(200);
  const HttpResponse timed_out = client.Send(request);
  EXPECT_EQ(timed_out.status, 0);
  EXPECT_GE(timed_out.elapsed, milliseconds(150));
  peer.ReleaseHeld();

  std::atomic<bool> abort{false};
  request.timeout = milliseconds(30'000);
  request.abort = &abort;
  auto pending = std::async(std::launch::async, [&] { return client.Send(request); });
  std::this_thread::sleep_for(milliseconds(100));
  abort = true;
  const HttpResponse aborted = pending.get();
  EXPECT_EQ(aborted.status, 0);
  EXPECT_LT(aborted.elapsed, milliseconds(5'000));
}

TEST(CurlHttpClientTest, ConcurrentCallsOnOneClient) {
  TestPeer peer;
  CurlHttpClient client({.keep_alive = true});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (client.Send(Request("POST", peer.Url("/echo"), "x")).body == "POST x") ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
}

}  // namespace
}  // namespace rtgw::net
