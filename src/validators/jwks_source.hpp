#ifndef RTGW_VALIDATORS_JWKS_SOURCE_HPP_
#define RTGW_VALIDATORS_JWKS_SOURCE_HPP_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jws.hpp"
#include "common/error.hpp"
#include "net/http_client.hpp"

namespace rtgw::validators {

// A JWKS served at a URL that rotates (Google's certificates:
// https://www.googleapis.com/oauth2/v3/certs), kept fresh for callback token
// verification:
//  - fetched once at start-up (Load: an error refuses to start);
//  - fetched again when the answer's Cache-Control max-age has passed
//    (no max-age, no-cache or no-store: `default_max_age`; bounded to
//    [min_refetch, 24 h]);
//  - fetched again at once for a token whose kid is not among the keys, at
//    most once per `min_refetch` (so tokens with made-up kids cannot make
//    rtgw hammer the URL);
//  - a failed or malformed refetch keeps the last good keys (logged) and is
//    retried after `min_refetch`.
// Keys() BLOCKS while it fetches: callers are the validation service's
// threads, never HTTP I/O threads.
// Thread-safety: safe for concurrent use; one fetch at a time.
class JwksSource {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    std::chrono::seconds min_refetch{30};
    std::chrono::seconds default_max_age{300};
    // Not owned; must outlive the source. Null: the source's own libcurl client.
    net::HttpClient* http = nullptr;
    Clock clock;  // default: steady_clock::now
  };

  JwksSource(std::string url, Options options);

  Status Load();
  // The current keys (refreshed first as described above). `kid` is the
  // token's key id ("" for none). Null only before a successful Load().
  std::shared_ptr<const std::vector<auth::JwsKey>> Keys(std::string_view kid);
  const std::string& url() const { return url_; }
  int fetches() const;

 private:
  Status FetchLocked(std::chrono::steady_clock::time_point now);

  std::string url_;
  Options options_;
  std::unique_ptr<net::HttpClient> own_http_;  // when options_.http was null
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<auth::JwsKey>> keys_;
  std::chrono::steady_clock::time_point expires_{};
  std::optional<std::chrono::steady_clock::time_point> last_fetch_;
  int fetches_ = 0;
};

// max-age of a Cache-Control value in seconds; nullopt when absent or when
// no-cache/no-store forbid reuse. Pure.
std::optional<std::chrono::seconds> ParseMaxAge(std::string_view cache_control);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_JWKS_SOURCE_HPP_
