#ifndef RTGW_CONFORMANCE_CONFORMANCE_HPP_
#define RTGW_CONFORMANCE_CONFORMANCE_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "conformance/report.hpp"
#include "net/http_client.hpp"

namespace rtgw::conformance {

// The runtime conformance suite: gates 1-6 of seed 000 (runtime gate
// runbook) run against any deployment by base URL, as black-box HTTP calls.
//   1 reachability and deep health (+ proxy auth accepted)
//   2 submit contract (202 fields, replay, 409 on key reuse with drift)
//   3 event ingestion (running, replay, 409 on drift, completed)
//   4 reads (terminal state, ordered detail, projection "finished")
//   5 tenant isolation with a second tenant's token (404, no data, 403 scope)
//   6 projection alignment (versions monotonic, matching the event sequence;
//     with a sink log, the product sink received the same; with a Convex
//     URL, the product read model applied the same, once each, in order)
// Every gate runs even when an earlier one failed; a check that needs an
// earlier result that is missing fails and says so. The suite writes one new
// job per run (job id from `job_id`, default "job-gate-<random>").
// Blocking: runs on the calling thread; every request goes through `client`.

struct ConformanceOptions {
  std::string base_url;  // "http://127.0.0.1:8080" (a trailing '/' is dropped)
  std::string token;
  std::string other_token;
  std::string tenant_id;        // empty: the token's tenant_id claim
  std::string other_tenant_id;  // empty: the other token's tenant_id claim
  std::string proxy_key;
  std::string proxy_secret;
  std::string proxy_key_header = "Modal-Key";
  std::string proxy_secret_header = "Modal-Secret";
  std::string job_id;  // empty: "job-gate-<16 hex>"
  std::string management_node_id = "mgmt-node-1";
  std::string sink_log;  // empty: gate 6 checks the gateway side only
  // The product's Convex deployment ("https://<name>.convex.cloud"); empty:
  // gate 6 does not read the read model. `convex_query` ("module:function")
  // takes {tenant_id, job_id} and returns the job's applied updates in order
  // (conformance/read_model.hpp).
  std::string convex_url;
  std::string convex_query = "rtgw:history";
  std::string convex_token;                    // empty: the query is called without Authorization
  std::chrono::milliseconds sink_wait{10000};  // also bounds the read model wait
  std::chrono::milliseconds timeout{10000};
};

// A non-empty string claim of a JWT, read without verifying it (the
// deployment verifies; we only need to know which tenant and user to put in
// the bodies: requested_by.user_id must be the token's sub).
std::optional<std::string> StringClaim(std::string_view jwt, std::string_view name);
inline std::optional<std::string> TenantFromToken(std::string_view jwt) {
  return StringClaim(jwt, "tenant_id");
}

ConformanceReport RunConformance(const ConformanceOptions& options, net::HttpClient& client);

}  // namespace rtgw::conformance

#endif  // RTGW_CONFORMANCE_CONFORMANCE_HPP_
