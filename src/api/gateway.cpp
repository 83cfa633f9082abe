#include "api/gateway.hpp"

#include <array>
#include <chrono>

#include "api/error_mapping.hpp"
#include "api/job_requests.hpp"
#include "api/job_views.hpp"
#include "api/openapi.hpp"
#include "api/outbox_views.hpp"
#include "api/routes.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::api {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsJsonContentType(std::string_view ct) {
  auto semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  if (media.size() != 16) return false;
  static constexpr std::string_view kJson = "application/json";
  for (std::size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kJson[i]) return false;
  }
  return true;
}

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool QueryFlag(std::string_view query, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    std::string_view part = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (part == name || part == std::string(name) + "=1" || part == std::string(name) + "=true") {
      return true;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return false;
}

}  // namespace

std::string TraceIdFor(const http::Request& request) {
  // traceparent: version "-" trace-id(32 hex) "-" parent-id(16 hex) "-" flags(2 hex)
  std::string_view tp = request.Header("traceparent");
  if (tp.size() >= 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-') {
    std::string_view version = tp.substr(0, 2);
    std::string_view trace = tp.substr(3, 32);
    if (IsLowerHex(version) && version != "ff" && IsLowerHex(trace) &&
        trace != "00000000000000000000000000000000" && IsLowerHex(tp.substr(36, 16)) &&
        tp.substr(36, 16) != "0000000000000000" && IsLowerHex(tp.substr(53, 2)) &&
        (tp.size() == 55 || version != "00")) {
      return std::string(trace);
    }
  }
  return RandomHex(16);
}

// Per-request state, shared by the I/O thread and the store callback.
struct Gateway::Call {
  http::Request request;
  http::Respond respond;
  std::string trace_id;
  std::string tenant_id;
  std::string subject;
  std::string workspace_id;
  std::string job_id;
  std::string_view route = "unmatched";
  Histogram* latency = nullptr;
};

class Gateway::Impl {
 public:
  Impl(GatewayOptions options, const auth::JwtVerifier& verifier, storage::JobStore& store,
       MetricsRegistry& metrics)
      : options_(std::move(options)),
        verifier_(verifier),
        store_(store),
        metrics_(metrics),
        openapi_json_(BuildOpenApiJson(options_.version)) {
    for (const RouteSpec& r : Routes()) LatencyFor(r.path_template);
  }

  void Handle(http::Request request, http::Respond respond) {
    auto call = std::make_shared<Call>();
    call->trace_id = TraceIdFor(request);
    call->request = std::move(request);
    call->respond = std::move(respond);
    RouteMatch match = MatchRoute(call->request.method, call->request.path);
    call->route = match.path_template;
    call->latency = LatencyFor(match.path_template);
    call->job_id = match.job_id;

    // Proxy auth guards every request but a matched GET/HEAD /api/health:
    // an unknown path or a wrong method must not reveal the route table.
    if (match.kind == RouteMatch::Kind::kMatched && !RoleServes(match.route->id)) {
      match = RouteMatch{};  // another role's route: 404, as if it did not exist
      call->route = match.path_template = "unmatched";
      call->latency = LatencyFor("unmatched");
      call->job_id.clear();
    }
    // The validator callback carries its own credential (the job's ID token).
    const bool is_health =
        match.kind == RouteMatch::Kind::kMatched &&
        (match.route->id == RouteId::kHealth || match.route->id == RouteId::kValidatorCallback);
    if (!is_health && !ProxyAuthOk(call->request)) {
      return Finish(*call,
                    MakeErrorResponse(401, "proxy_unauthorized",
                                      "missing or invalid proxy-auth headers", call->trace_id));
    }
    if (match.kind == RouteMatch::Kind::kNotFound) {
      return Finish(*call, MakeErrorResponse(404, "not_found", "no route for " + call->request.path,
                                             call->trace_id));
    }
    if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
      http::Response r = MakeErrorResponse(
          405, "method_not_allowed",
          call->request.method + " is not allowed here; allowed: " + match.allow, call->trace_id);
      r.headers.emplace_back("Allow", match.allow);
      return Finish(*call, std::move(r));
    }
    const RouteSpec& route = *match.route;
    switch (route.id) {
      case RouteId::kHealth:
        return Health(std::move(call));
      case RouteId::kMetrics: {
        http::Response r = JsonResponse(200, metrics_.RenderPrometheus());
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return Finish(*call, std::move(r));
      }
      case RouteId::kOpenApi:
        return Finish(*call, JsonResponse(200, openapi_json_));
      case RouteId::kRetiredZpe:
        return Finish(
            *call, MakeErrorResponse(410, "gone",
                                     "/api/zpe/* endpoints were retired; use /api/runtime/* (see "
                                     "/api/openapi.json)",
                                     call->trace_id));
      default:
        break;
    }
    if (route.needs_bearer && !Authenticate(*call)) return;
    switch (route.id) {
      case RouteId::kSubmitJob:
        return Submit(std::move(call));
      case RouteId::kPostEvent:
        return PostEvent(std::move(call));
      case RouteId::kGetJob:
      case RouteId::kGetProjection:
        return GetJob(std::move(call), route.id);
      case RouteId::kGetJobDetail:
        return GetDetail(std::move(call));
      case RouteId::kListDeadLetters:
        return ListDeadLetters(std::move(call));
      case RouteId::kReplayDeadLetter:
        return ReplayDeadLetter(std::move(call));
      case RouteId::kLaunchValidation:
      case RouteId::kRerunValidation:
      case RouteId::kGetValidation:
      case RouteId::kValidatorCallback:
        return Validator(std::move(call), route.id);
      default:
        return Finish(*call, MakeErrorResponse(Internal("unrouted"), call->trace_id));
    }
  }

  http::Response ProtocolError(int status, std::string_view code, std::string_view message,
                               const http::Request& partial) {
    Call call;
    call.trace_id = TraceIdFor(partial);
    call.request.method = partial.method;
    call.request.path = partial.path;
    call.request.received_at = partial.received_at.time_since_epoch().count() != 0
                                   ? partial.received_at
                                   : std::chrono::steady_clock::now();
    call.latency = LatencyFor("unmatched");
    http::Response r = MakeErrorResponse(status, code, message, call.trace_id);
    r.headers.emplace_back("x-trace-id", call.trace_id);
    Record(call, r.status);
    return r;
  }

 private:
  Histogram* LatencyFor(std::string_view route) {
    return metrics_.GetHistogram(
        "rtgw_http_request_duration_seconds", "HTTP request latency by route template.",
        {{"route", std::string(route)}}, MetricsRegistry::LatencyBucketsSeconds());
  }

  bool ProxyAuthOk(const http::Request& req) const {
    if (options_.proxy_auth_key.empty()) return true;
    // Both comparisons always run so timing does not reveal which one failed.
    bool key_ok = crypto::ConstantTimeEquals(req.Header(options_.proxy_auth_key_header),
                                             options_.proxy_auth_key);
    bool secret_ok = crypto::ConstantTimeEquals(req.Header(options_.proxy_auth_secret_header),
                                                options_.proxy_auth_secret);
    return key_ok & secret_ok;
  }

  // Verifies the bearer token and the tenant header; on failure responds and
  // returns false.
  bool Authenticate(Call& call) {
    std::string_view auth = call.request.Header("authorization");
    static constexpr std::string_view kBearer = "bearer ";
    bool has_scheme = auth.size() > kBearer.size();
    for (std::size_t i = 0; has_scheme && i < kBearer.size(); ++i) {
      char c = auth[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      has_scheme = c == kBearer[i];
    }
    if (!has_scheme) {
      Finish(call,
             MakeErrorResponse(401, "unauthenticated", "missing bearer token", call.trace_id));
      return false;
    }
    std::string_view token = auth.substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    auto claims = verifier_.Verify(token, std::chrono::system_clock::now());
    if (!claims) {
      Finish(call,
             MakeErrorResponse(401, "unauthenticated",
                               "invalid bearer token: " + claims.error().message, call.trace_id));
      return false;
    }
    call.tenant_id = claims->tenant_id;
    call.subject = claims->sub;
    if (call.request.HasHeader("x-tenant-id") &&
        call.request.Header("x-tenant-id") != claims->tenant_id) {
      Finish(call,
             MakeErrorResponse(403, "tenant_mismatch",
                               "x-tenant-id does not match the token's tenant", call.trace_id));
      return false;
    }
    return true;
  }

  bool RequireJsonBody(Call& call) {
    if (!IsJsonContentType(call.request.Header("content-type"))) {
      Finish(call, MakeErrorResponse(415, "unsupported_media_type",
                                     "Content-Type must be application/json", call.trace_id));
      return false;
    }
    return true;
  }

  void Submit(std::shared_ptr<Call> call) {
    if (!RequireJsonBody(*call)) return;
    const std::string submission_id = NewUuidV4();
    const std::string accepted_at = FormatRfc3339(std::chrono::system_clock::now());
    auto record = ParseSubmitRequest(call->request.body,
                                     {call->tenant_id, submission_id, accepted_at, call->trace_id});
    if (!record) return Finish(*call, MakeErrorResponse(record.error(), call->trace_id));
    call->workspace_id = record->workspace_id;
    call->job_id = record->job_id;
    store_.Submit(std::move(record).value(), [this, call](Result<storage::SubmitOutcome> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      Finish(*call, JsonResponse(202, std::move(r->response_json)));
    });
  }

  void PostEvent(std::shared_ptr<Call> call) {
    if (!RequireJsonBody(*call)) return;
    const std::string received_at = FormatRfc3339(std::chrono::system_clock::now());
    auto record =
        ParseEventRequest(call->request.body, {call->tenant_id, call->job_id, received_at});
    if (!record) return Finish(*call, MakeErrorResponse(record.error(), call->trace_id));
    call->workspace_id = record->workspace_id;
    store_.AppendEvent(std::move(record).value(), [this, call](Result<storage::EventOutcome> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      Finish(*call, JsonResponse(200, r->idempotent ? R"({"ok":true,"idempotent":true})"
                                                    : R"({"ok":true,"idempotent":false})"));
    });
  }

  void GetJob(std::shared_ptr<Call> call, RouteId id) {
    if (!IsValidJobId(call->job_id)) return Finish(*call, NotFoundResponse(*call));
    store_.GetJob(call->tenant_id, call->job_id, [this, call, id](Result<storage::JobRecord> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      call->workspace_id = r->workspace_id;
      Finish(*call,
             JsonResponse(200, id == RouteId::kGetProjection ? ProjectionJson(*r) : JobJson(*r)));
    });
  }

  void GetDetail(std::shared_ptr<Call> call) {
    if (!IsValidJobId(call->job_id)) return Finish(*call, NotFoundResponse(*call));
    store_.GetDetail(call->tenant_id, call->job_id, [this, call](Result<storage::JobDetail> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      call->workspace_id = r->job.workspace_id;
      Finish(*call, JsonResponse(200, JobDetailJson(*r)));
    });
  }

  // GET /api/runtime/projection/dead-letters[?limit=N]: the caller's tenant only.
  void ListDeadLetters(std::shared_ptr<Call> call) {
    Result<int> limit = ParseDeadLetterLimit(call->request.query);
    if (!limit) return Finish(*call, MakeErrorResponse(limit.error(), call->trace_id));
    if (options_.outbox == nullptr) {
      return Finish(*call, JsonResponse(200, R"({"dead_letters":[]})"));
    }
    options_.outbox->ListDeadLetters(
        call->tenant_id, *limit, [this, call](Result<std::vector<storage::OutboxItem>> r) {
          if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
          Finish(*call, JsonResponse(200, DeadLettersJson(*r)));
        });
  }

  // POST /api/runtime/projection/dead-letters:replay {"id": N}.
  void ReplayDeadLetter(std::shared_ptr<Call> call) {
    if (!RequireJsonBody(*call)) return;
    Result<std::int64_t> id = ParseReplayRequest(call->request.body);
    if (!id) return Finish(*call, MakeErrorResponse(id.error(), call->trace_id));
    auto not_found = [this, call] {
      Finish(*call, MakeErrorResponse(NotFound("no dead letter with that id in this tenant"),
                                      call->trace_id));
    };
    if (options_.outbox == nullptr) return not_found();
    const std::int64_t row = *id;
    options_.outbox->ReplayDeadLetter(
        call->tenant_id, row, [this, call, row, not_found](Result<bool> r) {
          if (!r) {
            return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
          }
          if (!*r) return not_found();
          LogInfo("projection dead letter replayed", {{"trace_id", call->trace_id},
                                                      {"tenant_id", call->tenant_id},
                                                      {"id", static_cast<long long>(row)}});
          Finish(*call, JsonResponse(200, R"({"ok":true,"id":)" + std::to_string(row) + "}"));
        });
  }

  bool RoleServes(RouteId id) const {
    switch (RoleOf(id)) {
      case RouteRole::kPublic:
        return options_.serve_public;
      case RouteRole::kInternal:
        return options_.serve_internal;
      case RouteRole::kBoth:
        return true;
    }
    return false;
  }

  // Validator routes: handed to src/validators/ (api/validator_handlers.hpp).
  void Validator(std::shared_ptr<Call> call, RouteId id) {
    if (options_.validators == nullptr) {
      return Finish(*call, MakeErrorResponse(404, "not_found",
                                             "validators are not configured on this process",
                                             call->trace_id));
    }
    if ((id == RouteId::kLaunchValidation || id == RouteId::kValidatorCallback) &&
        !RequireJsonBody(*call)) {
      return;
    }
    ValidatorCall vc;
    vc.request = &call->request;
    vc.tenant_id = call->tenant_id;
    vc.subject = call->subject;
    vc.trace_id = call->trace_id;
    vc.path_param = call->job_id;
    call->job_id.clear();
    vc.respond = [this, call](http::Response r) { Finish(*call, std::move(r)); };
    switch (id) {
      case RouteId::kLaunchValidation:
        return options_.validators->Launch(std::move(vc));
      case RouteId::kRerunValidation:
        return options_.validators->Rerun(std::move(vc));
      case RouteId::kGetValidation:
        return options_.validators->Get(std::move(vc));
      default:
        return options_.validators->Callback(std::move(vc));
    }
  }

  http::Response NotFoundResponse(const Call& call) {
    return MakeErrorResponse(NotFound("job not found"), call.trace_id);
  }

  void Health(std::shared_ptr<Call> call) {
    const bool deep = QueryFlag(call->request.query, "deep");
    store_.CheckHealth([this, call, deep](Result<storage::StoreHealth> r) {
      const bool ok = r.ok() && r->reachable && r->writable;
      std::string checks = "{\"store\":{\"status\":\"";
      checks += ok ? "ok" : "unavailable";
      checks += "\",\"backend\":\"";
      AppendJsonEscaped(checks, r.ok() ? r->backend : std::string("unknown"));
      checks += "\",\"reachable\":";
      checks += r.ok() && r->reachable ? "true" : "false";
      checks += ",\"writable\":";
      checks += r.ok() && r->writable ? "true" : "false";
      const std::string detail = r.ok() ? r->detail : r.error().message;
      if (!detail.empty()) {
        checks += ",\"detail\":\"";
        AppendJsonEscaped(checks, detail);
        checks += '"';
      }
      checks += '}';
      if (deep) checks += ",\"managed_aiida_runtime\":{\"status\":\"ok\",\"nodes\":[]}";
      // Extra checks can degrade the answer but not fail it: the API still
      // serves while, say, the product sink is down.
      bool degraded = false;
      for (const GatewayOptions::HealthCheck& check : options_.health_checks) {
        auto [check_degraded, check_json] = check.run();
        degraded = degraded || check_degraded;
        checks += ",\"";
        AppendJsonEscaped(checks, check.name);
        checks += "\":";
        checks += check_json;
      }
      checks += '}';
      std::string body = "{\"status\":\"";
      body += !ok ? "unavailable" : degraded ? "degraded" : "ok";
      body += "\",\"version\":\"";
      AppendJsonEscaped(body, options_.version);
      body += "\",\"checks\":";
      body += checks;
      body += '}';
      Finish(*call, JsonResponse(ok ? 200 : 503, std::move(body)));
    });
  }

  void Record(const Call& call, int status) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - call.request.received_at)
            .count();
    if (call.latency != nullptr) call.latency->Observe(seconds);
    metrics_
        .GetCounter("rtgw_http_requests_total", "HTTP requests by route template and status.",
                    {{"route", std::string(call.route)},
                     {"method", call.request.method},
                     {"status", std::to_string(status)}})
        ->Add();
    if (options_.access_log) {
      LogInfo("request", {{"trace_id", call.trace_id},
                          {"tenant_id", call.tenant_id},
                          {"workspace_id", call.workspace_id},
                          {"job_id", call.job_id},
                          {"route", call.route},
                          {"method", call.request.method},
                          {"status", status},
                          {"duration_ms", seconds * 1000.0}});
    }
  }

  void Finish(Call& call, http::Response response) {
    response.headers.emplace_back("x-trace-id", call.trace_id);
    if (response.status >= 500) {
      LogError("request failed", {{"trace_id", call.trace_id},
                                  {"route", call.route},
                                  {"status", response.status},
                                  {"body", response.body}});
    }
    Record(call, response.status);
    http::Respond respond = std::move(call.respond);
    respond(std::move(response));
  }

  GatewayOptions options_;
  const auth::JwtVerifier& verifier_;
  storage::JobStore& store_;
  MetricsRegistry& metrics_;
  const std::string openapi_json_;
};

Gateway::Gateway(GatewayOptions options, const auth::JwtVerifier& verifier,
                 storage::JobStore& store, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), verifier, store, metrics)) {}

Gateway::~Gateway() = default;

void Gateway::Handle(http::Request request, http::Respond respond) {
  impl_->Handle(std::move(request), std::move(respond));
}

http::Response Gateway::MakeProtocolError(int status, std::string_view code,
                                          std::string_view message, const http::Request& partial) {
  return impl_->ProtocolError(status, code, message, partial);
}

}  // namespace rtgw::api
