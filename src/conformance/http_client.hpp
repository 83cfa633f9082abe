#ifndef RTGW_CONFORMANCE_HTTP_CLIENT_HPP_
#define RTGW_CONFORMANCE_HTTP_CLIENT_HPP_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace rtgw::conformance {

// A blocking HTTP/1.1 client over libcurl, for command-line tools that talk
// to a deployed gateway (rtgw conformance). Never used by the server: the
// server's HTTP stack is src/http (Beast). libcurl appears only in this file's
// .cpp.
//
// Thread-safety: one HttpClient per thread. Each call uses its own curl easy
// handle; curl_global_init runs once per process (thread-safe since 7.84).

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  long status = 0;
  std::string body;
  HeaderList headers;  // names lowercased, in arrival order
  std::chrono::milliseconds elapsed{0};

  // First header named `name` (lowercase), or "".
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  explicit HttpClient(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  // Sends `method` to `url` with `headers` and `body` (empty: none). A
  // transport failure (DNS, refused connection, timeout, TLS) is
  // kUnavailable with curl's message; any HTTP status is a response.
  Result<HttpResponse> Send(const std::string& method, const std::string& url,
                            const HeaderList& headers, const std::string& body = {}) const;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace rtgw::conformance

#endif  // RTGW_CONFORMANCE_HTTP_CLIENT_HPP_
