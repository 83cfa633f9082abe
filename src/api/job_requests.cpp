#include "api/job_requests.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "api/canonical_json.hpp"
#include "api/json_fields.hpp"
#include "api/schemas.hpp"
#include "common/text.hpp"
#include "common/time_format.hpp"
#include "crypto/crypto.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

Status CheckTenant(const Fields& f, std::string_view caller) {
  auto tenant = f.String(schema::kTenantId);
  if (!tenant) return tenant.error();
  if (*tenant != caller) {
    return PermissionDenied("tenant_id does not match the token's tenant", "tenant_mismatch");
  }
  return Ok{};
}

}  // namespace

bool IsValidJobId(std::string_view id) { return schema::Matches(schema::kJobId, id); }

Result<storage::SubmitRecord> ParseSubmitRequest(std::string_view body, const SubmitContext& ctx) {
  json::monotonic_resource mr;
  auto parsed = ParseBody(body, &mr);
  if (!parsed) return std::move(parsed).error();
  Fields f(parsed->get_object(), "");

  if (auto s = CheckTenant(f, ctx.caller_tenant_id); !s) return s.error();
  storage::SubmitRecord r;
  r.tenant_id = std::string(ctx.caller_tenant_id);

#define RTGW_TAKE(dst, expr)        \
  do {                              \
    auto tmp_ = (expr);             \
    if (!tmp_) return tmp_.error(); \
    (dst) = std::move(*tmp_);       \
  } while (0)

  RTGW_TAKE(r.workspace_id, f.String(schema::kSubmitWorkspaceId));
  RTGW_TAKE(r.job_id, f.String(schema::kJobId));
  if (!IsValidJobId(r.job_id)) {
    return f.Bad("job_id", "must be 1-" + std::to_string(schema::kJobId.max_chars) +
                               " characters of " + schema::CharsetText(schema::kJobId));
  }
  RTGW_TAKE(r.idempotency_key, f.String(schema::kIdempotencyKey));
  RTGW_TAKE(r.management_node_id, f.String(schema::kManagementNodeId));

  const json::object* profile = nullptr;
  const json::object* shape = nullptr;
  const json::object* payload = nullptr;
  const json::object* requested = nullptr;
  RTGW_TAKE(profile, f.Object("execution_profile", true));
  RTGW_TAKE(shape, f.Object("resource_shape", true));
  RTGW_TAKE(payload, f.Object("payload_ref", true));
  RTGW_TAKE(requested, f.Object("requested_by", true));

  std::string queue_name, input_uri, user_id;
  std::int64_t cpu = 0, memory_mib = 0, walltime = 0;
  Fields fp(*profile, "execution_profile");
  RTGW_TAKE(queue_name, fp.String(schema::kQueueName));
  Fields fs(*shape, "resource_shape");
  RTGW_TAKE(cpu, fs.Integer(schema::kCpu));
  RTGW_TAKE(memory_mib, fs.Integer(schema::kMemoryMib));
  RTGW_TAKE(walltime, fs.Integer(schema::kWalltimeSeconds));
  Fields fpay(*payload, "payload_ref");
  RTGW_TAKE(input_uri, fpay.Uri(schema::kInputUri));
  Fields fr(*requested, "requested_by");
  RTGW_TAKE(user_id, fr.String(schema::kUserId));

  // The canonical forms (CanonicalJson: keys sorted, no spaces) written
  // directly: the members are known, so this is the text CanonicalJson gives
  // for the same objects (SubmitRequestTest.CanonicalTextIsCanonicalJson)
  // without building and copying them; a submit is the hottest request.
  const std::string profile_json = "{\"queue_name\":" + JsonQuoted(queue_name) + "}";
  const std::string payload_json = "{\"input_uri\":" + JsonQuoted(input_uri) + "}";
  const std::string requested_json = "{\"user_id\":" + JsonQuoted(user_id) + "}";
  const std::string shape_json = "{\"cpu\":" + std::to_string(cpu) +
                                 ",\"memory_mib\":" + std::to_string(memory_mib) +
                                 ",\"walltime_seconds\":" + std::to_string(walltime) + "}";
  r.spec_json = "{\"execution_profile\":" + profile_json + ",\"payload_ref\":" + payload_json +
                ",\"requested_by\":" + requested_json + ",\"resource_shape\":" + shape_json + "}";
  r.requested_by = user_id;
  const std::string canonical =
      "{\"execution_profile\":" + profile_json +
      ",\"idempotency_key\":" + JsonQuoted(r.idempotency_key) +
      ",\"job_id\":" + JsonQuoted(r.job_id) +
      ",\"management_node_id\":" + JsonQuoted(r.management_node_id) +
      ",\"payload_ref\":" + payload_json + ",\"requested_by\":" + requested_json +
      ",\"resource_shape\":" + shape_json + ",\"tenant_id\":" + JsonQuoted(r.tenant_id) +
      ",\"workspace_id\":" + JsonQuoted(r.workspace_id) + "}";
  r.request_fingerprint = crypto::Sha256Hex(canonical);

  r.submission_id = std::string(ctx.submission_id);
  r.accepted_at = std::string(ctx.accepted_at);
  r.trace_id = std::string(ctx.trace_id);
  r.response_json = "{\"job_id\":" + JsonQuoted(r.job_id) +
                    ",\"submission_id\":" + JsonQuoted(r.submission_id) +
                    ",\"accepted_at\":" + JsonQuoted(r.accepted_at) +
                    ",\"trace_id\":" + JsonQuoted(r.trace_id) + "}";
  return r;
}

Result<storage::EventRecord> ParseEventRequest(std::string_view body, const EventContext& ctx) {
  json::monotonic_resource mr;
  auto parsed = ParseBody(body, &mr);
  if (!parsed) return std::move(parsed).error();
  Fields f(parsed->get_object(), "");

  if (auto s = CheckTenant(f, ctx.caller_tenant_id); !s) return s.error();
  storage::EventRecord r;
  r.tenant_id = std::string(ctx.caller_tenant_id);
  RTGW_TAKE(r.job_id, f.String(schema::kEventJobId));
  if (r.job_id != ctx.path_job_id) {
    return InvalidArgument("job_id: does not match the job in the path", "job_id_mismatch");
  }
  RTGW_TAKE(r.event_id, f.String(schema::kEventId));
  RTGW_TAKE(r.workspace_id, f.String(schema::kEventWorkspaceId));
  RTGW_TAKE(r.submission_id, f.String(schema::kSubmissionId));
  RTGW_TAKE(r.execution_id, f.String(schema::kExecutionId));
  std::string state;
  RTGW_TAKE(state, f.String("state", 32));
  auto parsed_state = jobs::ParseJobState(state);
  if (!parsed_state) {
    return f.Bad("state", "must be one of queued, running, completed, failed, cancelled");
  }
  r.state = *parsed_state;
  RTGW_TAKE(r.occurred_at, f.String("occurred_at", 64));
  const auto occurred_at = ParseRfc3339(r.occurred_at);
  if (!occurred_at) {
    return f.Bad("occurred_at", "must be an RFC 3339 date-time from " + std::string(kRfc3339Range));
  }
  r.occurred_at = FormatRfc3339(*occurred_at);  // stored and fingerprinted as UTC, microseconds
  RTGW_TAKE(r.trace_id, f.String(schema::kEventTraceId));

  const json::object* result_ref = nullptr;
  RTGW_TAKE(result_ref, f.Object("result_ref", false));
  if (result_ref != nullptr) {
    Fields fr(*result_ref, "result_ref");
    std::string output_uri;
    RTGW_TAKE(output_uri, fr.Uri(schema::kOutputUri));
    json::object ref{{"output_uri", output_uri}};
    r.result_ref_json = CanonicalJson(ref);
  }
  const json::object* error = nullptr;
  RTGW_TAKE(error, f.Object("error", false));
  if (error != nullptr) {
    Fields fe(*error, "error");
    json::object err;
    if (fe.Find("code") != nullptr && !fe.Find("code")->is_null()) {
      std::string code;
      RTGW_TAKE(code, fe.String("code", schema::kEventErrorCodeMaxChars));
      err["code"] = code;
    }
    if (fe.Find("message") != nullptr && !fe.Find("message")->is_null()) {
      const json::value* m = fe.Find("message");
      constexpr std::int64_t kMax = schema::kEventErrorMessageMaxChars;
      if (!m->is_string() || static_cast<std::int64_t>(m->get_string().size()) > kMax) {
        return fe.Bad("message",
                      "must be a string of at most " + std::to_string(kMax) + " characters");
      }
      err["message"] = m->get_string();
    }
    if (fe.Find("exit_code") != nullptr && !fe.Find("exit_code")->is_null()) {
      std::int64_t exit_code = 0;
      RTGW_TAKE(exit_code, fe.Integer(schema::kExitCode));
      err["exit_code"] = exit_code;
    }
    if (fe.Find("signal") != nullptr && !fe.Find("signal")->is_null()) {
      std::int64_t signal = 0;
      RTGW_TAKE(signal, fe.Integer(schema::kSignal));
      err["signal"] = signal;
    }
    r.error_json = CanonicalJson(err);
  }
#undef RTGW_TAKE

  r.received_at = std::string(ctx.received_at);
  // CanonicalJson of {tenant_id, job_id, event_id, workspace_id, submission_id,
  // execution_id, state, occurred_at, trace_id, result_ref?, error?} written
  // directly, keys in sorted order (EventRequestTest.CanonicalTextIsCanonicalJson).
  std::string canonical = "{";
  if (r.error_json) canonical += "\"error\":" + *r.error_json + ",";
  canonical +=
      "\"event_id\":" + JsonQuoted(r.event_id) + ",\"execution_id\":" + JsonQuoted(r.execution_id) +
      ",\"job_id\":" + JsonQuoted(r.job_id) + ",\"occurred_at\":" + JsonQuoted(r.occurred_at);
  if (r.result_ref_json) canonical += ",\"result_ref\":" + *r.result_ref_json;
  canonical +=
      ",\"state\":" + JsonQuoted(state) + ",\"submission_id\":" + JsonQuoted(r.submission_id) +
      ",\"tenant_id\":" + JsonQuoted(r.tenant_id) + ",\"trace_id\":" + JsonQuoted(r.trace_id) +
      ",\"workspace_id\":" + JsonQuoted(r.workspace_id) + "}";
  r.fingerprint = crypto::Sha256Hex(canonical);
  return r;
}

}  // namespace rtgw::api
