#ifndef RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_
#define RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_

// HTTP client of the gateway's node endpoints (docs/contracts/agent-protocol.md)
// over libcurl, authenticated with the node token. Thread-safe: every call uses
// its own easy handle; the token is behind a mutex so it can be reloaded.
// Blocking; the agent calls it from its own threads (never an I/O thread).

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "agent/gateway_client/lease_parse.hpp"
#include "common/error.hpp"

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

struct HttpResult {
  long status = 0;  // 0: transport failure (connection refused, timeout); see `error`
  std::string body;
  std::string error;
};

enum class Delivery {
  kDelivered,  // 2xx
  kRetry,      // transport failure, 408, 429, 5xx: keep it and try again later
  kPermanent,  // other 4xx: retrying the same body cannot succeed (logged, kept as dead)
};
Delivery ClassifyDelivery(long status);

class GatewayClient {
 public:
  explicit GatewayClient(GatewayClientOptions options);

  HttpResult Post(const std::string& path, const std::string& body,
                  std::chrono::milliseconds extra_timeout = {});

  HttpResult Heartbeat(const std::string& body);
  // Long poll. Error kUnavailable on transport/5xx, or the gateway's error otherwise.
  Result<AcquireResult> Acquire(int max_jobs, int wait_seconds, int lease_seconds);
  HttpResult Renew(const std::string& lease_id, int lease_seconds);
  HttpResult Release(const std::string& lease_id);
  HttpResult PostEvent(const std::string& job_id, const std::string& body);

  const std::string& node_id() const { return options_.node_id; }

 private:
  std::string Url(const std::string& path) const;
  GatewayClientOptions options_;
  std::mutex token_mu_;
};

// Percent-encodes a path segment (job ids, lease ids).
std::string EncodePathSegment(const std::string& s);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_GATEWAY_CLIENT_GATEWAY_CLIENT_HPP_
