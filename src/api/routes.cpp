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

// Percent-decodes one path segment; nullopt on a malformed escape or a '/'
// hidden in an escape (it would change the route).
std::optional<std::string> DecodeSegment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
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

// Matches `path` against a template with at most one "{param}" segment.
bool MatchTemplate(std::string_view tmpl, std::string_view path, std::string& job_id) {
  auto p = tmpl.find('{');
  if (p == std::string_view::npos) return tmpl == path;
  auto close = tmpl.find('}', p);
  std::string_view prefix = tmpl.substr(0, p);
  std::string_view suffix = tmpl.substr(close + 1);
  if (path.size() <= prefix.size() + suffix.size()) return false;
  if (path.substr(0, prefix.size()) != prefix) return false;
  if (path.substr(path.size() - suffix.size()) != suffix) return false;
  std::string_view segment =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (segment.empty() || segment.find('/') != std::string_view::npos) return false;
  auto decoded = DecodeSegment(segment);
  if (!decoded || decoded->empty()) return false;
  job_id = std::move(*decoded);
  return true;
}

}  // namespace

const std::vector<RouteSpec>& Routes() {
  static const std::vector<RouteSpec> kRoutes = {
      {RouteId::kSubmitJob, "POST", "/api/runtime/jobs:submit", "submitJob", true},
      {RouteId::kPostEvent, "POST", "/api/runtime/jobs/{job_id}/events", "postExecutionEvent",
       true},
      {RouteId::kGetJobDetail, "GET", "/api/runtime/jobs/{job_id}/detail", "getJobDetail", true},
      {RouteId::kGetProjection, "GET", "/api/runtime/jobs/{job_id}/projection", "getJobProjection",
       true},
      {RouteId::kGetJob, "GET", "/api/runtime/jobs/{job_id}", "getJob", true},
      {RouteId::kListDeadLetters, "GET", "/api/runtime/projection/dead-letters",
       "listProjectionDeadLetters", true},
      {RouteId::kReplayDeadLetter, "POST", "/api/runtime/projection/dead-letters:replay",
       "replayProjectionDeadLetter", true},
      {RouteId::kLaunchValidation, "POST", "/api/runtime/validations:launch", "launchValidation",
       true},
      {RouteId::kRerunValidation, "POST", "/api/runtime/validations/{run_id}:rerun",
       "rerunValidation", true},
      {RouteId::kGetValidation, "GET", "/api/runtime/validations/{run_id}", "getValidation", true},
      {RouteId::kValidatorCallback, "POST", "/internal/validations/callback", "validatorCallback",
       false},
      {RouteId::kHealth, "GET", "/api/health", "getHealth", false},
      {RouteId::kMetrics, "GET", "/metrics", "getMetrics", false},
      {RouteId::kOpenApi, "GET", "/api/openapi.json", "getOpenApi", false},
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
    std::string job_id;
    if (!MatchTemplate(r.path_template, path, job_id)) continue;
    m.path_template = r.path_template;
    if (r.method == method) {
      m.kind = RouteMatch::Kind::kMatched;
      m.route = &r;
      m.job_id = std::move(job_id);
      return m;
    }
    m.kind = RouteMatch::Kind::kMethodNotAllowed;
    if (m.allow.find(r.method) == std::string::npos) {
      m.allow += (m.allow.empty() ? "" : ", ") + std::string(r.method);
    }
  }
  return m;
}

}  // namespace rtgw::api
