#include "net/curl_http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>
#include <vector>

namespace rtgw::net {
namespace {

constexpr std::size_t kHeadersMax = 200;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  std::size_t bytes_max;
  bool truncate;
  bool over_limit = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const std::size_t bytes = size * count;
  const std::size_t room = sink->bytes_max - std::min(sink->bytes_max, sink->body->size());
  if (bytes > room && !sink->truncate) {
    sink->over_limit = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, std::min(bytes, room));
  return bytes;
}

// One header line, "Name: value\r\n". A status line starts a new response
// (an interim 1xx), so only the final response's headers stay.
std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* out = static_cast<HeaderList*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    out->clear();
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || out->size() >= kHeadersMax) return bytes;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  out->emplace_back(std::move(name), std::string(value));
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

long Millis(std::chrono::milliseconds d) { return static_cast<long>(d.count()); }

}  // namespace

struct CurlHttpClient::Impl {
  CurlHttpClientOptions options;
  std::mutex mu;
  std::vector<CURL*> idle;  // GUARDED_BY(mu)

  CURL* TakeHandle() {
    if (options.keep_alive) {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* curl = idle.back();
        idle.pop_back();
        curl_easy_reset(curl);  // forgets the options, keeps the connection cache
        return curl;
      }
    }
    return curl_easy_init();
  }

  void ReturnHandle(CURL* curl) {
    if (options.keep_alive) {
      std::lock_guard lock(mu);
      if (idle.size() < kIdleHandlesMax) {
        idle.push_back(curl);
        return;
      }
    }
    curl_easy_cleanup(curl);
  }
};

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  impl_->options = std::move(options);
}

CurlHttpClient::~CurlHttpClient() {
  for (CURL* curl : impl_->idle) curl_easy_cleanup(curl);
}

HttpResponse CurlHttpClient::Send(const HttpRequest& request) {
  HttpResponse response;
  CURL* curl = impl_->TakeHandle();
  if (curl == nullptr) {
    response.error = "curl_easy_init failed";
    return response;
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  BodySink sink{&response.body, request.body_bytes_max, request.truncate_body};
  const std::chrono::milliseconds connect_timeout =
      request.connect_timeout.count() > 0 ? request.connect_timeout : request.timeout;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, Millis(request.timeout));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, Millis(connect_timeout));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (!impl_->options.user_agent.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERAGENT, impl_->options.user_agent.c_str());
  }
  if (request.abort != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    // libcurl hands the pointer back to OnProgress, which only reads it.
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.abort));
  }
  const std::string& method = request.method;
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || method == "PUT" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl);
  response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
  } else if (sink.over_limit) {
    response.error = "response body over " + std::to_string(request.body_bytes_max) + " bytes";
  } else {
    response.error = curl_easy_strerror(rc);
  }
  if (response.status == 0) {
    response.headers.clear();
    response.body.clear();
  }
  curl_slist_free_all(headers);
  impl_->ReturnHandle(curl);
  return response;
}

}  // namespace rtgw::net
