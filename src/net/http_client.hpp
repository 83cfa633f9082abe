#ifndef RTGW_NET_HTTP_CLIENT_HPP_
#define RTGW_NET_HTTP_CLIENT_HPP_

// The one outbound HTTP client: a request/response pair, the HttpClient
// interface, and UrlEncode. The implementation over libcurl is
// net/curl_http_client.hpp (the only file in src/ that includes <curl/curl.h>);
// unit tests use net/fake_http_client.hpp. The server side is src/http (Beast).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtgw::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What a response body may grow to before the body limit acts (16 MiB: no
// answer any caller expects comes near it; a larger one is a broken peer).
inline constexpr std::size_t kDefaultBodyBytesMax = 16u << 20;

struct HttpRequest {
  // "GET" and "HEAD" send no body; "POST" and "PUT" always send `body` (an
  // empty one as Content-Length: 0); any other method sends `body` when it is
  // not empty.
  std::string method = "GET";
  std::string url;  // http:// or https:// only; redirects are never followed
  HeaderList headers;
  std::string body;
  // Bounds the whole exchange, connect included.
  std::chrono::milliseconds timeout{10'000};
  // Bounds the connect alone; zero: `timeout`.
  std::chrono::milliseconds connect_timeout{0};
  // Response bodies longer than this fail the exchange (status 0), or with
  // `truncate_body` keep their first body_bytes_max bytes and succeed.
  std::size_t body_bytes_max = kDefaultBodyBytesMax;
  bool truncate_body = false;
  // When set and true, the exchange is aborted (status 0) within about 1 s.
  // Not owned; must outlive the call.
  const std::atomic<bool>* abort = nullptr;
};

struct HttpResponse {
  int status = 0;     // the HTTP status; 0: no response (see `error`)
  std::string error;  // transport failure (DNS, refused, timeout, TLS, body limit) when status == 0
  // Response headers, names lowercased, values trimmed, in arrival order
  // (at most 200; the final response's only).
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds elapsed{0};  // request start to the last byte (or the failure)

  // The first header named `lower_name`, or "" when absent.
  std::string Header(std::string_view lower_name) const;
};

// Sends one request and waits for its response. BLOCKS for up to the
// request's timeout: call it from the caller's own threads, never from an
// HTTP I/O thread. Never throws; every failure is in the response.
//
// Thread-safety: implementations are safe for concurrent use.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual HttpResponse Send(const HttpRequest& request) = 0;
};

// Percent-encodes everything but RFC 3986 unreserved characters (so the result
// is safe as a path segment or a query value).
std::string UrlEncode(std::string_view text);

}  // namespace rtgw::net

#endif  // RTGW_NET_HTTP_CLIENT_HPP_
