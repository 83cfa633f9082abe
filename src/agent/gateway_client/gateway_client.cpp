#include "agent/gateway_client/gateway_client.hpp"

#include <curl/curl.h>

#include <memory>

namespace rtgw::agent {
namespace {

std::once_flag g_curl_once;

std::size_t WriteBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  constexpr std::size_t kMax = 16u << 20;
  const std::size_t len = size * n;
  if (out->size() + len > kMax) return 0;  // aborts the transfer: an answer that large is wrong
  out->append(data, len);
  return len;
}

int AbortCheck(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort != nullptr && abort->load() ? 1 : 0;
}

}  // namespace

Delivery ClassifyDelivery(long status) {
  if (status >= 200 && status < 300) return Delivery::kDelivered;
  if (status == 0 || status == 408 || status == 429 || status >= 500) return Delivery::kRetry;
  return Delivery::kPermanent;
}

std::string EncodePathSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

GatewayClient::GatewayClient(GatewayClientOptions options) : options_(std::move(options)) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

std::string GatewayClient::Url(const std::string& path) const { return options_.base_url + path; }

HttpResult GatewayClient::Post(const std::string& path, const std::string& body,
                               std::chrono::milliseconds extra_timeout) {
  HttpResult result;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }
  std::string auth;
  {
    std::lock_guard lock(token_mu_);
    auth = "Authorization: Bearer " + options_.token;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_guard(headers, curl_slist_free_all);
  const std::string url = Url(path);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>((options_.request_timeout + extra_timeout).count()));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (options_.abort != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, AbortCheck);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(options_.abort));
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    result.status = 0;
    result.error = curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

HttpResult GatewayClient::Heartbeat(const std::string& body) {
  return Post("/api/runtime/nodes/" + EncodePathSegment(options_.node_id) + "/heartbeat", body);
}

Result<AcquireResult> GatewayClient::Acquire(int max_jobs, int wait_seconds, int lease_seconds) {
  const std::string body = "{\"max_jobs\":" + std::to_string(max_jobs) +
                           ",\"wait_seconds\":" + std::to_string(wait_seconds) +
                           ",\"lease_seconds\":" + std::to_string(lease_seconds) + "}";
  HttpResult r =
      Post("/api/runtime/nodes/" + EncodePathSegment(options_.node_id) + "/leases:acquire", body,
           std::chrono::seconds(wait_seconds));
  if (r.status == 0) return Unavailable("leases:acquire: " + r.error);
  if (r.status >= 500 || r.status == 429 || r.status == 408) {
    return Unavailable("leases:acquire: HTTP " + std::to_string(r.status) + " " +
                       r.body.substr(0, 300));
  }
  if (r.status != 200) {
    return Error{r.status == 401   ? ErrorCode::kUnauthenticated
                 : r.status == 403 ? ErrorCode::kPermissionDenied
                 : r.status == 404 ? ErrorCode::kNotFound
                                   : ErrorCode::kInvalidArgument,
                 "leases:acquire: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300),
                 {}};
  }
  return ParseAcquireResponse(r.body);
}

HttpResult GatewayClient::Renew(const std::string& lease_id, int lease_seconds) {
  return Post("/api/runtime/nodes/" + EncodePathSegment(options_.node_id) + "/leases/" +
                  EncodePathSegment(lease_id) + ":renew",
              "{\"lease_seconds\":" + std::to_string(lease_seconds) + "}");
}

HttpResult GatewayClient::Release(const std::string& lease_id) {
  return Post("/api/runtime/nodes/" + EncodePathSegment(options_.node_id) + "/leases/" +
                  EncodePathSegment(lease_id) + ":release",
              "{}");
}

HttpResult GatewayClient::PostEvent(const std::string& job_id, const std::string& body) {
  return Post("/api/runtime/jobs/" + EncodePathSegment(job_id) + "/events", body);
}

}  // namespace rtgw::agent
