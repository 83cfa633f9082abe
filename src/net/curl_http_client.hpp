#ifndef RTGW_NET_CURL_HTTP_CLIENT_HPP_
#define RTGW_NET_CURL_HTTP_CLIENT_HPP_

#include <memory>
#include <string>

#include "net/http_client.hpp"

namespace rtgw::net {

struct CurlHttpClientOptions {
  // true: a finished exchange leaves its libcurl easy handle, and with it the
  // open connection, for the next call (keep-alive: the relay's throughput
  // depends on it). Concurrent calls each take an idle handle or make one; at
  // most kIdleHandlesMax stay idle. false: every call opens its own
  // connection and closes it (callers that talk rarely, or whose peer must
  // see a fresh connection per request).
  bool keep_alive = false;
  std::string user_agent;  // empty: no User-Agent header
};

// HttpClient over libcurl, the only place in src/ that includes <curl/curl.h>.
// Every request also carries "Expect:" (no 100-continue round trip), allows
// only http and https, follows no redirects, and verifies TLS peers and host
// names against the system's CA store (libcurl's defaults). The process-wide
// curl_global_init runs once, on the first construction, thread-safely.
//
// Thread-safety: safe for concurrent use.
class CurlHttpClient final : public HttpClient {
 public:
  static constexpr int kIdleHandlesMax = 256;  // the relay runs up to 256 workers

  explicit CurlHttpClient(CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  HttpResponse Send(const HttpRequest& request) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::net

#endif  // RTGW_NET_CURL_HTTP_CLIENT_HPP_
