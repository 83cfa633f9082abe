#ifndef RTGW_API_CALL_HPP_
#define RTGW_API_CALL_HPP_

// Private to api: the state of one request while it is being served, shared
// by the I/O thread that routed it and the store thread (or long-poll waiter)
// that completes it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authz.hpp"
#include "common/metrics.hpp"
#include "http/http_types.hpp"

namespace rtgw::api {

struct Call {
  http::Request request;
  http::Respond respond;
  std::string trace_id;
  std::string tenant_id;                     // the token's tenant_id claim
  std::string sub;                           // the token's sub claim
  std::optional<std::string> token_node_id;  // the token's node_id claim (node tokens)
  auth::ScopeSet scopes;                     // what the token may do (auth::PrincipalFor)
  bool own_jobs_only = false;                // strict mode, unscoped: only its user's jobs
  std::string workspace_id;
  std::string job_id;    // {job_id} of the path
  std::string node_id;   // {node_id} of the path
  std::string lease_id;  // {lease_id} of the path
  std::string_view route = "unmatched";
  Histogram* latency = nullptr;
  // RateLimit-Policy and RateLimit field values for the tenant's rate limit (limits.md), set
  // when the request took its token or was refused; every answer to it carries them. Empty: the
  // tenant has no rate limit, or the request is not authenticated.
  std::string rate_limit_policy;
  std::string rate_limit;
};

// Records metrics and the access log line, then responds. Call exactly once
// per Call, from any thread.
using Finisher = std::function<void(Call&, http::Response)>;

// True when a Content-Type names application/json (parameters allowed).
bool IsJsonContentType(std::string_view content_type);

}  // namespace rtgw::api

#endif  // RTGW_API_CALL_HPP_
