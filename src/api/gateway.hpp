#ifndef RTGW_API_GATEWAY_HPP_
#define RTGW_API_GATEWAY_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/health.hpp"
#include "api/node_handlers.hpp"
#include "api/rate_limiter.hpp"
#include "api/tenant_limits.hpp"
#include "api/validator_handlers.hpp"
#include "auth/authz.hpp"
#include "auth/jwt_verifier.hpp"
#include "auth/revocation_list.hpp"
#include "common/metrics.hpp"
#include "http/http_types.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/revocation_store.hpp"

namespace rtgw::storage {
class JobFeedStore;
}  // namespace rtgw::storage

namespace rtgw::api {

class JobWatchHub;

struct GatewayOptions {
  std::string version = "0.0.0";
  std::string proxy_auth_key;  // both empty: proxy auth off
  std::string proxy_auth_secret;
  std::string proxy_auth_key_header = "modal-key";  // lowercase
  std::string proxy_auth_secret_header = "modal-secret";
  bool access_log = true;

  // Extra /api/health checks, shown as checks.<name> (api/health.hpp): a
  // degraded one makes health say "degraded" (still 200). `run` is called on
  // an I/O thread for every health request and must not block.
  struct HealthCheck {
    std::string name;
    HealthCheckFn run;
  };
  std::vector<HealthCheck> health_checks;

  // Serves the projection dead-letter routes (tenant-scoped). Null: they list
  // nothing and replay finds nothing. Must outlive the gateway.
  storage::OutboxStore* outbox = nullptr;

  // Process role (APP_ROLE): a route of a role this process does not serve
  // answers 404 as if it did not exist (api/routes.hpp RoleOf).
  bool serve_public = true;    // web, all
  bool serve_internal = true;  // worker, all
  // The validator routes; null: they answer 404. Must outlive the gateway.
  ValidatorEndpoints* validators = nullptr;
  NodeApiOptions nodes;  // management-node surface (agent-protocol.md)

  // Authorization inside a tenant (docs/contracts/jwt.md "Authorization"):
  // what an unscoped product token may do (--authz).
  auth::AuthzMode authz = auth::AuthzMode::kCompat;
  // Revoked token ids, checked on every authenticated request (a hash
  // lookup); null: no revocation check. Must outlive the gateway.
  auth::RevocationList* revocations = nullptr;
  // Where POST /api/runtime/tokens:revoke stores revocations; null: that
  // route answers 404. Must outlive the gateway.
  storage::RevocationStore* revocation_store = nullptr;
  // Kept when a revocation names no expires_at: the longest token lifetime
  // the verifier accepts (ServeConfig::revocation_ttl from --max-token-lifetime).
  std::chrono::seconds revocation_default_ttl{30 * 86400};
  // Live revocations a tenant may hold (--max-revocations-per-tenant).
  std::size_t max_revocations_per_tenant = 10000;
  // Never-applied events a job may hold (--max-unapplied-events-per-job):
  // set on every event the gateway stores (EventRecord::max_unapplied_events).
  std::int64_t max_unapplied_events_per_job = jobs::kMaxUnappliedEventsPerJobDefault;

  // Per-tenant limits of --limits-file (docs/contracts/limits.md), read on every authenticated
  // request (a reload swaps them whole); null: no limits. Must outlive the gateway.
  const LiveTenantLimits* limits = nullptr;
  // The token buckets of the tenants' requests_per_second; null: no rate limit. Must outlive
  // the gateway.
  RateLimiter* rate_limiter = nullptr;

  // GET /api/runtime/jobs (the list); null: it answers 404. Must outlive the gateway.
  storage::JobFeedStore* feed = nullptr;
  // GET /api/runtime/jobs:watch and the projection long poll (wait_version_gt); null: the watch
  // answers 404 and a long poll is answered at once with the current projection (its parameters
  // are still checked). Must outlive the gateway; OnDrain shuts it down.
  JobWatchHub* watch = nullptr;
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
  // Answers parked long polls (leases:acquire, projection) at once and ends watch streams.
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
