#include "validators/jwks_source.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/logging.hpp"
#include "net/curl_http_client.hpp"

namespace rtgw::validators {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::chrono::seconds> ParseMaxAge(std::string_view cache_control) {
  const std::string cc = Lower(cache_control);
  std::optional<std::chrono::seconds> max_age;
  std::string_view rest = cc;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view directive = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (directive == "no-cache" || directive == "no-store") return std::nullopt;
    if (directive.rfind("max-age=", 0) == 0) {
      std::string_view v = directive.substr(8);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      long long secs = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
      if (ec == std::errc() && p == v.data() + v.size() && secs >= 0) {
        max_age = std::chrono::seconds(secs);
      }
    }
  }
  return max_age;
}

JwksSource::JwksSource(std::string url, Options options)
    : url_(std::move(url)), options_(std::move(options)) {
  if (options_.http == nullptr) {
    own_http_ = std::make_unique<net::CurlHttpClient>();
    options_.http = own_http_.get();
  }
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
}

int JwksSource::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

Status JwksSource::Load() {
  std::lock_guard lock(mu_);
  return FetchLocked(options_.clock());
}

Status JwksSource::FetchLocked(std::chrono::steady_clock::time_point now) {
  last_fetch_ = now;
  ++fetches_;
  const net::HttpResponse r = options_.http->Send({.url = url_,
                                                   .headers = {{"Accept", "application/json"}},
                                                   .timeout = std::chrono::seconds(10)});
  if (r.status != 200) {
    return Unavailable("cannot fetch " + url_ + ": " +
                       (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)));
  }
  auto keys = auth::ParseJwks(r.body);
  if (!keys) return InvalidArgument(url_ + ": " + keys.error().message);
  const std::chrono::seconds max_age =
      std::clamp(ParseMaxAge(r.Header("cache-control")).value_or(options_.default_max_age),
                 options_.min_refetch, std::chrono::seconds(86'400));
  keys_ = std::make_shared<const std::vector<auth::JwsKey>>(std::move(keys).value());
  expires_ = now + max_age;
  return Ok{};
}

std::shared_ptr<const std::vector<auth::JwsKey>> JwksSource::Keys(std::string_view kid) {
  std::lock_guard lock(mu_);
  const auto now = options_.clock();
  const bool stale = keys_ == nullptr || now >= expires_;
  bool unknown = false;
  if (!kid.empty() && keys_ != nullptr) {
    unknown = std::none_of(keys_->begin(), keys_->end(),
                           [kid](const auth::JwsKey& k) { return k.kid() == kid; });
  }
  const bool may_refetch = !last_fetch_ || now - *last_fetch_ >= options_.min_refetch;
  if ((stale || unknown) && may_refetch) {
    if (Status s = FetchLocked(now); !s) {
      LogWarn("JWKS refresh failed; keeping the last keys",
              {{"url", url_}, {"error", s.error().message}});
    } else {
      LogInfo("JWKS refreshed", {{"url", url_},
                                 {"reason", unknown ? "unknown kid" : "max-age passed"},
                                 {"keys", static_cast<long long>(keys_->size())}});
    }
  }
  return keys_;
}

}  // namespace rtgw::validators
