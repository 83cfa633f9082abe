#ifndef RTGW_API_GATEWAY_HPP_
#define RTGW_API_GATEWAY_HPP_

#include <memory>
#include <string>

#include "api/node_handlers.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/metrics.hpp"
#include "http/http_types.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"

namespace rtgw::api {

struct GatewayOptions {
  std::string version = "0.0.0";
  std::string proxy_auth_key;  // both empty: proxy auth off
  std::string proxy_auth_secret;
  std::string proxy_auth_key_header = "modal-key";  // lowercase
  std::string proxy_auth_secret_header = "modal-secret";
  bool access_log = true;
  NodeApiOptions nodes;  // management-node surface (agent-protocol.md)
};

// The request handler of `rtgw serve`: routing, proxy auth, bearer auth and
// tenant scoping, body validation, store calls, response shaping, one access
// log line and metrics per request. It never blocks: CPU-only work (routing,
// JWT verification, JSON parsing) runs on the calling I/O thread and every
// store call completes on a store thread, which responds.
//
// Submits pass the Slurm adapter boundary (`adapter`, slurm-adapter-boundary.md);
// the management-node routes are served by NodeApi on `nodes`.
//
// Thread-safety: safe for concurrent use. `*verifier`, `*store`, `*nodes`,
// `*adapter` and `*metrics` must outlive this object and every request it has
// accepted.
class Gateway final : public http::Handler {
 public:
  Gateway(GatewayOptions options, const auth::JwtVerifier& verifier, storage::JobStore& store,
          storage::NodeStore& nodes, const slurm_adapter::AdapterSettings& adapter,
          MetricsRegistry& metrics);
  ~Gateway() override;

  void Handle(http::Request request, http::Respond respond) override;
  http::Response MakeProtocolError(int status, std::string_view code, std::string_view message,
                                   const http::Request& partial) override;
  // Answers parked long polls (leases:acquire) at once.
  void OnDrain() override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Trace id for a request: the trace-id of a valid W3C traceparent header, else
// 32 fresh random hex characters.
std::string TraceIdFor(const http::Request& request);

}  // namespace rtgw::api

#endif  // RTGW_API_GATEWAY_HPP_
