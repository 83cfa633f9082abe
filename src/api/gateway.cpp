#include "api/gateway.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <utility>

#include "api/call.hpp"
#include "api/console_assets.hpp"
#include "api/error_mapping.hpp"
#include "api/job_queries.hpp"
#include "api/job_requests.hpp"
#include "api/job_views.hpp"
#include "api/job_watch.hpp"
#include "api/node_requests.hpp"
#include "api/openapi.hpp"
#include "api/outbox_views.hpp"
#include "api/query_params.hpp"
#include "api/routes.hpp"
#include "api/submit_boundary.hpp"
#include "api/token_requests.hpp"
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

}  // namespace

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

namespace {

// The `method` label of rtgw_http_requests_total: RFC 9110's methods, and `other` for any other
// token, so no client can add label values (docs/contracts/http-api.md "Metrics").
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
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

class Gateway::Impl {
 public:
  Impl(GatewayOptions options, const auth::JwtVerifier& verifier, storage::JobStore& store,
       storage::NodeStore& nodes, const slurm_adapter::AdapterSettings& adapter,
       MetricsRegistry& metrics)
      : options_(std::move(options)),
        verifier_(verifier),
        store_(store),
        nodes_(nodes),
        adapter_(adapter),
        metrics_(metrics),
        openapi_json_(BuildOpenApiJson(options_.version)),
        rate_limited_(metrics.GetCounter(
            "rtgw_limit_refusals_total",
            "Requests refused by a per-tenant limit of --limits-file, by reason (not by tenant).",
            {{"reason", "rate_limited"}})),
        quota_exceeded_(metrics.GetCounter(
            "rtgw_limit_refusals_total",
            "Requests refused by a per-tenant limit of --limits-file, by reason (not by tenant).",
            {{"reason", "quota_exceeded"}})),
        health_status_{HealthGauge(metrics, "ok"), HealthGauge(metrics, "degraded"),
                       HealthGauge(metrics, "unavailable")},
        node_api_(options_.nodes, nodes, adapter,
                  [this](Call& call, http::Response r) { Finish(call, std::move(r)); }) {
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
    call->node_id = match.node_id;
    call->lease_id = match.lease_id;

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
                    MakeErrorResponse(ApiCode::kProxyUnauthorized,
                                      "missing or invalid proxy-auth headers", call->trace_id));
    }
    if (match.kind == RouteMatch::Kind::kNotFound) {
      return Finish(*call, MakeErrorResponse(ApiCode::kNotFound,
                                             "no route for " + call->request.path, call->trace_id));
    }
    if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
      http::Response r = MakeErrorResponse(
          ApiCode::kMethodNotAllowed,
          call->request.method + " is not allowed here; allowed: " + match.allow, call->trace_id);
      r.headers.emplace_back("Allow", match.allow);
      return Finish(*call, std::move(r));
    }
    const RouteSpec& route = *match.route;
    switch (route.id) {
      case RouteId::kHealth:
        return Health(call);
      case RouteId::kMetrics: {
        http::Response r = JsonResponse(200, metrics_.RenderPrometheus());
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return Finish(*call, std::move(r));
      }
      case RouteId::kOpenApi:
        return Finish(*call, JsonResponse(200, openapi_json_));
      case RouteId::kConsolePage:
      case RouteId::kConsoleAsset:
        return Console(*call, route.id == RouteId::kConsolePage ? kConsoleIndex : match.asset);
      case RouteId::kRetiredZpe:
        return Finish(
            *call, MakeErrorResponse(ApiCode::kGone,
                                     "/api/zpe/* endpoints were retired; use /api/runtime/* (see "
                                     "/api/openapi.json)",
                                     call->trace_id));
      default:
        break;
    }
    // Authentication, then the rate limit (a request it lets through has taken its token,
    // whatever a later check decides), then everything else (limits.md).
    if (route.needs_bearer &&
        !(Authenticate(*call) && AdmitRate(*call) && Authorize(*call, route))) {
      return;
    }
    switch (route.id) {
      case RouteId::kSubmitJob:
        return Submit(call);
      case RouteId::kPostEvent:
        return PostEvent(call);
      case RouteId::kGetJob:
        return GetJob(call, route.id);
      case RouteId::kGetProjection:
        return GetProjection(std::move(call));
      case RouteId::kListJobs:
        return ListJobs(call);
      case RouteId::kWatchJobs:
        return WatchJobs(call);
      case RouteId::kGetJobDetail:
        return GetDetail(call);
      case RouteId::kListDeadLetters:
        return ListDeadLetters(call);
      case RouteId::kReplayDeadLetter:
        return ReplayDeadLetter(call);
      case RouteId::kLaunchValidation:
      case RouteId::kRerunValidation:
      case RouteId::kGetValidation:
      case RouteId::kListValidations:
      case RouteId::kValidatorCallback:
        return Validator(call, route.id);
      case RouteId::kCancelJob:
        if (!RequireJsonBodyIfAny(*call)) return;
        return Cancel(call);
      case RouteId::kListNodes:
        return ListNodes(call);
      case RouteId::kRevokeToken:
        return RevokeToken(call);
      case RouteId::kNodeHeartbeat:
        if (!RequireJsonBody(*call)) return;
        return node_api_.Heartbeat(call);
      case RouteId::kAcquireLeases:
        if (!RequireJsonBodyIfAny(*call)) return;
        return node_api_.Acquire(std::move(call));
      case RouteId::kRenewLease:
        if (!RequireJsonBodyIfAny(*call)) return;
        return node_api_.Renew(call);
      case RouteId::kReleaseLease:
        if (!RequireJsonBodyIfAny(*call)) return;
        return node_api_.Release(call);
      case RouteId::kOnboardingDryRun:
        if (!RequireJsonBody(*call)) return;
        return node_api_.DryRun(call);
      default:
        return Finish(*call, MakeErrorResponse(Internal("unrouted"), call->trace_id));
    }
  }

  // The console's static files (docs/contracts/console.md); an unknown name is the one error
  // shape, with the console's security headers too.
  void Console(Call& call, std::string_view name) {
    std::optional<http::Response> r =
        ConsoleFileResponse(name, call.request.Header("if-none-match"));
    if (!r) {
      r = MakeErrorResponse(ApiCode::kNotFound, "no console file " + std::string(name),
                            call.trace_id);
      AddConsoleSecurityHeaders(*r);
    }
    Finish(call, std::move(*r));
  }

  void Drain() {
    node_api_.Shutdown();
    if (options_.watch != nullptr) options_.watch->Shutdown();
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
    // src/http names its codes by their wire names; each is in the set with its status.
    std::optional<ApiCode> api_code = FindApiCode(code);
    http::Response r = api_code ? MakeErrorResponse(*api_code, message, call.trace_id)
                                : MakeErrorResponse(Error{ErrorCode::kInternal,
                                                          std::string(message), std::string(code)},
                                                    call.trace_id);
    if (r.status != status) {
      LogError("protocol error status differs from its code's",
               {{"trace_id", call.trace_id}, {"code", code}, {"status", status}});
    }
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
  static constexpr std::string_view kBearer = "bearer ";

  // Whether the request carries `Authorization: Bearer <something>` (scheme
  // case-insensitive), the credential both token kinds arrive in.
  static bool HasBearer(const http::Request& request) {
    std::string_view auth = request.Header("authorization");
    bool has_scheme = auth.size() > kBearer.size();
    for (std::size_t i = 0; has_scheme && i < kBearer.size(); ++i) {
      char c = auth[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      has_scheme = c == kBearer[i];
    }
    return has_scheme;
  }

  // The token of a HasBearer request, leading spaces dropped (may be empty).
  static std::string_view BearerToken(const http::Request& request) {
    std::string_view token = request.Header("authorization").substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    return token;
  }

  // What a request's bearer token proves: `who` once the token verified (also
  // when it was revoked, so the access log names it), `refusal` the code and
  // message of the 401 when it may not be used.
  struct Identity {
    std::optional<auth::Principal> who;
    std::optional<std::pair<ApiCode, std::string>> refusal;
  };

  // The one place a token becomes rights: authentication, PrincipalFor and
  // revocation (a hash lookup in the polled copy of the store's revocations:
  // cached tokens are refused too, within one poll interval on every replica).
  Identity Identify(const http::Request& request) const {
    Identity id;
    if (!HasBearer(request)) {
      id.refusal.emplace(ApiCode::kUnauthenticated, "missing bearer token");
      return id;
    }
    auto claims = verifier_.Verify(BearerToken(request), std::chrono::system_clock::now());
    if (!claims) {
      id.refusal.emplace(ApiCode::kUnauthenticated,
                         "invalid bearer token: " + claims.error().message);
      return id;
    }
    id.who = auth::PrincipalFor(*claims, options_.authz);
    if (id.who->jti && options_.revocations != nullptr &&
        options_.revocations->IsRevoked(id.who->tenant_id, *id.who->jti)) {
      id.refusal.emplace(ApiCode::kTokenRevoked, "this token was revoked (jti)");
    }
    return id;
  }

  bool Authenticate(Call& call) {
    Identity id = Identify(call.request);
    if (id.who) {
      call.tenant_id = std::move(id.who->tenant_id);
      call.sub = std::move(id.who->sub);
      call.token_node_id = std::move(id.who->node_id);
      call.scopes = id.who->scopes;
      call.own_jobs_only = id.who->own_jobs_only;
    }
    if (id.refusal) {
      Finish(call, MakeErrorResponse(id.refusal->first, id.refusal->second, call.trace_id));
      return false;
    }
    if (call.request.HasHeader("x-tenant-id") &&
        call.request.Header("x-tenant-id") != call.tenant_id) {
      Finish(call,
             MakeErrorResponse(ApiCode::kTenantMismatch,
                               "x-tenant-id does not match the token's tenant", call.trace_id));
      return false;
    }
    return true;
  }

  // The tenant's rate limit (docs/contracts/limits.md "Rate limit"): takes a token, or responds
  // 429 rate_limited and returns false. Sets the RateLimit fields every answer carries.
  bool AdmitRate(Call& call) {
    if (options_.limits == nullptr || options_.rate_limiter == nullptr) return true;
    const std::optional<RatePolicy> policy =
        RatePolicy::Of(options_.limits->Get()->For(call.tenant_id));
    if (!policy) return true;
    const RateDecision d = options_.rate_limiter->Take(call.tenant_id, *policy);
    call.rate_limit_policy = "\"tenant\";q=" + std::to_string(policy->burst) +
                             ";w=" + std::to_string(policy->WindowSeconds());
    call.rate_limit =
        "\"tenant\";r=" + std::to_string(d.remaining) + ";t=" + std::to_string(d.reset_seconds);
    if (d.allowed) return true;
    rate_limited_->Add();
    http::Response r = MakeErrorResponse(
        ApiCode::kRateLimited,
        "this tenant's request rate limit is used up; retry after Retry-After seconds",
        call.trace_id);
    r.headers.emplace_back("Retry-After", std::to_string(d.reset_seconds));
    Finish(call, std::move(r));
    return false;
  }

  // The route's scope and node-token rule (api/routes.cpp); on refusal
  // responds 403 scope_denied naming what is missing and returns false.
  bool Authorize(Call& call, const RouteSpec& route) {
    if (call.token_node_id && !route.node_tokens) {
      Finish(call, MakeErrorResponse(ApiCode::kScopeDenied,
                                     "node tokens may not call " + std::string(route.operation_id),
                                     call.trace_id));
      return false;
    }
    if (route.scope && !call.scopes.Has(*route.scope)) {
      Finish(call, MakeErrorResponse(ApiCode::kScopeDenied,
                                     "missing scope " + std::string(auth::ScopeName(*route.scope)),
                                     call.trace_id));
      return false;
    }
    return true;
  }

  // The 403 for a job (already of the caller's tenant) the caller may not see or act on: a
  // node token sees only its node's jobs, a strict-mode unscoped token only its user's.
  std::optional<http::Response> RefuseAccess(const Call& call, const storage::JobRecord& job) {
    if (call.token_node_id && job.management_node_id != *call.token_node_id) {
      return MakeErrorResponse(ApiCode::kNodeMismatch,
                               "job " + call.job_id + " belongs to another management node",
                               call.trace_id);
    }
    if (call.own_jobs_only && RequestedUser(job.spec_json) != call.sub) {
      return MakeErrorResponse(ApiCode::kSubjectMismatch,
                               "job " + call.job_id + " was requested by another user",
                               call.trace_id);
    }
    return std::nullopt;
  }

  // RefuseAccess, responding with the refusal: false when it did.
  bool MayAccessJob(Call& call, const storage::JobRecord& job) {
    std::optional<http::Response> refusal = RefuseAccess(call, job);
    if (refusal) Finish(call, std::move(*refusal));
    return !refusal;
  }

  bool RequireJsonBody(Call& call) {
    if (!IsJsonContentType(call.request.Header("content-type"))) {
      Finish(call, MakeErrorResponse(ApiCode::kUnsupportedMediaType,
                                     "Content-Type must be application/json", call.trace_id));
      return false;
    }
    return true;
  }

  // A body is optional; when there is one it must be declared JSON.
  bool RequireJsonBodyIfAny(Call& call) {
    if (call.request.body.empty()) return true;
    return RequireJsonBody(call);
  }

  void Submit(const std::shared_ptr<Call>& call) {
    if (!RequireJsonBody(*call)) return;
    const std::string submission_id = NewUuidV4();
    const auto now = std::chrono::system_clock::now();
    const std::string accepted_at = FormatRfc3339(now);
    auto record = ParseSubmitRequest(call->request.body,
                                     {call->tenant_id, submission_id, accepted_at, call->trace_id});
    if (!record) return Finish(*call, MakeErrorResponse(record.error(), call->trace_id));
    call->workspace_id = record->workspace_id;
    call->job_id = record->job_id;
    // Subject binding, before the idempotency lookup as the tenant check is:
    // a replay sent for another user is refused too.
    if (record->requested_by != call->sub && !call->scopes.Has(auth::Scope::kSubmitAs)) {
      return Finish(*call,
                    MakeErrorResponse(ApiCode::kSubjectMismatch,
                                      "requested_by.user_id is not the token's sub (submitting "
                                      "for another user needs scope runtime:submit_as)",
                                      call->trace_id));
    }
    record->submitted_by = call->sub;
    if (options_.limits != nullptr) {
      // Checked by the store in the insert's transaction, after the idempotency lookup.
      const EffectiveLimits limits = options_.limits->Get()->For(call->tenant_id);
      record->max_active_jobs = limits.max_active_jobs;
      record->max_active_jobs_per_user = limits.max_active_jobs_per_user;
    }
    ResolveSubmitBoundary(
        adapter_, nodes_, std::move(record).value(), now,
        [this, call](storage::SubmitRecord rec, Result<slurm_adapter::BoundaryRecord> boundary) {
          if (!boundary) return SubmitRefused(call, std::move(rec), boundary.error());
          StoreSubmit(call, std::move(rec), *boundary);
        });
  }

  void StoreSubmit(const std::shared_ptr<Call>& call, storage::SubmitRecord rec,
                   slurm_adapter::BoundaryRecord boundary) {
    const std::string node = rec.management_node_id;
    store_.Submit(std::move(rec), [this, call, node, boundary = std::move(boundary)](
                                      Result<storage::SubmitOutcome> r) {
      if (!r) {
        if (r.error().api_code == "quota_exceeded") quota_exceeded_->Add();
        return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      }
      if (!r->replayed) {
        LogBoundary(*call, "accepted", boundary.requested_queue, &boundary);
        node_api_.NotifyWork(call->tenant_id, node);
      }
      Finish(*call, JsonResponse(202, std::move(r->response_json)));
    });
  }

  // The boundary refused the submit (403/422/503). A replay of a submit that
  // was accepted earlier still gets its original bytes, whatever the policy
  // says now; a new submit gets the refusal and nothing is stored.
  void SubmitRefused(const std::shared_ptr<Call>& call, storage::SubmitRecord rec, Error error) {
    const std::string tenant = rec.tenant_id;
    const std::string key = rec.idempotency_key;
    nodes_.FindSubmit(
        tenant, key,
        [this, call, rec = std::move(rec),
         error = std::move(error)](Result<std::optional<storage::NodeStore::StoredSubmit>> found) {
          if (found && found->has_value()) {
            if ((*found)->request_fingerprint != rec.request_fingerprint) {
              return Finish(*call, MakeErrorResponse(Conflict("idempotency_key reused with a "
                                                              "different payload",
                                                              "idempotency_conflict"),
                                                     call->trace_id));
            }
            return Finish(*call, JsonResponse(202, (*found)->response_json));
          }
          if (!found) {
            return Finish(*call, MakeErrorResponse(found.error(), call->trace_id));
          }
          const std::string queue = RequestedQueue(rec.spec_json);
          LogBoundary(*call, error.api_code.empty() ? "refused" : error.api_code, queue, nullptr);
          Finish(*call, MakeErrorResponse(error, call->trace_id));
        });
  }

  // One line per boundary decision with the seed's observability fields.
  void LogBoundary(const Call& call, std::string_view outcome, const std::string& requested,
                   const slurm_adapter::BoundaryRecord* b) {
    LogInfo(
        "slurm adapter boundary",
        {{"trace_id", call.trace_id},
         {"tenant_id", call.tenant_id},
         {"workspace_id", call.workspace_id},
         {"job_id", call.job_id},
         {"slurm_adapter", slurm_adapter::ToString(adapter_.mode)},
         {"slurm_contract_version", slurm_adapter::kContractVersion},
         {"requested_queue_name", requested},
         {"resolved_queue_name", b != nullptr ? std::string_view(b->resolved_queue) : ""},
         {"used_fallback", b != nullptr && b->used_fallback ? "true" : "false"},
         {"partition", b != nullptr && b->mapping ? std::string_view(b->mapping->partition) : ""},
         {"outcome", outcome}});
    metrics_
        .GetCounter("rtgw_slurm_adapter_decisions_total",
                    "Slurm adapter boundary decisions at submit by mode and outcome.",
                    {{"adapter", std::string(slurm_adapter::ToString(adapter_.mode))},
                     {"outcome", std::string(outcome)}})
        ->Add();
  }

  void PostEvent(const std::shared_ptr<Call>& call) {
    if (!RequireJsonBody(*call)) return;
    const std::string received_at = FormatRfc3339(std::chrono::system_clock::now());
    auto record =
        ParseEventRequest(call->request.body, {call->tenant_id, call->job_id, received_at});
    if (!record) return Finish(*call, MakeErrorResponse(record.error(), call->trace_id));
    call->workspace_id = record->workspace_id;
    record->actor = {call->sub, call->token_node_id};
    record->max_unapplied_events = options_.max_unapplied_events_per_job;
    if (call->token_node_id) {
      // A node posts events only about its own jobs (agent-protocol.md). The
      // job's node never changes, so checking it before the write is race-free.
      return store_.GetJob(
          call->tenant_id, call->job_id,
          [this, call, rec = std::move(record).value()](Result<storage::JobRecord> job) mutable {
            if (!job) {
              return Finish(*call, MakeErrorResponse(job.error(), call->trace_id));
            }
            if (!MayAccessJob(*call, *job)) return;
            AppendEvent(call, std::move(rec));
          });
    }
    AppendEvent(call, std::move(record).value());
  }

  void AppendEvent(const std::shared_ptr<Call>& call, storage::EventRecord record) {
    store_.AppendEvent(std::move(record), [this, call](Result<storage::EventOutcome> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      Finish(*call, JsonResponse(200, r->idempotent ? R"({"ok":true,"idempotent":true})"
                                                    : R"({"ok":true,"idempotent":false})"));
    });
  }

  void GetJob(const std::shared_ptr<Call>& call, RouteId id) {
    if (!IsValidJobId(call->job_id)) return Finish(*call, NotFoundResponse(*call));
    store_.GetJob(call->tenant_id, call->job_id, [this, call, id](Result<storage::JobRecord> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      call->workspace_id = r->workspace_id;
      if (!MayAccessJob(*call, *r)) return;
      Finish(*call,
             JsonResponse(200, id == RouteId::kGetProjection ? ProjectionJson(*r) : JobJson(*r)));
    });
  }

  // GET /api/runtime/jobs/{job_id}/projection; with wait_version_gt a long poll
  // (docs/contracts/http-api.md "Long poll").
  void GetProjection(std::shared_ptr<Call> call) {
    Result<std::optional<ProjectionWait>> wait = ParseProjectionWait(call->request.query);
    if (!wait) return Finish(*call, MakeErrorResponse(wait.error(), call->trace_id));
    if (!*wait) return GetJob(call, RouteId::kGetProjection);
    if (!IsValidJobId(call->job_id)) return Finish(*call, NotFoundResponse(*call));
    auto poll = std::make_shared<ProjectionPoll>();
    poll->call = std::move(call);
    poll->version_gt = (*wait)->version_gt;
    poll->deadline = std::chrono::steady_clock::now() + (*wait)->timeout;
    PollProjection(poll, options_.watch == nullptr ? PollStep::kFinal : PollStep::kRead);
  }

  struct ProjectionPoll {
    std::shared_ptr<Call> call;
    std::int64_t version_gt = 0;
    std::chrono::steady_clock::time_point deadline;
    std::atomic<bool> parked{false};    // it parked at least once
    std::atomic<bool> answered{false};  // a wake and the check after parking may both answer
  };
  // kRead: read, then answer or park (only after the first read or a wake: one park at a
  // time). kRecheck: the read right after parking, so that a change committed between the
  // read and the park is not missed; it answers or leaves the park be. kFinal: read and answer
  // (timeout, drain, no hub).
  enum class PollStep { kRead, kRecheck, kFinal };

  void PollProjection(const std::shared_ptr<ProjectionPoll>& poll, PollStep step) {
    const Call& c = *poll->call;
    store_.GetJob(c.tenant_id, c.job_id, [this, poll, step](Result<storage::JobRecord> r) {
      if (poll->answered.load()) return;
      Call& call = *poll->call;
      std::optional<http::Response> answer;
      if (!r) {
        answer = MakeErrorResponse(r.error(), call.trace_id);
      } else if (auto refusal = RefuseAccess(call, *r)) {
        answer = std::move(refusal);
      } else if (r->projection_version > poll->version_gt || step == PollStep::kFinal ||
                 std::chrono::steady_clock::now() >= poll->deadline) {
        answer = JsonResponse(200, ProjectionJson(*r));
      } else if (step == PollStep::kRecheck) {
        return;  // the park wakes it
      } else {
        const bool first = !poll->parked.exchange(true);
        Status parked = options_.watch->ParkProjection(
            call.tenant_id, call.job_id, poll->version_gt, poll->deadline, [this, poll](bool last) {
              PollProjection(poll, last ? PollStep::kFinal : PollStep::kRead);
            });
        if (parked) return PollProjection(poll, PollStep::kRecheck);
        // At a watcher limit: a new long poll is refused (429); one that already waited gets
        // what there is.
        answer = first ? MakeErrorResponse(parked.error(), call.trace_id)
                       : JsonResponse(200, ProjectionJson(*r));
      }
      if (poll->answered.exchange(true)) return;
      if (r) call.workspace_id = r->workspace_id;
      Finish(call, std::move(*answer));
    });
  }

  // GET /api/runtime/jobs (docs/contracts/http-api.md "Listing jobs").
  void ListJobs(const std::shared_ptr<Call>& call) {
    if (options_.feed == nullptr) {
      return Finish(*call, NotConfigured(*call, "listing jobs"));
    }
    Result<JobListRequest> req = ParseJobListRequest(*call);
    if (!req) return Finish(*call, MakeErrorResponse(req.error(), call->trace_id));
    options_.feed->ListJobs(req->query, [this, call, hash = req->filter_hash,
                                         carried =
                                             req->watch_from_seq](Result<storage::JobPage> page) {
      if (!page) return Finish(*call, MakeErrorResponse(page.error(), call->trace_id));
      // Every page returns the first page's head: a watch from it misses nothing the
      // pages did not show.
      const std::int64_t watch_from = carried ? *carried : page->head ? page->head->last_seq : 0;
      std::optional<std::string> next;
      if (page->more && !page->jobs.empty()) {
        const storage::JobRecord& last = page->jobs.back();
        next = EncodeListCursor(call->tenant_id, hash, {last.accepted_at, last.job_id}, watch_from);
      }
      Finish(*call,
             JsonResponse(200, JobListJson(page->jobs, next,
                                           EncodeChangeCursor(call->tenant_id, watch_from))));
    });
  }

  // GET /api/runtime/jobs:watch (docs/contracts/http-api.md "Watching jobs").
  void WatchJobs(const std::shared_ptr<Call>& call) {
    if (options_.watch == nullptr) {
      return Finish(*call, NotConfigured(*call, "watching jobs"));
    }
    Result<WatchRequest> req = ParseWatchRequest(*call);
    if (!req) return Finish(*call, MakeErrorResponse(req.error(), call->trace_id));
    std::optional<std::int64_t> after;
    if (req->cursor) {
      after = DecodeChangeCursor(call->tenant_id, *req->cursor);
      if (!after) {
        return Finish(*call, MakeErrorResponse(
                                 InvalidArgument(std::string(req->cursor_source) +
                                                 ": not a change cursor of this tenant (send an "
                                                 "event id or a list's watch_from as it is)"),
                                 call->trace_id));
      }
    }
    options_.watch->Watch(call->tenant_id, std::move(req->filter), after, req->cursor_source,
                          [this, call](Result<JobWatchHub::Started> started) {
                            if (!started) {
                              return Finish(*call,
                                            MakeErrorResponse(started.error(), call->trace_id));
                            }
                            http::Response r;
                            r.status = 200;
                            r.content_type = "text/event-stream";
                            r.headers.emplace_back("Cache-Control", "no-store");
                            r.headers.emplace_back("X-Accel-Buffering", "no");
                            r.stream = std::move(started->stream);
                            Finish(*call, std::move(r));
                          });
  }

  void GetDetail(const std::shared_ptr<Call>& call) {
    if (!IsValidJobId(call->job_id)) return Finish(*call, NotFoundResponse(*call));
    store_.GetDetail(call->tenant_id, call->job_id, [this, call](Result<storage::JobDetail> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      call->workspace_id = r->job.workspace_id;
      if (!MayAccessJob(*call, r->job)) return;
      Finish(*call, JsonResponse(200, JobDetailJson(*r)));
    });
  }

  // POST /api/runtime/jobs/{job_id}:cancel. The store checks a node token's
  // node; a strict-mode unscoped token may cancel only its user's jobs, which
  // takes a read first.
  void Cancel(const std::shared_ptr<Call>& call) {
    if (!call->own_jobs_only || !IsValidJobId(call->job_id)) {
      return node_api_.Cancel(call);
    }
    store_.GetJob(call->tenant_id, call->job_id, [this, call](Result<storage::JobRecord> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      call->workspace_id = r->workspace_id;
      if (!MayAccessJob(*call, *r)) return;
      node_api_.Cancel(call);
    });
  }

  // GET /api/runtime/nodes (admin): the tenant's management nodes, the same
  // objects as /api/health?deep=1's managed_aiida_runtime.
  void ListNodes(const std::shared_ptr<Call>& call) {
    nodes_.ListNodes(call->tenant_id, [this, call](Result<std::vector<storage::NodeRecord>> r) {
      if (!r) return Finish(*call, MakeErrorResponse(r.error(), call->trace_id));
      Finish(*call, JsonResponse(200, ManagedRuntimeJson(*r, true, std::chrono::system_clock::now(),
                                                         options_.nodes.stale_after)));
    });
  }

  // POST /api/runtime/tokens:revoke {"jti", "expires_at"?} (admin).
  void RevokeToken(const std::shared_ptr<Call>& call) {
    if (!RequireJsonBody(*call)) return;
    if (options_.revocation_store == nullptr) {
      return Finish(*call, NotConfigured(*call, "token revocation"));
    }
    const auto now = std::chrono::system_clock::now();
    Result<RevokeRequest> body = ParseRevokeRequest(call->request.body);
    if (!body) return Finish(*call, MakeErrorResponse(body.error(), call->trace_id));
    storage::TokenRevocation rev;
    rev.tenant_id = call->tenant_id;
    rev.jti = body->jti;
    rev.expires_at = body->expires_at.value_or(now + options_.revocation_default_ttl);
    rev.revoked_at = now;
    rev.revoked_by = call->sub;
    if (rev.expires_at <= now) {
      return Finish(*call, MakeErrorResponse(InvalidArgument("expires_at: must be in the future"),
                                             call->trace_id));
    }
    const std::string expires = FormatRfc3339(rev.expires_at);
    options_.revocation_store->Revoke(
        std::move(rev), options_.max_revocations_per_tenant,
        [this, call, jti = body->jti, expires](const Status& s) {
          if (!s) return Finish(*call, MakeErrorResponse(s.error(), call->trace_id));
          if (options_.revocations != nullptr) options_.revocations->Add(call->tenant_id, jti);
          LogInfo("token revoked", {{"trace_id", call->trace_id},
                                    {"tenant_id", call->tenant_id},
                                    {"sub", call->sub},
                                    {"jti", jti},
                                    {"expires_at", expires}});
          std::string out = R"({"jti":")";
          AppendJsonEscaped(out, jti);
          out += R"(","expires_at":")" + expires + R"(","revoked":true})";
          Finish(*call, JsonResponse(200, std::move(out)));
        });
  }

  // GET /api/runtime/projection/dead-letters[?limit=N]: the caller's tenant only.
  void ListDeadLetters(const std::shared_ptr<Call>& call) {
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
  void ReplayDeadLetter(const std::shared_ptr<Call>& call) {
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
                                                      {"sub", call->sub},
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
  void Validator(const std::shared_ptr<Call>& call, RouteId id) {
    // The callback's credential is its ID token (docs/openapi.json: validatorIdToken): a
    // request without one is refused before anything else about it is looked at, as on the
    // bearer routes. The service verifies the token against the run's launcher's keys.
    if (id == RouteId::kValidatorCallback && !HasBearer(call->request)) {
      return Finish(*call, MakeErrorResponse(ApiCode::kUnauthenticated, "missing bearer ID token",
                                             call->trace_id));
    }
    if (options_.validators == nullptr) {
      return Finish(*call, MakeErrorResponse(ApiCode::kNotFound,
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
    vc.subject = call->sub;
    if (id == RouteId::kValidatorCallback) vc.bearer_token = BearerToken(call->request);
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
      case RouteId::kListValidations:
        return options_.validators->List(std::move(vc));
      default:
        return options_.validators->Callback(std::move(vc));
    }
  }

  // 404 for a feature this process was built without (a null GatewayOptions member).
  static http::Response NotConfigured(const Call& call, std::string_view what) {
    return MakeErrorResponse(ApiCode::kNotFound,
                             std::string(what) + " is not configured on this process",
                             call.trace_id);
  }

  http::Response NotFoundResponse(const Call& call) {
    return MakeErrorResponse(NotFound("job not found"), call.trace_id);
  }

  // The tenant of a valid bearer token on a health request, if any. Health
  // never fails on a token: without a valid one the caller is anonymous.
  std::optional<std::string> OptionalTenant(const http::Request& req) const {
    Identity id = Identify(req);
    if (id.refusal || !id.who->scopes.Has(auth::Scope::kRead) || id.who->node_id) {
      return std::nullopt;
    }
    return std::move(id.who->tenant_id);
  }

  // Gathers the facts of api/health.hpp at once (the store's read/write check, its
  // integrity check when deep, the node list when deep or real-policy, each extra
  // check) and answers when the last one arrives, on whichever thread that is.
  void Health(const std::shared_ptr<Call>& call) {
    // Other parameters are ignored, as before strict query parsing.
    static constexpr QueryParamSpec kAllowed[] = {{"deep"}};
    auto params = QueryParams::Parse(call->request.query, kAllowed, /*ignore_unknown=*/true);
    auto facts = std::make_shared<HealthFacts>();
    facts->version = options_.version;
    facts->trace_id = call->trace_id;
    facts->now = std::chrono::system_clock::now();
    facts->deep = params && params->Flag("deep");
    facts->adapter = &adapter_;
    facts->node_stale_after = options_.nodes.stale_after;
    const bool read_nodes = facts->deep || adapter_.mode == slurm_adapter::AdapterMode::kRealPolicy;
    // Node ids are listed to the caller's tenant (valid bearer token), else counts only.
    if (read_nodes) facts->tenant_id = OptionalTenant(call->request);
    for (const GatewayOptions::HealthCheck& check : options_.health_checks) {
      facts->extra.emplace_back(check.name, HealthCheckResult{});
    }
    const int reads = 1 + (read_nodes ? 1 : 0) + (facts->deep ? 1 : 0) +
                      static_cast<int>(options_.health_checks.size());
    auto pending = std::make_shared<std::atomic<int>>(reads);
    auto arrived = [this, call, facts, pending] {
      if (pending->fetch_sub(1, std::memory_order_acq_rel) == 1) FinishHealth(*call, *facts);
    };
    store_.CheckHealth([facts, arrived](Result<storage::StoreHealth> r) {
      facts->store = std::move(r);
      arrived();
    });
    if (facts->deep) {
      store_.CheckIntegrity([facts, arrived](Result<storage::StoreIntegrity> r) {
        facts->integrity = r ? std::move(r).value()
                             : storage::StoreIntegrity{.ok = false, .detail = r.error().message};
        arrived();
      });
    }
    if (read_nodes) {
      nodes_.ListNodes(std::nullopt, [facts, arrived](Result<std::vector<storage::NodeRecord>> r) {
        facts->nodes = std::move(r);
        arrived();
      });
    }
    for (std::size_t i = 0; i < options_.health_checks.size(); ++i) {
      options_.health_checks[i].run([facts, arrived, i](HealthCheckResult r) {
        facts->extra[i].second = std::move(r);
        arrived();
      });
    }
  }

  static Gauge* HealthGauge(MetricsRegistry& metrics, const char* status) {
    return metrics.GetGauge(
        "rtgw_health_status",
        "1 for the status of the last GET /api/health answer, 0 for the others.",
        {{"status", status}});
  }

  void FinishHealth(Call& call, const HealthFacts& facts) {
    HealthAnswer answer = BuildHealth(facts);
    static constexpr std::array<std::string_view, 3> kVerdicts = {"ok", "degraded", "unavailable"};
    for (std::size_t i = 0; i < kVerdicts.size(); ++i) {
      health_status_[i]->Set(answer.verdict == kVerdicts[i] ? 1 : 0);
    }
    if (answer.nodes) {
      static constexpr const char* kHelp =
          "Management nodes of every tenant at the last GET /api/health that read them "
          "(?deep=1, or real-policy), by heartbeat state.";
      metrics_.GetGauge("rtgw_management_nodes", kHelp, {{"state", "fresh"}})
          ->Set(answer.nodes->total - answer.nodes->stale);
      metrics_.GetGauge("rtgw_management_nodes", kHelp, {{"state", "stale"}})
          ->Set(answer.nodes->stale);
    }
    for (const std::string& detail : answer.withheld) {
      LogError("store health check failed", {{"trace_id", call.trace_id}, {"error", detail}});
    }
    Finish(call, JsonResponse(answer.status, std::move(answer.body)));
  }

  void Record(const Call& call, int status) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - call.request.received_at)
            .count();
    if (call.latency != nullptr) call.latency->Observe(seconds);
    metrics_
        .GetCounter("rtgw_http_requests_total", "HTTP requests by route template and status.",
                    {{"route", std::string(call.route)},
                     {"method", std::string(MethodLabel(call.request.method))},
                     {"status", std::to_string(status)}})
        ->Add();
    if (options_.access_log) {
      LogInfo("request", {{"trace_id", call.trace_id},
                          {"tenant_id", call.tenant_id},
                          {"sub", call.sub},
                          {"node_id", call.token_node_id ? std::string_view(*call.token_node_id)
                                                         : std::string_view()},
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
    if (!call.rate_limit.empty()) {
      response.headers.emplace_back("RateLimit-Policy", call.rate_limit_policy);
      response.headers.emplace_back("RateLimit", call.rate_limit);
    }
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
  storage::NodeStore& nodes_;
  const slurm_adapter::AdapterSettings& adapter_;
  MetricsRegistry& metrics_;
  const std::string openapi_json_;
  // rtgw_limit_refusals_total{reason="rate_limited"}: registered at start, so it reads 0.
  Counter* const rate_limited_;
  // rtgw_limit_refusals_total{reason="quota_exceeded"}: submits over an active-job quota.
  Counter* const quota_exceeded_;
  // rtgw_health_status{status="ok"|"degraded"|"unavailable"}: the last answer's verdict is 1.
  // Written without a lock: a scrape during an answer, or two answers with different verdicts
  // at once, may show a transient mix; the next answer settles it.
  const std::array<Gauge*, 3> health_status_;

 public:
  NodeApi node_api_;  // last: its waiter thread stops (destructor) before the rest goes
};

Gateway::Gateway(GatewayOptions options, const auth::JwtVerifier& verifier,
                 storage::JobStore& store, storage::NodeStore& nodes,
                 const slurm_adapter::AdapterSettings& adapter, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), verifier, store, nodes, adapter, metrics)) {}

void Gateway::OnDrain() { impl_->Drain(); }

Gateway::~Gateway() = default;

void Gateway::Handle(http::Request request, http::Respond respond) {
  impl_->Handle(std::move(request), std::move(respond));
}

http::Response Gateway::MakeProtocolError(int status, std::string_view code,
                                          std::string_view message, const http::Request& partial) {
  return impl_->ProtocolError(status, code, message, partial);
}

}  // namespace rtgw::api
