#include "api/routes.hpp"

#include <optional>

namespace rtgw::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment; nullopt on a malformed escape, a '/'
// hidden in an escape (it would change the route), or a NUL, escaped or raw
// (a parameter is never cut short at a NUL by a C API further on).
std::optional<std::string> DecodeSegment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      if (s[i] == '\0') return std::nullopt;
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

struct Params {
  std::string job_id;
  std::string node_id;
  std::string lease_id;
  std::string asset;
};

// Matches `path` against a template of literals and {param}s. A parameter
// takes the rest of its path segment; when the literal after it starts with
// ':' (a verb such as ":renew"), the segment must end with that verb, which is
// not part of the value. Values are percent-decoded and must not be empty.
bool MatchTemplate(std::string_view tmpl, std::string_view path, Params& params) {
  std::size_t ti = 0;
  std::size_t pi = 0;
  for (;;) {
    const std::size_t open = tmpl.find('{', ti);
    const std::string_view literal =
        tmpl.substr(ti, open == std::string_view::npos ? std::string_view::npos : open - ti);
    if (path.substr(pi, literal.size()) != literal) return false;
    pi += literal.size();
    if (open == std::string_view::npos) return pi == path.size();
    const std::size_t close = tmpl.find('}', open);
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    ti = close + 1;
    std::size_t seg_end = path.find('/', pi);
    if (seg_end == std::string_view::npos) seg_end = path.size();
    std::size_t value_end = seg_end;
    if (ti < tmpl.size() && tmpl[ti] == ':') {
      // The verb is the next literal up to the next '/' or parameter.
      std::size_t verb_end = tmpl.find_first_of("/{", ti);
      if (verb_end == std::string_view::npos) verb_end = tmpl.size();
      const std::string_view verb = tmpl.substr(ti, verb_end - ti);
      if (seg_end - pi <= verb.size()) return false;
      if (path.substr(seg_end - verb.size(), verb.size()) != verb) return false;
      value_end = seg_end - verb.size();
    }
    auto decoded = DecodeSegment(path.substr(pi, value_end - pi));
    if (!decoded || decoded->empty()) return false;
    // {job_id} and the validators' {run_id} share the job_id slot (a
    // template has at most one of them).
    if (name == "node_id") {
      params.node_id = std::move(*decoded);
    } else if (name == "lease_id") {
      params.lease_id = std::move(*decoded);
    } else if (name == "asset") {
      params.asset = std::move(*decoded);
    } else {
      params.job_id = std::move(*decoded);
    }
    pi = value_end;
  }
}

}  // namespace

const std::vector<RouteSpec>& Routes() {
  using auth::Scope;
  constexpr bool kNode = true;  // node tokens may call it
  static const std::vector<RouteSpec> kRoutes = {
      {RouteId::kSubmitJob, "POST", "/api/runtime/jobs:submit", "submitJob", true, Scope::kSubmit},
      {RouteId::kListJobs, "GET", "/api/runtime/jobs", "listJobs", true, Scope::kRead, kNode},
      {RouteId::kWatchJobs, "GET", "/api/runtime/jobs:watch", "watchJobs", true, Scope::kRead,
       kNode},
      {RouteId::kPostEvent, "POST", "/api/runtime/jobs/{job_id}/events", "postExecutionEvent", true,
       Scope::kEvents, kNode},
      {RouteId::kGetJobDetail, "GET", "/api/runtime/jobs/{job_id}/detail", "getJobDetail", true,
       Scope::kRead, kNode},
      {RouteId::kGetProjection, "GET", "/api/runtime/jobs/{job_id}/projection", "getJobProjection",
       true, Scope::kRead, kNode},
      {RouteId::kGetJob, "GET", "/api/runtime/jobs/{job_id}", "getJob", true, Scope::kRead, kNode},
      {RouteId::kListDeadLetters, "GET", "/api/runtime/projection/dead-letters",
       "listProjectionDeadLetters", true, Scope::kAdmin},
      {RouteId::kReplayDeadLetter, "POST", "/api/runtime/projection/dead-letters:replay",
       "replayProjectionDeadLetter", true, Scope::kAdmin},
      {RouteId::kLaunchValidation, "POST", "/api/runtime/validations:launch", "launchValidation",
       true, Scope::kValidate},
      {RouteId::kRerunValidation, "POST", "/api/runtime/validations/{run_id}:rerun",
       "rerunValidation", true, Scope::kValidate},
      {RouteId::kGetValidation, "GET", "/api/runtime/validations/{run_id}", "getValidation", true,
       Scope::kRead},
      {RouteId::kListValidations, "GET", "/api/runtime/validations", "listValidations", true,
       Scope::kRead},
      {RouteId::kValidatorCallback, "POST", "/internal/validations/callback", "validatorCallback",
       false},
      {RouteId::kHealth, "GET", "/api/health", "getHealth", false},
      {RouteId::kMetrics, "GET", "/metrics", "getMetrics", false},
      {RouteId::kOpenApi, "GET", "/api/openapi.json", "getOpenApi", false},
      {RouteId::kCancelJob, "POST", "/api/runtime/jobs/{job_id}:cancel", "cancelJob", true,
       Scope::kCancel, kNode},
      // The node protocol: node tokens only (node_token_required otherwise); a
      // scoped node token needs runtime:events for it.
      {RouteId::kNodeHeartbeat, "POST", "/api/runtime/nodes/{node_id}/heartbeat", "nodeHeartbeat",
       true, Scope::kEvents, kNode},
      {RouteId::kAcquireLeases, "POST", "/api/runtime/nodes/{node_id}/leases:acquire",
       "acquireLeases", true, Scope::kEvents, kNode},
      {RouteId::kRenewLease, "POST", "/api/runtime/nodes/{node_id}/leases/{lease_id}:renew",
       "renewLease", true, Scope::kEvents, kNode},
      {RouteId::kReleaseLease, "POST", "/api/runtime/nodes/{node_id}/leases/{lease_id}:release",
       "releaseLease", true, Scope::kEvents, kNode},
      {RouteId::kListNodes, "GET", "/api/runtime/nodes", "listNodes", true, Scope::kAdmin},
      {RouteId::kOnboardingDryRun, "POST", "/api/onboarding/dry-run", "onboardingDryRun", true,
       Scope::kRead, kNode},
      {RouteId::kRevokeToken, "POST", "/api/runtime/tokens:revoke", "revokeToken", true,
       Scope::kAdmin},
      // Static files, public: the console's API calls carry the operator's token.
      {RouteId::kConsolePage, "GET", "/console", "getConsole", false},
      {RouteId::kConsoleAsset, "GET", "/console/{asset}", "getConsoleAsset", false},
  };
  return kRoutes;
}

RouteRole RoleOf(RouteId id) {
  switch (id) {
    case RouteId::kValidatorCallback:
      return RouteRole::kInternal;
    case RouteId::kHealth:
    case RouteId::kMetrics:
    case RouteId::kOpenApi:
      return RouteRole::kBoth;
    default:
      return RouteRole::kPublic;
  }
}

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  RouteMatch m;
  m.path_template = "unmatched";
  if (path == "/api/zpe" || path.rfind("/api/zpe/", 0) == 0) {
    static const RouteSpec kRetired{RouteId::kRetiredZpe, "*", "/api/zpe/*", "retiredZpe", false};
    m.kind = RouteMatch::Kind::kMatched;
    m.route = &kRetired;
    m.path_template = kRetired.path_template;
    return m;
  }
  // A HEAD is served as the GET without a body would be; we do not advertise it.
  for (const RouteSpec& r : Routes()) {
    Params params;
    if (!MatchTemplate(r.path_template, path, params)) continue;
    if (r.method == method) {
      m.kind = RouteMatch::Kind::kMatched;
      m.route = &r;
      m.path_template = r.path_template;
      m.job_id = std::move(params.job_id);
      m.node_id = std::move(params.node_id);
      m.lease_id = std::move(params.lease_id);
      m.asset = std::move(params.asset);
      m.allow.clear();
      return m;
    }
    m.path_template = r.path_template;
    m.kind = RouteMatch::Kind::kMethodNotAllowed;
    if (m.allow.find(r.method) == std::string::npos) {
      m.allow += (m.allow.empty() ? "" : ", ") + std::string(r.method);
    }
  }
  return m;
}

}  // namespace rtgw::api
