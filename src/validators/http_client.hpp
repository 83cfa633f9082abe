#ifndef RTGW_VALIDATORS_HTTP_CLIENT_HPP_
#define RTGW_VALIDATORS_HTTP_CLIENT_HPP_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace rtgw::validators {

struct HttpResult {
  int status = 0;     // 0: no response (see error)
  std::string error;  // transport error when status == 0
  std::string body;   // whole response body (capped at 16 MiB)
  // Response headers, names lowercased, in order (the last response's only).
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of header `name` (lowercase), or "" when absent.
  std::string Header(std::string_view name) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One blocking HTTP exchange over libcurl (GCS JSON API, Cloud Run Admin API,
// the metadata server, a JWKS URL). Never throws. BLOCKS: call it only from
// the validation service's own threads, never from an HTTP I/O thread.
// `method` "GET" sends no body. Thread-safety: safe for concurrent use (an
// easy handle per call).
HttpResult HttpRequest(const std::string& method, const std::string& url,
                       const HttpHeaders& headers, const std::string& body,
                       std::chrono::milliseconds timeout);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view text);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_HTTP_CLIENT_HPP_
