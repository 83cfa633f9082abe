#ifndef RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_
#define RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_

// Client of the gateway's node endpoints (docs/contracts/agent-protocol.md) over
// a net::HttpClient, authenticated with the node token. Thread-safe (the HTTP
// client is); the token is behind a mutex so it can be reloaded. Blocking; the
// agent calls it from its own threads (never an I/O thread).

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "agent/gateway_client/lease_parse.hpp"
#include "common/error.hpp"
#include "net/http_client.hpp"

namespace rtgw::agent {

struct GatewayClientOptions {
  std::string base_url;  // "http://127.0.0.1:8080" (no trailing slash needed)
  std::string node_id;
  std::string token;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{15'000};  // long polls add their wait to this
  // When set and true, a request in progress is aborted (status 0) within ~1 s: lets
  // SIGTERM interrupt a long poll. Not owned; must outlive the client.
  const std::atomic<bool>* abort = nullptr;
};

enum class Delivery {
  kDelivered,  // 2xx
  kRetry,      // transport failure, 408, 429, 5xx: keep it and try again later
  kPermanent,  // other 4xx: retrying the same body cannot succeed (logged, kept as dead)
};
Delivery ClassifyDelivery(int status);

class GatewayClient {
 public:
  // `http`: not owned, must outlive the client; null: the client's own libcurl
  // client (a new connection per call).
  explicit GatewayClient(GatewayClientOptions options, net::HttpClient* http = nullptr);

  // POST of a JSON body to base_url + path. A status of 0 is a transport failure.
  net::HttpResponse Post(const std::string& path, const std::string& body,
                         std::chrono::milliseconds extra_timeout = {});

  net::HttpResponse Heartbeat(const std::string& body);
  // Long poll. Error kUnavailable on transport/5xx, or the gateway's error otherwise.
  Result<AcquireResult> Acquire(int max_jobs, int wait_seconds, int lease_seconds);
  net::HttpResponse Renew(const std::string& lease_id, int lease_seconds);
  net::HttpResponse Release(const std::string& lease_id);
  net::HttpResponse PostEvent(const std::string& job_id, const std::string& body);

  const std::string& node_id() const { return options_.node_id; }

 private:
  std::string NodePath() const;
  GatewayClientOptions options_;
  std::unique_ptr<net::HttpClient> own_http_;  // when no client was given
  net::HttpClient& http_;
  std::mutex token_mu_;
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_
