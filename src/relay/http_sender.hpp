#ifndef RTGW_RELAY_HTTP_SENDER_HPP_
#define RTGW_RELAY_HTTP_SENDER_HPP_

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rtgw::relay {

struct PostResult {
  int status = 0;          // HTTP status; 0 when no response (connect, timeout, ...)
  std::string error;       // transport error text when status == 0
  std::string body_start;  // first bytes of the response body (for logs)
};

// A blocking HTTP client for one thread (libcurl easy handle, connection
// kept alive between posts to the same host). The only place <curl/curl.h>
// appears in the relay.
//
// Thread-safety: not thread-safe; one per delivery thread.
class HttpSender {
 public:
  HttpSender();
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // POSTs `body` as application/json. Never throws; every failure is in the
  // result. `timeout` bounds the whole exchange, connect included.
  PostResult Post(const std::string& url,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// curl_global_init, once per process; call before the first HttpSender is
// created while only one thread runs (it is not thread-safe in older libcurl).
void InitHttpClientLibrary();

}  // namespace rtgw::relay

#endif  // RTGW_RELAY_HTTP_SENDER_HPP_
