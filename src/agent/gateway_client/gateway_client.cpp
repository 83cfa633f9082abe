#include "agent/gateway_client/gateway_client.hpp"

#include "net/curl_http_client.hpp"

namespace rtgw::agent {
namespace {

net::HttpClient& OwnOrGiven(net::HttpClient* given, std::unique_ptr<net::HttpClient>& own) {
  if (given != nullptr) return *given;
  own = std::make_unique<net::CurlHttpClient>();
  return *own;
}

}  // namespace

Delivery ClassifyDelivery(int status) {
  if (status >= 200 && status < 300) return Delivery::kDelivered;
  if (status == 0 || status == 408 || status == 429 || status >= 500) return Delivery::kRetry;
  return Delivery::kPermanent;
}

GatewayClient::GatewayClient(GatewayClientOptions options, net::HttpClient* http)
    : options_(std::move(options)), http_(OwnOrGiven(http, own_http_)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
}

std::string GatewayClient::NodePath() const {
  return "/api/runtime/nodes/" + net::UrlEncode(options_.node_id);
}

net::HttpResponse GatewayClient::Post(const std::string& path, const std::string& body,
                                      std::chrono::milliseconds extra_timeout) {
  net::HttpRequest request{
      .method = "POST",
      .url = options_.base_url + path,
      .headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
      .body = body,
      .timeout = options_.request_timeout + extra_timeout,
      .connect_timeout = options_.connect_timeout,
      .abort = options_.abort};
  {
    std::lock_guard lock(token_mu_);
    request.headers.emplace_back("Authorization", "Bearer " + options_.token);
  }
  return http_.Send(request);
}

net::HttpResponse GatewayClient::Heartbeat(const std::string& body) {
  return Post(NodePath() + "/heartbeat", body);
}

Result<AcquireResult> GatewayClient::Acquire(int max_jobs, int wait_seconds, int lease_seconds) {
  const std::string body = "{\"max_jobs\":" + std::to_string(max_jobs) +
                           ",\"wait_seconds\":" + std::to_string(wait_seconds) +
                           ",\"lease_seconds\":" + std::to_string(lease_seconds) + "}";
  net::HttpResponse r =
      Post(NodePath() + "/leases:acquire", body, std::chrono::seconds(wait_seconds));
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

net::HttpResponse GatewayClient::Renew(const std::string& lease_id, int lease_seconds) {
  return Post(NodePath() + "/leases/" + net::UrlEncode(lease_id) + ":renew",
              "{\"lease_seconds\":" + std::to_string(lease_seconds) + "}");
}

net::HttpResponse GatewayClient::Release(const std::string& lease_id) {
  return Post(NodePath() + "/leases/" + net::UrlEncode(lease_id) + ":release", "{}");
}

net::HttpResponse GatewayClient::PostEvent(const std::string& job_id, const std::string& body) {
  return Post("/api/runtime/jobs/" + net::UrlEncode(job_id) + "/events", body);
}

}  // namespace rtgw::agent
