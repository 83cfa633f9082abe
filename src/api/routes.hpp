#ifndef RTGW_API_ROUTES_HPP_
#define RTGW_API_ROUTES_HPP_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authz.hpp"

namespace rtgw::api {

enum class RouteId {
  kSubmitJob,
  kPostEvent,
  kGetJob,
  kGetJobDetail,
  kGetProjection,
  kHealth,
  kMetrics,
  kOpenApi,
  kListDeadLetters,
  kReplayDeadLetter,
  kRetiredZpe,  // /api/zpe/* -> 410, any method
  kLaunchValidation,
  kRerunValidation,
  kGetValidation,
  kListValidations,  // validator-callback.md "Listing runs"
  kValidatorCallback,
  // Management nodes and cancel (docs/contracts/agent-protocol.md).
  kCancelJob,
  kNodeHeartbeat,
  kAcquireLeases,
  kRenewLease,
  kReleaseLease,
  kOnboardingDryRun,
  kRevokeToken,
  kListNodes,
  // Listing and watching jobs (docs/contracts/http-api.md "Listing jobs", "Watching jobs").
  kListJobs,
  kWatchJobs,
  // The operator console's static files (docs/contracts/console.md): no bearer token.
  kConsolePage,   // GET /console (its index.html)
  kConsoleAsset,  // GET /console/{asset}
};

// Which process role serves a route (APP_ROLE): web = the public API, worker =
// internal endpoints (validator callbacks), both = health, metrics, OpenAPI.
enum class RouteRole { kPublic, kInternal, kBoth };
RouteRole RoleOf(RouteId id);

// One served route. The table drives both request routing and the OpenAPI
// document, so a route cannot exist without being documented.
struct RouteSpec {
  RouteId id;
  std::string_view method;
  // "/api/runtime/jobs/{job_id}/events". Parameters: {job_id}, {node_id},
  // {lease_id}, {asset}; each is one path segment, or the part of one before a
  // ":verb" literal ("/leases/{lease_id}:renew").
  std::string_view path_template;
  std::string_view operation_id;
  bool needs_bearer;
  // The scope a bearer token needs (docs/contracts/jwt.md "Authorization");
  // nullopt: none beyond a valid token of the tenant.
  std::optional<auth::Scope> scope = std::nullopt;
  // Whether node tokens may call it (for their own node's jobs only).
  bool node_tokens = false;
};

const std::vector<RouteSpec>& Routes();

struct RouteMatch {
  enum class Kind { kMatched, kMethodNotAllowed, kNotFound } kind = Kind::kNotFound;
  const RouteSpec* route = nullptr;  // when kMatched
  std::string job_id;                // percent-decoded {job_id}, when the template has one
  std::string node_id;               // percent-decoded {node_id}
  std::string lease_id;              // percent-decoded {lease_id}
  std::string asset;                 // percent-decoded {asset} (a console file name)
  std::string allow;                 // "GET, POST" when kMethodNotAllowed
  std::string_view path_template;    // for logs/metrics; "unmatched" when kNotFound
};

// Pure; safe for concurrent use.
RouteMatch MatchRoute(std::string_view method, std::string_view path);

}  // namespace rtgw::api

#endif  // RTGW_API_ROUTES_HPP_
