#include "conformance/conformance.hpp"

#include <functional>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "common/random.hpp"
#include "common/time_format.hpp"
#include "conformance/read_model.hpp"
#include "conformance/sink_log.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::conformance {
namespace json = boost::json;

std::optional<std::string> StringClaim(std::string_view jwt, std::string_view name) {
  const auto dot1 = jwt.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  const auto dot2 = jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  const auto payload = crypto::Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return std::nullopt;
  boost::system::error_code ec;
  const json::value v = json::parse(*payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* t = v.as_object().if_contains(name);
  if (!t || !t->is_string() || t->as_string().empty()) return std::nullopt;
  return std::string(t->as_string());
}

namespace {

// One HTTP exchange as the checks see it.
struct Exchange {
  bool transport_ok = false;
  std::string transport_error;
  long status = 0;
  std::string error_code;
  std::string error_message;
  std::string body;
  json::value json;  // null unless the body is JSON
  long elapsed_ms = 0;
};

std::string Str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

const json::value* Field(const json::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::int64_t Int(const json::value& v, std::string_view key) {
  const auto* f = Field(v, key);
  return f && f->is_int64() ? f->as_int64() : -1;
}

class Runner {
 public:
  Runner(const ConformanceOptions& o, net::HttpClient& c) : o_(o), client_(c) {}

  ConformanceReport Run();

 private:
  Exchange Call(const std::string& method, const std::string& path, const std::string& token,
                const std::string& tenant_header, const std::string& body = {});
  CheckResult Begin(int gate, std::string name) {
    CheckResult c;
    c.gate = gate;
    c.name = std::move(name);
    return c;
  }
  // Fills status/error from `x`; on a status other than `want` fails the check
  // with the seed's diagnostic for `surface`. Returns whether it matched.
  bool ExpectStatus(CheckResult& c, const Exchange& x, long want, std::string_view surface);
  void Fail(CheckResult& c, std::string detail, std::string diagnostic) {
    c.passed = false;
    c.detail = std::move(detail);
    c.diagnostic = std::move(diagnostic);
  }
  // A drift check: `x` must be 409 with error.code `code`; an `accepted` status means the gateway
  // took a changed request under a used key, which `diagnostic` names.
  void ExpectConflict(CheckResult& c, const Exchange& x, std::string_view surface,
                      const std::string& code, long accepted, std::string diagnostic) {
    if (ExpectStatus(c, x, 409, surface) && x.error_code != code) {
      Fail(c, "409 with code " + x.error_code, "expected error.code " + code);
    }
    if (!c.passed && x.status == accepted) c.diagnostic = std::move(diagnostic);
  }
  void NeedsSubmit(CheckResult& c) {
    Fail(c, "not run: gate 2 did not return a submission_id",
         "fix the first failing check of gate 2; this one depends on it");
  }

  std::string SubmitBody(int cpu) const;
  std::string EventBody(const std::string& event_id, const std::string& state,
                        const std::string& execution_id, const std::string& occurred_at,
                        const std::string& tenant, bool with_result) const;
  // GET projection; records the step when its version is new.
  void ObserveProjection();
  // Calls `compare` until it returns "" (aligned) or --sink-wait-ms passed;
  // returns its last answer.
  std::string WaitAligned(const std::function<std::string()>& compare);

  GateResult Gate1();
  GateResult Gate2();
  GateResult Gate3();
  GateResult Gate4();
  GateResult Gate5();
  GateResult Gate6();

  const ConformanceOptions& o_;
  net::HttpClient& client_;
  std::string base_;
  std::string convex_base_;  // --convex-url without a trailing '/'
  std::string tenant_;
  std::string user_;  // requested_by.user_id: the token's sub
  std::string other_tenant_;
  std::string job_id_;
  std::string submission_id_;
  std::string output_uri_;
  std::string ev_running_;
  std::string ev_completed_;
  // Projection after each write, in request order (version, state, status).
  std::vector<ProjectionStep> served_;
  bool projection_read_failed_ = false;
};

Exchange Runner::Call(const std::string& method, const std::string& path, const std::string& token,
                      const std::string& tenant_header, const std::string& body) {
  net::HttpRequest request{
      .method = method, .url = base_ + path, .body = body, .timeout = o_.timeout};
  net::HeaderList& h = request.headers;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  if (!tenant_header.empty()) h.emplace_back("x-tenant-id", tenant_header);
  if (!body.empty()) h.emplace_back("content-type", "application/json");
  if (!o_.proxy_key.empty() || !o_.proxy_secret.empty()) {
    h.emplace_back(o_.proxy_key_header, o_.proxy_key);
    h.emplace_back(o_.proxy_secret_header, o_.proxy_secret);
  }
  Exchange x;
  net::HttpResponse r = client_.Send(request);
  if (r.status == 0) {
    x.transport_error = method + " " + request.url + ": " + r.error;
    return x;
  }
  x.transport_ok = true;
  x.status = r.status;
  x.body = std::move(r.body);
  x.elapsed_ms = static_cast<long>(r.elapsed.count());
  boost::system::error_code ec;
  x.json = json::parse(x.body, ec);
  if (ec) x.json = nullptr;
  if (const auto* e = Field(x.json, "error"); e && e->is_object()) {
    x.error_code = Str(*e, "code");
    x.error_message = Str(*e, "message");
  }
  return x;
}

bool Runner::ExpectStatus(CheckResult& c, const Exchange& x, long want, std::string_view surface) {
  c.http_status = x.status;
  c.error_code = x.error_code;
  c.elapsed_ms = x.elapsed_ms;
  if (!x.transport_ok) {
    Fail(c, x.transport_error, Diagnose(surface, 0, ""));
    return false;
  }
  if (x.status != want) {
    std::string detail = "expected " + std::to_string(want) + ", got " + std::to_string(x.status);
    if (!x.error_code.empty()) detail += " " + x.error_code + ": " + x.error_message;
    Fail(c, std::move(detail), Diagnose(surface, x.status, x.error_code));
    return false;
  }
  c.passed = true;
  return true;
}

std::string Runner::SubmitBody(int cpu) const {
  json::object b;
  b["tenant_id"] = tenant_;
  b["workspace_id"] = tenant_;
  b["job_id"] = job_id_;
  b["idempotency_key"] = "submit-" + job_id_;
  b["management_node_id"] = o_.management_node_id;
  b["execution_profile"] = {{"queue_name", "default"}};
  b["resource_shape"] = {{"cpu", cpu}, {"memory_mib", 2048}, {"walltime_seconds", 3600}};
  b["payload_ref"] = {{"input_uri", "inline://gate/" + job_id_}};
  b["requested_by"] = {{"user_id", user_}};
  return json::serialize(b);
}

std::string Runner::EventBody(const std::string& event_id, const std::string& state,
                              const std::string& execution_id, const std::string& occurred_at,
                              const std::string& tenant, bool with_result) const {
  json::object b;
  b["event_id"] = event_id;
  b["tenant_id"] = tenant;
  b["workspace_id"] = tenant;
  b["job_id"] = job_id_;
  b["submission_id"] = submission_id_.empty() ? "unknown" : submission_id_;
  b["execution_id"] = execution_id;
  b["state"] = state;
  b["occurred_at"] = occurred_at;
  b["trace_id"] = "trace-" + event_id;
  if (with_result) b["result_ref"] = {{"output_uri", output_uri_}};
  return json::serialize(b);
}

void Runner::ObserveProjection() {
  const auto x = Call("GET", "/api/runtime/jobs/" + job_id_ + "/projection", o_.token, tenant_);
  if (!x.transport_ok || x.status != 200) {
    projection_read_failed_ = true;
    return;
  }
  ProjectionStep s{Int(x.json, "projection_version"), Str(x.json, "state"), Str(x.json, "status")};
  served_.push_back(std::move(s));
}

GateResult Runner::Gate1() {
  GateResult g{1, "API reachability and deep health", {}};
  {
    auto c = Begin(1, "GET /api/health?deep=1 -> 200, status ok");
    const auto x = Call("GET", "/api/health?deep=1", "", "");
    if (ExpectStatus(c, x, 200, "health")) {
      if (Str(x.json, "status") != "ok") {
        // 200 with a status other than ok is "degraded": part of the API refuses.
        Fail(c, "status is '" + Str(x.json, "status") + "': " + x.body,
             "part of the API refuses (real-policy catalogue, projection relay, rollback): the "
             "checks with a \"reason\" say why");
      }
    } else if (x.transport_ok && x.status == 503) {
      c.detail += ": " + x.body;
    }
    g.checks.push_back(std::move(c));
    auto d = Begin(1, "deep health lists checks.managed_aiida_runtime");
    d.http_status = x.status;
    const auto* checks = Field(x.json, "checks");
    if (checks && Field(*checks, "managed_aiida_runtime")) {
      d.passed = true;
    } else {
      Fail(d, x.transport_ok ? "no checks.managed_aiida_runtime in: " + x.body : x.transport_error,
           x.transport_ok ? "deep checks are not enabled on this deployment (seed 000 gate 1)"
                          : Diagnose("health", 0, ""));
    }
    g.checks.push_back(std::move(d));
  }
  {
    auto c = Begin(1, "proxy auth accepted (GET /api/openapi.json -> 200)");
    ExpectStatus(c, Call("GET", "/api/openapi.json", "", ""), 200, "proxy");
    g.checks.push_back(std::move(c));
  }
  return g;
}

GateResult Runner::Gate2() {
  GateResult g{2, "runtime submit contract", {}};
  const std::string body = SubmitBody(1);
  {
    auto c = Begin(2, "POST jobs:submit -> 202 {job_id, submission_id, accepted_at, trace_id}");
    const auto x = Call("POST", "/api/runtime/jobs:submit", o_.token, tenant_, body);
    if (ExpectStatus(c, x, 202, "submit")) {
      std::string missing;
      for (const char* k : {"job_id", "submission_id", "accepted_at", "trace_id"}) {
        if (Str(x.json, k).empty()) missing += std::string(missing.empty() ? "" : ", ") + k;
      }
      if (!missing.empty()) {
        Fail(c, "response lacks " + missing + ": " + x.body,
             "submit response shape drifted from docs/contracts/command-submit-job.md");
      } else if (Str(x.json, "job_id") != job_id_) {
        Fail(c, "job_id " + Str(x.json, "job_id") + " is not the submitted " + job_id_,
             "submit response shape drifted from docs/contracts/command-submit-job.md");
      } else {
        submission_id_ = Str(x.json, "submission_id");
      }
    }
    g.checks.push_back(std::move(c));
  }
  if (!submission_id_.empty()) ObserveProjection();
  {
    auto c = Begin(2, "submit replay (same key, same body) -> 202, same submission_id");
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      const auto x = Call("POST", "/api/runtime/jobs:submit", o_.token, tenant_, body);
      if (ExpectStatus(c, x, 202, "submit") && Str(x.json, "submission_id") != submission_id_) {
        Fail(c,
             "replay answered submission_id " + Str(x.json, "submission_id") + ", first " +
                 submission_id_,
             "submit is not idempotent: a retry created a second submission");
      }
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(2, "same idempotency_key, other body -> 409 idempotency_conflict");
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      const auto x = Call("POST", "/api/runtime/jobs:submit", o_.token, tenant_, SubmitBody(2));
      ExpectConflict(c, x, "submit", "idempotency_conflict", 202,
                     "submit accepted a changed body under a used idempotency_key (no drift "
                     "detection)");
    }
    g.checks.push_back(std::move(c));
  }
  return g;
}

GateResult Runner::Gate3() {
  GateResult g{3, "runtime event ingestion", {}};
  const std::string path = "/api/runtime/jobs/" + job_id_ + "/events";
  const std::string running = EventBody(ev_running_, "running", "aiida-conformance",
                                        "2026-02-18T00:00:00Z", tenant_, false);
  auto post = [&](const std::string& name, const std::string& body, bool want_idempotent) {
    auto c = Begin(3, name);
    if (submission_id_.empty()) {
      NeedsSubmit(c);
      return c;
    }
    const auto x = Call("POST", path, o_.token, tenant_, body);
    if (ExpectStatus(c, x, 200, "events")) {
      const auto* ok = Field(x.json, "ok");
      const auto* idem = Field(x.json, "idempotent");
      if (!ok || !ok->is_bool() || !ok->as_bool() || !idem || !idem->is_bool() ||
          idem->as_bool() != want_idempotent) {
        Fail(c,
             std::string("expected {\"ok\": true, \"idempotent\": ") +
                 (want_idempotent ? "true" : "false") + "}, got " + x.body,
             want_idempotent ? "a replayed event was applied twice (event idempotency broken)"
                             : "event response drifted from the contract");
      }
    }
    return c;
  };
  g.checks.push_back(post("event running -> 200 {ok: true, idempotent: false}", running, false));
  if (!submission_id_.empty()) ObserveProjection();
  g.checks.push_back(
      post("event replay (same event_id, same body) -> 200 idempotent: true", running, true));
  if (!submission_id_.empty()) ObserveProjection();
  {
    auto c = Begin(3, "same event_id, drifted payload -> 409 event_conflict");
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      const auto x = Call("POST", path, o_.token, tenant_,
                          EventBody(ev_running_, "running", "aiida-conformance",
                                    "2026-02-18T00:00:07Z", tenant_, false));
      ExpectConflict(c, x, "events", "event_conflict", 200,
                     "the gateway accepted two different events under one event_id (no drift "
                     "detection)");
    }
    g.checks.push_back(std::move(c));
  }
  if (!submission_id_.empty()) ObserveProjection();
  g.checks.push_back(post("event completed with result_ref -> 200 {ok: true, idempotent: false}",
                          EventBody(ev_completed_, "completed", "aiida-conformance",
                                    "2026-02-18T00:05:00Z", tenant_, true),
                          false));
  if (!submission_id_.empty()) ObserveProjection();
  return g;
}

GateResult Runner::Gate4() {
  GateResult g{4, "runtime reads", {}};
  const std::string job_path = "/api/runtime/jobs/" + job_id_;
  {
    auto c = Begin(4, "GET job -> 200, terminal state completed with result_ref");
    const auto x = Call("GET", job_path, o_.token, tenant_);
    if (ExpectStatus(c, x, 200, "read")) {
      const auto* rr = Field(x.json, "result_ref");
      if (Str(x.json, "state") != "completed") {
        Fail(c, "state is '" + Str(x.json, "state") + "'",
             "events were not applied: check gate 3 and the event ordering");
      } else if (!rr || Str(*rr, "output_uri") != output_uri_) {
        Fail(c, "result_ref is " + (rr ? json::serialize(*rr) : std::string("missing")),
             "the completed event's result_ref was not stored");
      }
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(4, "GET detail -> events in order [running, completed], seq ascending");
    const auto x = Call("GET", job_path + "/detail", o_.token, tenant_);
    if (ExpectStatus(c, x, 200, "read")) {
      const auto* ev = Field(x.json, "events");
      std::vector<std::string> ids;
      std::vector<std::int64_t> seqs;
      if (ev && ev->is_array()) {
        for (const auto& e : ev->as_array()) {
          ids.push_back(Str(e, "event_id"));
          seqs.push_back(Int(e, "seq"));
        }
      }
      const bool order_ok = ids == std::vector<std::string>{ev_running_, ev_completed_};
      const bool seq_ok = seqs.size() == 2 && seqs[0] >= 0 && seqs[0] < seqs[1];
      if (!order_ok || !seq_ok) {
        std::string got;
        for (size_t i = 0; i < ids.size(); ++i) {
          got += (i ? ", " : "") + ids[i] + "#" + std::to_string(seqs[i]);
        }
        Fail(c, "history is [" + got + "]",
             "event history is not the ordered record of accepted events (replay stored twice, "
             "drift stored, or order lost)");
      }
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(4, "GET projection -> 200, status finished");
    const auto x = Call("GET", job_path + "/projection", o_.token, tenant_);
    if (ExpectStatus(c, x, 200, "read") &&
        (Str(x.json, "status") != "finished" || Str(x.json, "state") != "completed")) {
      Fail(c, "status/state " + Str(x.json, "status") + "/" + Str(x.json, "state"),
           "projection mismatch: inspect runtime event ordering and relay logs");
    }
    g.checks.push_back(std::move(c));
  }
  return g;
}

GateResult Runner::Gate5() {
  GateResult g{5, "tenant isolation (second tenant)", {}};
  const std::string job_path = "/api/runtime/jobs/" + job_id_;
  {
    auto c = Begin(5, "--other-tenant-token names another tenant");
    if (other_tenant_.empty() || other_tenant_ == tenant_) {
      Fail(c,
           other_tenant_.empty() ? "no tenant_id claim in --other-tenant-token"
                                 : "both tokens are for tenant " + tenant_,
           "tenant isolation broken or untestable: the second credential must belong to another "
           "tenant");
    } else {
      c.passed = true;
    }
    g.checks.push_back(std::move(c));
  }
  for (const char* suffix : {"", "/detail", "/projection"}) {
    auto c = Begin(5, std::string("other tenant GET job") + suffix + " -> 404, no data");
    const auto x = Call("GET", job_path + suffix, o_.other_token, other_tenant_);
    c.http_status = x.status;
    c.error_code = x.error_code;
    c.elapsed_ms = x.elapsed_ms;
    const bool leaked =
        x.transport_ok &&
        ((!submission_id_.empty() && x.body.find(submission_id_) != std::string::npos) ||
         x.body.find("\"submission_id\"") != std::string::npos);
    if (!x.transport_ok) {
      Fail(c, x.transport_error, Diagnose("isolation", 0, ""));
    } else if (leaked || (x.status >= 200 && x.status < 300)) {
      Fail(
          c,
          "cross-tenant data returned (" + std::to_string(x.status) + "): " + x.body.substr(0, 200),
          Diagnose("isolation", 200, ""));
    } else if (x.status == 404 || x.status == 403) {
      c.passed = true;  // seed: "404 or scope error, never cross-tenant data"
    } else {
      Fail(c,
           "expected 404 (or a 403 scope error), got " + std::to_string(x.status) + " " +
               x.error_code,
           Diagnose("isolation", x.status, x.error_code));
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(5, "other tenant's token with this tenant's x-tenant-id -> 403");
    const auto x = Call("GET", job_path, o_.other_token, tenant_);
    if (ExpectStatus(c, x, 403, "isolation")) {
      if (x.body.find("\"submission_id\"") != std::string::npos) {
        Fail(c, "403 carried job data", Diagnose("isolation", 200, ""));
      }
    } else if (x.transport_ok && x.status >= 200 && x.status < 300) {
      c.diagnostic = Diagnose("isolation", 200, "");
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(5, "other tenant POST event for this job -> 404, history unchanged");
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      const auto x = Call("POST", job_path + "/events", o_.other_token, other_tenant_,
                          EventBody("evt-other-tenant-" + job_id_, "failed", "aiida-intruder",
                                    "2026-02-18T00:06:00Z", other_tenant_, false));
      c.http_status = x.status;
      c.error_code = x.error_code;
      if (!x.transport_ok) {
        Fail(c, x.transport_error, Diagnose("isolation", 0, ""));
      } else if (x.status != 404 && x.status != 403) {
        Fail(c, "expected 404, got " + std::to_string(x.status) + " " + x.body.substr(0, 200),
             Diagnose("isolation", 200, ""));
      } else {
        const auto d = Call("GET", job_path + "/detail", o_.token, tenant_);
        const auto* ev = Field(d.json, "events");
        if (!ev || !ev->is_array() || ev->as_array().size() != 2) {
          Fail(c, "history after the foreign write: " + d.body.substr(0, 300),
               Diagnose("isolation", 200, ""));
        } else {
          c.passed = true;
        }
      }
    }
    g.checks.push_back(std::move(c));
  }
  return g;
}

GateResult Runner::Gate6() {
  GateResult g{6, "projection alignment", {}};
  // The steps that changed the projection: one per distinct version.
  std::vector<ProjectionStep> changes;
  for (const auto& s : served_) {
    if (changes.empty() || changes.back().version != s.version) changes.push_back(s);
  }
  {
    auto c = Begin(6, "projection_version monotonic, +1 per applied event only");
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else if (projection_read_failed_ || served_.size() != 5) {
      Fail(c,
           "projection reads failed after some writes (" + std::to_string(served_.size()) +
               " of 5 served)",
           Diagnose("read", 404, ""));
    } else {
      // Reads after: submit, running, replay, drift 409, completed.
      const auto& v = served_;
      const bool ok = v[0].version >= 1 && v[1].version == v[0].version + 1 &&
                      v[2].version == v[1].version && v[3].version == v[2].version &&
                      v[4].version == v[3].version + 1;
      if (!ok) {
        Fail(c,
             "versions after submit, running, replay, rejected drift, completed: " +
                 FormatSteps(served_),
             "projection mismatch: a replay or a rejected event moved the projection, or an "
             "applied one did not; inspect runtime event ordering and relay logs");
      } else {
        c.passed = true;
      }
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(6, "projection sequence matches the event sequence");
    const std::vector<std::pair<std::string, std::string>> want = {
        {"submitted", "queued"}, {"running", "running"}, {"completed", "finished"}};
    std::vector<std::pair<std::string, std::string>> got;
    got.reserve(changes.size());
    for (const auto& s : changes) got.emplace_back(s.state, s.status);
    if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else if (got != want) {
      Fail(c,
           "projection went " + FormatSteps(changes) +
               "; events were submitted, running, "
               "completed",
           Diagnose("projection", 200, ""));
    } else {
      c.passed = true;
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(6, "product sink received the same sequence (--sink-log)");
    if (o_.sink_log.empty()) {
      c.passed = true;
      c.skipped = true;
      c.detail = "no --sink-log given: the product sink side is not checked";
    } else if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      const std::string mismatch = WaitAligned([&] {
        auto got = ReadSinkLog(o_.sink_log, tenant_, job_id_);
        return got ? CompareProjectionSequences(changes, *got) : got.error().message;
      });
      if (mismatch.empty()) {
        c.passed = true;
      } else {
        Fail(c, mismatch + " (waited " + std::to_string(o_.sink_wait.count()) + " ms)",
             Diagnose("projection", 200, ""));
      }
    }
    g.checks.push_back(std::move(c));
  }
  {
    auto c = Begin(6, "product read model applied the same sequence (--convex-url)");
    if (o_.convex_url.empty()) {
      c.passed = true;
      c.skipped = true;
      c.detail = "no --convex-url given: the product read model is not checked";
    } else if (submission_id_.empty()) {
      NeedsSubmit(c);
    } else {
      // Convex's HTTP query API; no gateway credential goes to the product's deployment.
      net::HttpRequest request{.method = "POST",
                               .url = convex_base_ + "/api/query",
                               .body = ReadModelQueryBody(o_.convex_query, tenant_, job_id_),
                               .timeout = o_.timeout};
      request.headers.emplace_back("content-type", "application/json");
      if (!o_.convex_token.empty()) {
        request.headers.emplace_back("Authorization", "Bearer " + o_.convex_token);
      }
      const std::string mismatch = WaitAligned([&] {
        const net::HttpResponse r = client_.Send(request);
        c.http_status = r.status;
        c.elapsed_ms = static_cast<long>(r.elapsed.count());
        if (r.status == 0) return "POST " + request.url + ": " + r.error;
        auto applied = ParseReadModelHistory(r.body);
        if (!applied || r.status != 200) {
          return "POST " + request.url + " (" + o_.convex_query + ") answered " +
                 std::to_string(r.status) + ": " +
                 (applied ? r.body.substr(0, 200) : applied.error().message);
        }
        return CompareAppliedHistory(changes, *applied);
      });
      if (mismatch.empty()) {
        c.passed = true;
      } else {
        Fail(c, mismatch + " (waited " + std::to_string(o_.sink_wait.count()) + " ms)",
             "read model mismatch: the product's receiver applied other versions than the "
             "gateway served (its dedupe or version check), or the relay did not deliver: "
             "inspect the receiver's applied history and the projection relay logs");
      }
    }
    g.checks.push_back(std::move(c));
  }
  return g;
}

std::string Runner::WaitAligned(const std::function<std::string()>& compare) {
  // The relay is asynchronous: compare again (bounded) until the last version arrives.
  const auto deadline = std::chrono::steady_clock::now() + o_.sink_wait;
  while (true) {
    std::string mismatch = compare();
    if (mismatch.empty() || std::chrono::steady_clock::now() >= deadline) return mismatch;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

ConformanceReport Runner::Run() {
  ConformanceReport r;
  base_ = o_.base_url;
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  convex_base_ = o_.convex_url;
  while (!convex_base_.empty() && convex_base_.back() == '/') convex_base_.pop_back();
  tenant_ = !o_.tenant_id.empty() ? o_.tenant_id : TenantFromToken(o_.token).value_or("");
  user_ = StringClaim(o_.token, "sub").value_or("rtgw-conformance");
  other_tenant_ = !o_.other_tenant_id.empty() ? o_.other_tenant_id
                                              : TenantFromToken(o_.other_token).value_or("");
  job_id_ = !o_.job_id.empty() ? o_.job_id : "job-gate-" + RandomHex(8);
  ev_running_ = "evt-running-" + job_id_;
  ev_completed_ = "evt-completed-" + job_id_;
  output_uri_ = "inline://gate/" + job_id_ + "/out";
  r.base_url = base_;
  r.tenant_id = tenant_;
  r.other_tenant_id = other_tenant_;
  r.job_id = job_id_;
  r.sink_log = o_.sink_log;
  r.convex_url = convex_base_;
  r.started_at = FormatRfc3339(std::chrono::system_clock::now());
  r.gates.push_back(Gate1());
  r.gates.push_back(Gate2());
  r.gates.push_back(Gate3());
  r.gates.push_back(Gate4());
  r.gates.push_back(Gate5());
  r.gates.push_back(Gate6());
  r.finished_at = FormatRfc3339(std::chrono::system_clock::now());
  return r;
}

}  // namespace

ConformanceReport RunConformance(const ConformanceOptions& options, net::HttpClient& client) {
  Runner runner(options, client);
  return runner.Run();
}

}  // namespace rtgw::conformance
