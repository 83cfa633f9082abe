#ifndef RTGW_NET_FAKE_HTTP_CLIENT_HPP_
#define RTGW_NET_FAKE_HTTP_CLIENT_HPP_

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_client.hpp"

namespace rtgw::net {

// An HttpClient for unit tests of the logic around HTTP calls: no sockets.
// Answers each request with, first match wins:
//   1. the next answer queued with Enqueue (in call order, whatever the URL);
//   2. the answer set for the request's URL with Answer;
//   3. the default responder (SetDefault); without one, a transport failure
//      ("fake: no answer for <method> <url>").
// Every request is recorded, in call order.
//
// Thread-safety: safe for concurrent use. Responders run without the fake's
// lock held (they may block, or call the fake).
class FakeHttpClient final : public HttpClient {
 public:
  using Responder = std::function<HttpResponse(const HttpRequest&)>;

  // A response with `status` and `body`; status 0 makes it a transport failure.
  static HttpResponse Status(int status, std::string body = {});
  static HttpResponse TransportError(std::string error);

  void Enqueue(HttpResponse response);
  void Enqueue(Responder responder);
  void Answer(const std::string& url, HttpResponse response);
  void Answer(const std::string& url, Responder responder);
  void SetDefault(Responder responder);

  HttpResponse Send(const HttpRequest& request) override;

  std::vector<HttpRequest> Requests() const;
  int RequestCount() const;

 private:
  mutable std::mutex mu_;
  std::deque<Responder> queued_;             // GUARDED_BY(mu_)
  std::map<std::string, Responder> by_url_;  // GUARDED_BY(mu_)
  Responder default_;                        // GUARDED_BY(mu_)
  std::vector<HttpRequest> requests_;        // GUARDED_BY(mu_)
};

}  // namespace rtgw::net

#endif  // RTGW_NET_FAKE_HTTP_CLIENT_HPP_
