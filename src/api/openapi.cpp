#include "api/openapi.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "api/console_assets.hpp"
#include "api/health.hpp"
#include "api/routes.hpp"
#include "api/schemas.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

json::value Ref(std::string_view name) {
  return json::object{{"$ref", "#/components/schemas/" + std::string(name)}};
}

json::object Str(std::string_view description, int max_length = 256) {
  return json::object{{"type", "string"},
                      {"minLength", 1},
                      {"maxLength", max_length},
                      {"description", description}};
}

// The schema of a field of api/schemas.hpp (what its parser checks).
json::object Str(const schema::StringField& field) {
  json::object o = Str(field.description, static_cast<int>(field.max_chars));
  if (!field.charset.empty()) o["pattern"] = schema::Pattern(field);
  return o;
}

json::object Int(const schema::IntegerField& field) {
  json::object o{{"type", "integer"}, {"minimum", field.min}, {"maximum", field.max}};
  if (!field.description.empty()) o["description"] = field.description;
  return o;
}

// A query parameter read by api/query_params.hpp from a field of api/schemas.hpp.
json::object QueryParam(std::string_view name, std::string_view description, json::object schema) {
  return json::object{{"name", name},
                      {"in", "query"},
                      {"required", false},
                      {"description", description},
                      {"schema", std::move(schema)}};
}

json::object QueryParam(const schema::StringField& field) {
  json::object o = Str(field);
  o.erase("description");
  return QueryParam(field.name, field.description, std::move(o));
}

json::object QueryParam(const schema::IntegerField& field) {
  json::object o = Int(field);
  o.erase("description");
  return QueryParam(field.name, field.description, std::move(o));
}

// A validator input file's name: the charset of schema::kInputFileName, not starting with '.'.
json::object FileName() {
  const schema::StringField& f = schema::kInputFileName;
  json::object o = Str(f.description, static_cast<int>(f.max_chars));
  o["pattern"] = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0," + std::to_string(f.max_chars - 1) + "}$";
  return o;
}

json::object Obj(json::object properties, const std::vector<std::string_view>& required) {
  json::array req;
  for (auto r : required) req.emplace_back(r);
  json::object o{{"type", "object"}, {"properties", std::move(properties)}};
  if (!req.empty()) o["required"] = std::move(req);
  return o;
}

json::value Nullable(json::value schema) {
  return json::object{{"oneOf", json::array{std::move(schema), json::object{{"type", "null"}}}}};
}

json::object Type(std::string_view type) { return json::object{{"type", type}}; }

json::object NullableType(std::string_view type) {
  return json::object{{"type", json::array{type, "null"}}};
}

json::object Enum(std::initializer_list<std::string_view> values) {
  json::array list;
  for (std::string_view v : values) list.emplace_back(v);
  return json::object{{"type", "string"}, {"enum", std::move(list)}};
}

// GET /api/health (api/health.hpp, http-api.md "Health"). A check that is not
// "ok" says why: "reason" (the store: "detail").
void HealthSchemas(json::object& s) {
  const json::object reason = Str("Why the check is not ok.", 4096);
  s["HealthStore"] =
      Obj({{"status", Enum({"ok", "unavailable"})},
           {"backend", Enum({"sqlite", "postgresql", "unknown"})},
           {"reachable", Type("boolean")},
           {"writable", Type("boolean")},
           {"integrity", Enum({"ok", "failed"})},
           {"detail", Str("Which check failed; the log has the store's own text.", 4096)}},
          {"status", "backend", "reachable", "writable"});
  s["HealthSlurmAdapter"] = Obj({{"status", Enum({"ok", "degraded"})},
                                 {"adapter", Enum({"passthrough", "stub-policy", "real-policy"})},
                                 {"contract_version", Type("string")},
                                 {"policy_file", NullableType("string")},
                                 {"policy_sha256", NullableType("string")},
                                 {"rollback", NullableType("object")},
                                 {"reason", reason}},
                                {"status", "adapter", "contract_version", "rollback"});
  s["HealthSubmitAdmission"] = Obj(
      {{"status", Enum({"ok", "degraded"})},
       {"adapter", Type("string")},
       {"catalogue_max_age_seconds", Type("integer")},
       {"scope", Enum({"tenant", "summary"})},
       {"nodes_total", Type("integer")},
       {"nodes_refusing", Type("integer")},
       {"nodes",
        json::object{
            {"type", "array"},
            {"maxItems", static_cast<std::int64_t>(kHealthNodesListedMax)},
            {"items",
             Obj({{"node_id", Type("string")},
                  {"queues_refused", json::object{{"type", "array"}, {"items", Type("string")}}},
                  {"reasons", json::object{{"type", "array"}, {"items", Type("string")}}}},
                 {"node_id", "queues_refused", "reasons"})}}},
       {"reason", reason}},
      {"status", "adapter", "scope"});
  s["HealthProjectionRelay"] = Obj({{"status", Enum({"ok", "degraded"})},
                                    {"sink", Type("string")},
                                    {"running", Type("boolean")},
                                    {"in_flight", Type("integer")},
                                    {"delivered_total", Type("integer")},
                                    {"failed_attempts_total", Type("integer")},
                                    {"consecutive_failures", Type("integer")},
                                    {"last_delivery_at", NullableType("string")},
                                    {"last_error", NullableType("string")},
                                    {"backlog", Type("integer")},
                                    {"dead_letters", Type("integer")},
                                    {"oldest_undelivered_seconds", Type("number")},
                                    {"reason", reason}},
                                   {"status", "consecutive_failures", "backlog", "dead_letters"});
  s["Health"] =
      Obj({{"status", Enum({"ok", "degraded", "unavailable"})},
           {"version", json::object{{"type", "string"}}},
           {"checks",
            Obj({{"store", Ref("HealthStore")},
                 {"slurm_adapter", Ref("HealthSlurmAdapter")},
                 {"submit_admission", Ref("HealthSubmitAdmission")},
                 {"projection_relay", Ref("HealthProjectionRelay")},
                 {"managed_aiida_runtime",
                  Obj({{"status", Enum({"ok", "degraded", "empty", "unavailable"})}}, {"status"})}},
                {"store", "slurm_adapter"})}},
          {"status", "checks"});
}

// Schemas of the Slurm adapter boundary and the management-node surface
// (docs/contracts/slurm-adapter-boundary.md, agent-protocol.md).
void NodeSchemas(json::object& s) {
  s["QueueMapping"] = Obj({{"queue", Type("string")},
                           {"partition", Type("string")},
                           {"account", NullableType("string")},
                           {"qos", NullableType("string")},
                           {"max_walltime_minutes", Type("integer")}},
                          {"queue", "partition", "account", "qos", "max_walltime_minutes"});
  s["SlurmAdapterBoundary"] =
      Obj({{"adapter",
            json::object{{"type", "string"},
                         {"enum", json::array{"passthrough", "stub-policy", "real-policy"}}}},
           {"contract_version",
            json::object{{"type", "string"}, {"const", "slurm-adapter-boundary/v1"}}},
           {"requested_queue", Type("string")},
           {"resolved_queue", Type("string")},
           {"used_fallback", Type("boolean")},
           {"mapping", Nullable(Ref("QueueMapping"))}},
          {"adapter", "contract_version", "requested_queue", "resolved_queue", "used_fallback",
           "mapping"});
  s["SlurmPartition"] = Obj({{"name", Str("Partition name.")},
                             {"state", Str("Slurm partition state (up, down, drain, inactive).")},
                             {"default", Type("boolean")},
                             {"max_time_minutes", NullableType("integer")},
                             {"total_nodes", NullableType("integer")},
                             {"idle_nodes", NullableType("integer")},
                             {"total_cpus", NullableType("integer")},
                             {"idle_cpus", NullableType("integer")}},
                            {"name", "state"});
  s["SlurmCatalogue"] =
      Obj({{"version", Str("Slurm version.")},
           {"cluster", NullableType("string")},
           {"partitions", json::object{{"type", "array"}, {"items", Ref("SlurmPartition")}}},
           {"accounts", json::object{{"type", "array"}, {"items", Type("string")}}},
           {"qos", json::object{{"type", "array"}, {"items", Type("string")}}}},
          {"version", "partitions"});
  json::object executor{{"type", "string"}, {"enum", json::array{"slurm", "local"}}};
  s["NodeHeartbeat"] = Obj({{schema::kAgentVersion.name, Str(schema::kAgentVersion)},
                            {"executor", executor},
                            {"slurm", Nullable(Ref("SlurmCatalogue"))},
                            {schema::kInFlight.name, Int(schema::kInFlight)}},
                           {"agent_version", "executor"});
  s["NodeHeartbeatAck"] =
      Obj({{"ok", Type("boolean")},
           {"server_time", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"stale_after_seconds", Type("integer")}},
          {"ok", "server_time", "stale_after_seconds"});
  s["AcquireLeasesRequest"] = Obj({{schema::kMaxJobs.name, Int(schema::kMaxJobs)},
                                   {schema::kWaitSeconds.name, Int(schema::kWaitSeconds)},
                                   {schema::kLeaseSeconds.name, Int(schema::kLeaseSeconds)}},
                                  {});
  json::object lease_props{
      {"lease_id", Type("string")},
      {"lease_expires_at", json::object{{"type", "string"}, {"format", "date-time"}}},
      {"job_id", Type("string")},
      {"tenant_id", Type("string")},
      {"workspace_id", Type("string")},
      {"submission_id", Type("string")},
      {"trace_id", Type("string")},
      {"execution_profile", Ref("ExecutionProfile")},
      {"resource_shape", Ref("ResourceShape")},
      {"payload_ref", Ref("PayloadRef")},
      {"requested_by", Ref("RequestedBy")},
      {"slurm_adapter", Nullable(Ref("SlurmAdapterBoundary"))}};
  std::vector<std::string_view> lease_required;
  for (const auto& kv : lease_props) lease_required.push_back(kv.key());
  s["Lease"] = Obj(lease_props, lease_required);
  s["Cancellation"] = Obj({{"job_id", Type("string")},
                           {"submission_id", Type("string")},
                           {"execution_id", NullableType("string")}},
                          {"job_id", "submission_id", "execution_id"});
  s["AcquireLeasesResponse"] =
      Obj({{"leases", json::object{{"type", "array"}, {"items", Ref("Lease")}}},
           {"cancellations", json::object{{"type", "array"}, {"items", Ref("Cancellation")}}}},
          {"leases", "cancellations"});
  s["RenewLeaseRequest"] =
      Obj({{schema::kRenewLeaseSeconds.name, Int(schema::kRenewLeaseSeconds)}}, {});
  s["RenewLeaseResponse"] =
      Obj({{"lease_id", Type("string")},
           {"lease_expires_at", json::object{{"type", "string"}, {"format", "date-time"}}}},
          {"lease_id", "lease_expires_at"});
  s["OkResponse"] = Obj({{"ok", Type("boolean")}}, {"ok"});
  json::object job_state{
      {"type", "string"},
      {"enum", json::array{"submitted", "queued", "running", "completed", "failed", "cancelled"}}};
  s["CancelJobResponse"] =
      Obj({{"job_id", Type("string")}, {"state", job_state}, {"cancel_requested", Type("boolean")}},
          {"job_id", "state", "cancel_requested"});
  s["OnboardingDryRunRequest"] = Obj({{schema::kNodeId.name, Str(schema::kNodeId)},
                                      {"executor", executor},
                                      {schema::kAgentVersion.name, Str(schema::kAgentVersion)},
                                      {"slurm", Nullable(Ref("SlurmCatalogue"))}},
                                     {"node_id", "executor"});
  s["OnboardingDryRunReport"] =
      Obj({{"dry_run", Type("boolean")},
           {"ok", Type("boolean")},
           {"would_register", json::object{{"type", "object"}}},
           {"adapter", Type("string")},
           {"contract_version", Type("string")},
           {"fallback_queue", NullableType("string")},
           {"queue_mappings",
            json::object{{"type", "array"}, {"items", json::object{{"type", "object"}}}}},
           {"notes", json::object{{"type", "array"}, {"items", Type("string")}}}},
          {"dry_run", "ok", "would_register", "adapter", "contract_version", "queue_mappings",
           "notes"});
}

// Schemas of the validator routes (docs/contracts/validator-callback.md).
void ValidatorSchemas(json::object& s) {
  json::object run_status{
      {"type", "string"},
      {"enum", json::array{"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}}};
  json::object terminal_status{{"type", "string"},
                               {"enum", json::array{"SUCCEEDED", "FAILED", "CANCELLED"}}};
  json::object file{
      {"type", "object"},
      {"properties",
       json::object{{schema::kInputFileName.name, FileName()},
                    {"content", json::object{{"type", "string"}, {"description", "UTF-8 text."}}},
                    {"content_base64", json::object{{"type", "string"}}}}},
      {"required", json::array{"name"}}};
  s["LaunchValidationRequest"] =
      Obj({{schema::kValidator.name, Str(schema::kValidator)},
           {schema::kValidatorVersion.name, Str(schema::kValidatorVersion)},
           {schema::kValidationWorkspaceId.name, Str(schema::kValidationWorkspaceId)},
           {schema::kValidationIdempotencyKey.name, Str(schema::kValidationIdempotencyKey)},
           {"input", Obj({{"document", json::object{{"description", "Any JSON value."}}},
                          {"files", json::object{{"type", "array"},
                                                 {"maxItems", schema::kInputFilesMax},
                                                 {"items", file}}}},
                         {"document"})}},
          {"validator", "workspace_id", "input"});
  s["ValidationRun"] =
      Obj({{"run_id", Type("string")},
           {"tenant_id", Type("string")},
           {"workspace_id", Type("string")},
           {"validator", Type("string")},
           {"version", Type("string")},
           {"launcher",
            json::object{{"type", "string"}, {"enum", json::array{"local", "cloud-run", "slurm"}}}},
           {"status", run_status},
           {"attempt", json::object{{"type", "integer"}, {"minimum", 1}}},
           {"job_id", Type("string")},
           {"execution_name", Type("string")},
           {"input_uri", Type("string")},
           {"result_uri", NullableType("string")},
           {"findings", NullableType("array")},
           {"error", NullableType("string")},
           {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"finished_at", Nullable(json::object{{"type", "string"}, {"format", "date-time"}})}},
          {"run_id", "tenant_id", "workspace_id", "validator", "version", "launcher", "status",
           "attempt", "job_id", "execution_name", "input_uri", "result_uri", "findings", "error",
           "created_at", "finished_at"});
  s["ValidationRunList"] =
      Obj({{"runs", json::object{{"type", "array"},
                                 {"items", Ref("ValidationRun")},
                                 {"description",
                                  "Newest first (created_at, then run_id, descending); each as GET "
                                  "/api/runtime/validations/{run_id} returns it."}}},
           {"next_cursor",
            json::object{{"type", json::array{"string", "null"}},
                         {"description",
                          "Send as cursor, with the same filters, for the next page; null on the "
                          "last page."}}}},
          {"runs", "next_cursor"});
  s["ValidatorCallbackRequest"] =
      Obj({{schema::kRunId.name, Str(schema::kRunId)},
           {schema::kCallbackId.name, Str(schema::kCallbackId)},
           {"status", terminal_status},
           {"result_uri",
            json::object{{"type", json::array{"string", "null"}},
                         {"maxLength", schema::kResultUriMaxChars},
                         {"description", "file:// or gs:// URI; required with SUCCEEDED."}}},
           {"findings", json::object{{"type", json::array{"array", "null"}},
                                     {"description", "At most 1 MiB serialized."}}},
           {"error", json::object{{"description", "A message, or {\"message\": ...}."},
                                  {"type", json::array{"string", "object", "null"}}}}},
          {"run_id", "callback_id", "status"});
  s["ValidatorCallbackReceipt"] =
      Obj({{"ok", Type("boolean")},
           {"run_id", Type("string")},
           {"callback_id", Type("string")},
           {"status", terminal_status},
           {"received_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"replay", json::object{{"type", "boolean"},
                                   {"description",
                                    "Present (true) when this is the stored receipt "
                                    "of an earlier delivery; nothing was applied."}}}},
          {"ok", "run_id", "callback_id", "status", "received_at"});
}

json::object Schemas() {
  json::object s;
  s["Error"] = Obj({{"error", Obj({{"code", json::object{{"type", "string"}}},
                                   {"message", json::object{{"type", "string"}}},
                                   {"trace_id", json::object{{"type", "string"}}}},
                                  {"code", "message", "trace_id"})}},
                   {"error"});
  s["ExecutionProfile"] = Obj({{schema::kQueueName.name, Str(schema::kQueueName)}}, {"queue_name"});
  s["ResourceShape"] = Obj({{schema::kCpu.name, Int(schema::kCpu)},
                            {schema::kMemoryMib.name, Int(schema::kMemoryMib)},
                            {schema::kWalltimeSeconds.name, Int(schema::kWalltimeSeconds)}},
                           {"cpu", "memory_mib", "walltime_seconds"});
  s["PayloadRef"] = Obj({{schema::kInputUri.name, Str(schema::kInputUri)}}, {"input_uri"});
  s["RequestedBy"] = Obj({{schema::kUserId.name, Str(schema::kUserId)}}, {"user_id"});
  s["ResultRef"] = Obj({{schema::kOutputUri.name, Str(schema::kOutputUri)}}, {"output_uri"});
  s["EventError"] = Obj(
      {{"code", json::object{{"type", "string"}, {"maxLength", schema::kEventErrorCodeMaxChars}}},
       {"message",
        json::object{{"type", "string"}, {"maxLength", schema::kEventErrorMessageMaxChars}}},
       {schema::kExitCode.name, Int(schema::kExitCode)},
       {schema::kSignal.name, Int(schema::kSignal)}},
      {});
  s["SubmitJobRequest"] =
      Obj({{schema::kTenantId.name, Str(schema::kTenantId)},
           {schema::kSubmitWorkspaceId.name, Str(schema::kSubmitWorkspaceId)},
           {schema::kJobId.name, Str(schema::kJobId)},
           {schema::kIdempotencyKey.name, Str(schema::kIdempotencyKey)},
           {schema::kManagementNodeId.name, Str(schema::kManagementNodeId)},
           {"execution_profile", Ref("ExecutionProfile")},
           {"resource_shape", Ref("ResourceShape")},
           {"payload_ref", Ref("PayloadRef")},
           {"requested_by", Ref("RequestedBy")}},
          {"tenant_id", "workspace_id", "job_id", "idempotency_key", "management_node_id",
           "execution_profile", "resource_shape", "payload_ref", "requested_by"});
  s["SubmitJobResponse"] =
      Obj({{"job_id", json::object{{"type", "string"}}},
           {"submission_id", json::object{{"type", "string"}, {"format", "uuid"}}},
           {"accepted_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"trace_id", json::object{{"type", "string"}}}},
          {"job_id", "submission_id", "accepted_at", "trace_id"});
  json::object event_state{
      {"type", "string"},
      {"enum", json::array{"queued", "running", "completed", "failed", "cancelled"}}};
  json::object job_state{
      {"type", "string"},
      {"enum", json::array{"submitted", "queued", "running", "completed", "failed", "cancelled"}}};
  s["ExecutionEventRequest"] =
      Obj({{schema::kEventId.name, Str(schema::kEventId)},
           {schema::kTenantId.name, Str(schema::kTenantId)},
           {schema::kEventWorkspaceId.name, Str(schema::kEventWorkspaceId)},
           {schema::kEventJobId.name, Str(schema::kEventJobId)},
           {schema::kSubmissionId.name, Str(schema::kSubmissionId)},
           {schema::kExecutionId.name, Str(schema::kExecutionId)},
           {"state", event_state},
           {"occurred_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {schema::kEventTraceId.name, Str(schema::kEventTraceId)},
           {"result_ref", Ref("ResultRef")},
           {"error", Ref("EventError")}},
          {"event_id", "tenant_id", "workspace_id", "job_id", "submission_id", "execution_id",
           "state", "occurred_at", "trace_id"});
  s["EventAck"] = Obj({{"ok", json::object{{"type", "boolean"}}},
                       {"idempotent", json::object{{"type", "boolean"}}}},
                      {"ok", "idempotent"});
  json::object job_props{{"job_id", json::object{{"type", "string"}}},
                         {"tenant_id", json::object{{"type", "string"}}},
                         {"workspace_id", json::object{{"type", "string"}}},
                         {"submission_id", json::object{{"type", "string"}}},
                         {"management_node_id", json::object{{"type", "string"}}},
                         {"state", job_state},
                         {"execution_profile", Ref("ExecutionProfile")},
                         {"resource_shape", Ref("ResourceShape")},
                         {"payload_ref", Ref("PayloadRef")},
                         {"requested_by", Ref("RequestedBy")},
                         {"result_ref", Nullable(Ref("ResultRef"))},
                         {"error", Nullable(Ref("EventError"))},
                         {"accepted_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                         {"updated_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                         {"trace_id", json::object{{"type", "string"}}},
                         {"projection_version", json::object{{"type", "integer"}, {"minimum", 1}}}};
  job_props["slurm_adapter"] = Nullable(Ref("SlurmAdapterBoundary"));
  std::vector<std::string_view> job_required;
  for (const auto& kv : job_props) job_required.push_back(kv.key());
  s["Job"] = Obj(job_props, job_required);
  s["JobList"] =
      Obj({{"jobs", json::object{{"type", "array"},
                                 {"items", Ref("Job")},
                                 {"description",
                                  "Newest submission first (accepted_at, then job_id, descending); "
                                  "each as GET /api/runtime/jobs/{job_id} returns it."}}},
           {"next_cursor",
            json::object{{"type", json::array{"string", "null"}},
                         {"description",
                          "Send as cursor, with the same filters, for the next page; null on the "
                          "last page."}}},
           {"watch_from",
            json::object{{"type", "string"},
                         {"description",
                          "A change cursor taken before the first page was read: GET "
                          "/api/runtime/jobs:watch?after=<watch_from> misses no change the pages "
                          "did not show. Every page of one listing returns the same."}}}},
          {"jobs", "next_cursor", "watch_from"});
  s["JobEvent"] = Obj({{"seq", json::object{{"type", "integer"}}},
                       {"event_id", json::object{{"type", "string"}}},
                       {"execution_id", json::object{{"type", "string"}}},
                       {"state", event_state},
                       {"occurred_at", json::object{{"type", "string"}}},
                       {"received_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                       {"trace_id", json::object{{"type", "string"}}},
                       {"result_ref", Nullable(Ref("ResultRef"))},
                       {"error", Nullable(Ref("EventError"))},
                       {"applied", json::object{{"type", "boolean"},
                                                {"description",
                                                 "False when the event did not move the state "
                                                 "(late, repeated or after a terminal state)."}}},
                       {"actor", Nullable(Ref("Actor"))}},
                      {"seq", "event_id", "execution_id", "state", "occurred_at", "received_at",
                       "trace_id", "result_ref", "error", "applied", "actor"});
  s["Actor"] =
      Obj({{"sub", json::object{{"type", "string"}, {"description", "The token's sub claim."}}},
           {"node_id",
            json::object{{"type", "string"}, {"description", "The node token's node_id claim."}}}},
          {"sub"});
  json::object detail_props = job_props;
  detail_props["events"] = json::object{{"type", "array"}, {"items", Ref("JobEvent")}};
  detail_props["submitted_by"] = Nullable(Ref("Actor"));
  job_required.push_back("events");
  job_required.push_back("submitted_by");
  s["JobDetail"] = Obj(detail_props, job_required);
  s["JobProjection"] = Obj(
      {{"job_id", json::object{{"type", "string"}}},
       {"tenant_id", json::object{{"type", "string"}}},
       {"workspace_id", json::object{{"type", "string"}}},
       {"submission_id", json::object{{"type", "string"}}},
       {"status", json::object{{"type", "string"},
                               {"enum", json::array{"queued", "running", "finished", "failed",
                                                    "cancelled"}}}},
       {"state", job_state},
       {"projection_version",
        json::object{{"type", "integer"},
                     {"minimum", 1},
                     {"description", "Grows by one per applied state change; never decreases."}}},
       {"updated_at", json::object{{"type", "string"}, {"format", "date-time"}}},
       {"result_ref", Nullable(Ref("ResultRef"))},
       {"error", Nullable(Ref("EventError"))}},
      {"job_id", "tenant_id", "workspace_id", "submission_id", "status", "state",
       "projection_version", "updated_at", "result_ref", "error"});
  s["ProjectionUpdate"] =
      Obj({{"tenant_id", json::object{{"type", "string"}}},
           {"workspace_id", json::object{{"type", "string"}}},
           {"job_id", json::object{{"type", "string"}}},
           {"submission_id", json::object{{"type", "string"}}},
           {"status", json::object{{"type", "string"},
                                   {"enum", json::array{"queued", "running", "finished", "failed",
                                                        "cancelled"}}}},
           {"state", job_state},
           {"projection_version", json::object{{"type", "integer"}, {"minimum", 1}}},
           {"occurred_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"trace_id", json::object{{"type", "string"}}},
           {"result_ref", Ref("ResultRef")},
           {"error", Ref("EventError")}},
          {"tenant_id", "workspace_id", "job_id", "submission_id", "status", "state",
           "projection_version", "occurred_at", "trace_id"});
  s["DeadLetter"] = Obj(
      {{"id", json::object{{"type", "integer"}, {"description", "Outbox row id (for replay)."}}},
       {"tenant_id", json::object{{"type", "string"}}},
       {"job_id", json::object{{"type", "string"}}},
       {"projection_version", json::object{{"type", "integer"}, {"minimum", 1}}},
       {"attempts", json::object{{"type", "integer"}}},
       {"last_error", Nullable(json::object{{"type", "string"}})},
       {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}},
       {"dead_at", json::object{{"type", "string"}, {"format", "date-time"}}},
       {"payload", Ref("ProjectionUpdate")}},
      {"id", "tenant_id", "job_id", "projection_version", "attempts", "last_error", "created_at",
       "dead_at", "payload"});
  s["DeadLetterList"] =
      Obj({{"dead_letters", json::object{{"type", "array"}, {"items", Ref("DeadLetter")}}}},
          {"dead_letters"});
  s["ReplayDeadLetterRequest"] =
      Obj({{"id", json::object{{"type", "integer"}, {"minimum", 1}}}}, {"id"});
  s["ReplayDeadLetterResponse"] =
      Obj({{"ok", json::object{{"type", "boolean"}}}, {"id", json::object{{"type", "integer"}}}},
          {"ok", "id"});
  s["RevokeTokenRequest"] =
      Obj({{"jti", json::object{{"type", "string"},
                                {"minLength", 1},
                                {"maxLength", schema::kJti.max_chars},
                                {"description", schema::kJti.description}}},
           {"expires_at",
            json::object{{"type", "string"},
                         {"format", "date-time"},
                         {"description",
                          "Until when it is refused (future); default: now + the server's longest "
                          "accepted token lifetime."}}}},
          {"jti"});
  s["RevokeTokenResponse"] =
      Obj({{"jti", json::object{{"type", "string"}}},
           {"expires_at", json::object{{"type", "string"}, {"format", "date-time"}}},
           {"revoked", json::object{{"type", "boolean"}, {"const", true}}}},
          {"jti", "expires_at", "revoked"});
  s["ManagementNode"] = Obj(
      {{"node_id", json::object{{"type", "string"}}},
       {"tenant_id", json::object{{"type", "string"}}},
       {"executor", json::object{{"type", "string"}}},
       {"agent_version", json::object{{"type", "string"}}},
       {"last_seen", json::object{{"type", "string"}, {"format", "date-time"}}},
       {"age_seconds", json::object{{"type", "integer"}, {"minimum", 0}}},
       {"stale", json::object{{"type", "boolean"}}},
       {"in_flight", json::object{{"type", "integer"}}},
       {"slurm_version", json::object{{"description", "From the last catalogue; null if none."}}},
       {"partitions", json::object{{"type", "array"}}}},
      {"node_id", "tenant_id", "executor", "agent_version", "last_seen", "age_seconds", "stale",
       "in_flight", "slurm_version", "partitions"});
  s["NodeList"] =
      Obj({{"status",
            json::object{{"type", "string"}, {"enum", json::array{"ok", "degraded", "empty"}}}},
           {"scope", json::object{{"type", "string"}, {"const", "tenant"}}},
           {"stale_after_seconds", json::object{{"type", "integer"}}},
           {"nodes_total", json::object{{"type", "integer"}}},
           {"nodes_stale", json::object{{"type", "integer"}}},
           {"nodes", json::object{{"type", "array"}, {"items", Ref("ManagementNode")}}}},
          {"status", "scope", "stale_after_seconds", "nodes_total", "nodes_stale", "nodes"});
  NodeSchemas(s);
  ValidatorSchemas(s);
  HealthSchemas(s);
  return s;
}

json::object ErrorResponse(std::string_view description) {
  return json::object{
      {"description", description},
      {"content", json::object{{"application/json", json::object{{"schema", Ref("Error")}}}}}};
}

json::object JsonResponse(std::string_view description, std::string_view schema) {
  return json::object{
      {"description", description},
      {"content", json::object{{"application/json", json::object{{"schema", Ref(schema)}}}}}};
}

// The optional error answers RuntimeErrors adds, by the key a route names.
// A key's status replaces the default answer of that status (401/403/503).
struct ExtraError {
  std::string_view key;
  std::string_view status;
  std::string_view description;
  bool retry_after = false;
};
constexpr ExtraError kExtraErrors[] = {
    {"400", "400", "Invalid input; the message names the field."},
    {"403-node", "403",
     "tenant_mismatch; scope_denied; node_token_required (no node_id claim); node_mismatch "
     "(another node's path or job); subject_mismatch (strict mode: another user's job)."},
    {"403-queue", "403",
     "tenant_mismatch; scope_denied; subject_mismatch (requested_by.user_id is not the token's "
     "sub, without runtime:submit_as); queue_denied (names the queue and the policy rule)."},
    {"403-reader", "403",
     "tenant_mismatch; scope_denied; node_mismatch (a node token asked for another node's "
     "jobs); subject_mismatch (strict mode, unscoped token: another user's jobs)."},
    {"404", "404", "No such job in the caller's tenant."},
    {"409", "409", "Idempotency or consistency conflict."},
    {"409-event", "409",
     "event_conflict (the event_id was stored with another payload); submission_mismatch (not "
     "the job's current submission); event_limit (a new event that would not be applied, and the "
     "job holds --max-unapplied-events-per-job such events). Nothing stored."},
    {"410-cursor", "410",
     "cursor_expired: the changes after the cursor are no longer retained (--change-retention); "
     "list again and watch from its watch_from."},
    {"413", "413", "Body larger than the limit."},
    {"415", "415", "Body is not application/json."},
    {"422", "422",
     "walltime_exceeded / resource_limit_exceeded: over the queue mapping's, the policy's or the "
     "partition's limit; nothing stored."},
    {"422-revocations", "422",
     "resource_limit_exceeded: the tenant holds --max-revocations-per-tenant live revocations."},
    {"429-watchers", "429",
     "too_many_watchers: --max-watchers or --max-watchers-per-tenant reached (watch streams and "
     "projection long polls count); retry after Retry-After.",
     true},
    {"429-quota", "429",
     "quota_exceeded: the tenant's max_active_jobs or the user's max_active_jobs_per_user "
     "(--limits-file) is reached (jobs submitted, queued or running); nothing stored. A replay of "
     "an accepted submit still gets its 202."},
    {"503-slurm", "503",
     "Store unavailable, or slurm_unavailable (real-policy: the node's catalogue is missing, "
     "stale or cannot serve the mapping); nothing changed, retry."},
};

// `responses` plus the answers every authenticated runtime route has (401,
// 403, 503) and the `extra` ones named by kExtraErrors keys (a route names at
// most one key per status).
json::object RuntimeErrors(json::object responses, std::initializer_list<const char*> extra) {
  responses["401"] = ErrorResponse(
      "Missing, invalid or expired bearer token (unauthenticated), a revoked one "
      "(token_revoked), or proxy auth.");
  responses["403"] = ErrorResponse(
      "tenant_mismatch (x-tenant-id or body tenant_id differs from the token); scope_denied "
      "(the token lacks the operation's scope, or is a node token where node tokens may not "
      "call); node_mismatch or subject_mismatch (another node's or, strict mode, another "
      "user's job).");
  responses["503"] = ErrorResponse("Store unavailable; nothing changed, retry.");
  for (std::string_view key : extra) {
    const auto* e = std::find_if(std::begin(kExtraErrors), std::end(kExtraErrors),
                                 [&](const ExtraError& x) { return x.key == key; });
    if (e == std::end(kExtraErrors)) continue;  // every key in this file is in the table
    json::object r = ErrorResponse(e->description);
    if (e->retry_after) {
      r["headers"] = json::object{
          {"Retry-After", json::object{{"description", "Seconds to wait (1)."},
                                       {"schema", json::object{{"type", "integer"}}}}}};
    }
    responses[e->status] = std::move(r);
  }
  return responses;
}

json::object RequestBody(std::string_view schema) {
  return json::object{
      {"required", true},
      {"content", json::object{{"application/json", json::object{{"schema", Ref(schema)}}}}}};
}

// The validator routes (docs/contracts/validator-callback.md).
void ValidatorOperation(const RouteSpec& r, json::object& op, json::array& params) {
  if (r.path_template.find("{run_id}") != std::string_view::npos) {
    params.push_back(json::object{{"name", "run_id"},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", json::object{{"type", "string"}}}});
  }
  constexpr std::string_view kNotServed =
      "; also a process that does not serve this route (APP_ROLE) or has no validators.";
  switch (r.id) {
    case RouteId::kLaunchValidation:
      op["summary"] = "Start a validation run (web role): envelope to storage, job launched.";
      op["requestBody"] = RequestBody("LaunchValidationRequest");
      op["responses"] = RuntimeErrors({{"202", JsonResponse("The run.", "ValidationRun")}},
                                      {"400", "409", "413", "415"});
      op["responses"].as_object()["404"] =
          ErrorResponse("Unknown validator or version" + std::string(kNotServed));
      op["responses"].as_object()["409"] =
          ErrorResponse("idempotency_conflict: the key was used with another request.");
      break;
    case RouteId::kRerunValidation:
      op["summary"] = "Run a finished validation again with a new callback_id (web role).";
      op["responses"] = RuntimeErrors({{"202", JsonResponse("The run.", "ValidationRun")}}, {});
      op["responses"].as_object()["404"] =
          ErrorResponse("No such run in the caller's tenant" + std::string(kNotServed));
      op["responses"].as_object()["409"] =
          ErrorResponse("run_not_finished: the current execution is still open.");
      break;
    case RouteId::kGetValidation:
      op["summary"] = "A validation run and its current execution (web role).";
      op["responses"] = RuntimeErrors({{"200", JsonResponse("The run.", "ValidationRun")}}, {});
      op["responses"].as_object()["404"] =
          ErrorResponse("No such run in the caller's tenant" + std::string(kNotServed));
      break;
    case RouteId::kListValidations: {
      op["summary"] =
          "The caller's tenant's validation runs, newest first, filtered, a page at a time (web "
          "role).";
      const std::string status = "(PENDING|RUNNING|SUCCEEDED|FAILED|CANCELLED)";
      json::object statuses = QueryParam(schema::kRunFilterStatus);
      statuses["schema"].as_object()["pattern"] = "^" + status + "(," + status + ")*$";
      params.push_back(std::move(statuses));
      params.push_back(QueryParam(schema::kRunFilterValidator));
      params.push_back(QueryParam(schema::kRunListLimit));
      params.push_back(QueryParam(schema::kListCursor));
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("One page.", "ValidationRunList")}}, {"400"});
      op["responses"].as_object()["404"] = ErrorResponse(
          "A process that does not serve this route (APP_ROLE) or has no "
          "validators.");
      break;
    }
    default:
      op["summary"] =
          "Validator job callback (worker role only; Authorization: Bearer <ID token>).";
      op["requestBody"] = RequestBody("ValidatorCallbackRequest");
      op["responses"] = json::object{
          {"200", JsonResponse("Applied, or the stored receipt of a replay (replay: true).",
                               "ValidatorCallbackReceipt")},
          {"400", ErrorResponse("Malformed callback; the message names the field.")},
          {"401", ErrorResponse("unauthenticated: missing or bad ID token (the reason is only "
                                "in the log).")},
          {"404", ErrorResponse("Unknown run_id/callback_id" + std::string(kNotServed))},
          {"409", ErrorResponse("callback_superseded (a rerun replaced this callback_id) or "
                                "execution_finished (ended by the fallback poll).")},
          {"413", ErrorResponse("Body larger than the limit.")},
          {"415", ErrorResponse("Body is not application/json.")},
          {"503", ErrorResponse("Store unavailable; nothing changed, retry.")}};
      break;
  }
}

// The console's static files (docs/contracts/console.md): the media types, the headers and
// the answers are read from the tables the server uses (api/console_assets.hpp).
void ConsoleOperation(const RouteSpec& r, json::object& op, json::array& params) {
  const bool page = r.id == RouteId::kConsolePage;
  if (!page) {
    params.push_back(json::object{
        {"name", "asset"},
        {"in", "path"},
        {"required", true},
        {"description", "A file of the console (app.js, console.css, ...)."},
        {"schema", json::object{{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9._-]*$"}}}});
  }
  params.push_back(json::object{
      {"name", "If-None-Match"},
      {"in", "header"},
      {"required", false},
      {"description", "ETags of a cached copy; one of them (or *) matching answers 304."},
      {"schema", json::object{{"type", "string"}}}});
  op["summary"] = page ? "The operator console's page (a static file; its API calls carry the "
                         "operator's token)."
                       : "A static file of the operator console.";
  json::object headers;
  for (const ConsoleHeader& h : kConsoleSecurityHeaders) {
    headers[h.name] =
        json::object{{"schema", json::object{{"type", "string"}, {"const", h.value}}}};
  }
  json::object not_found = ErrorResponse(
      "No console file of that name; the console's headers are sent with the error too.");
  not_found["headers"] = headers;
  headers["ETag"] =
      json::object{{"description", "\"<first 32 hex digits of the file's SHA-256>\""},
                   {"schema", json::object{{"type", "string"}, {"pattern", "^\"[0-9a-f]{32}\"$"}}}};
  headers["Cache-Control"] =
      json::object{{"schema", json::object{{"type", "string"}, {"const", "no-cache"}}}};
  json::object content;
  for (const ConsoleFile& f : EmbeddedConsoleFiles()) {
    if (page && f.name != kConsoleIndex) continue;
    const std::string_view type = ConsoleContentType(f.name);
    const std::string media(type.substr(0, type.find(';')));
    json::object media_type;
    if (media.rfind("text/", 0) == 0) media_type["schema"] = json::object{{"type", "string"}};
    content[media] = std::move(media_type);
  }
  op["responses"] = json::object{
      {"200", json::object{{"description", page ? "index.html." : "The file."},
                           {"headers", headers},
                           {"content", std::move(content)}}},
      {"304", json::object{{"description", "If-None-Match lists the file's ETag: no body."},
                           {"headers", headers}}},
      {"401", ErrorResponse("Proxy auth enabled and its headers missing or wrong.")}};
  if (!page) op["responses"].as_object()["404"] = std::move(not_found);
}

// An authenticated route's rate limit (docs/contracts/limits.md "Rate limit"): its 429
// rate_limited, and the RateLimit fields on every answer after authentication (401s come
// before it).
void AddRateLimit(json::object& responses) {
  constexpr std::string_view kRateLimited =
      "rate_limited: the tenant's requests_per_second (--limits-file) is used up; retry after "
      "Retry-After (whole seconds, at least 1).";
  json::value* existing = responses.if_contains("429");
  if (existing == nullptr) {
    responses["429"] = ErrorResponse(kRateLimited);
  } else {
    json::object& r = existing->as_object();
    r["description"] =
        std::string(r["description"].as_string()) + " Or " + std::string(kRateLimited);
  }
  responses["429"].as_object()["headers"] = json::object{
      {"Retry-After", json::object{{"description", "Seconds to wait (whole, at least 1)."},
                                   {"schema", json::object{{"type", "integer"}}}}}};
  for (auto& [status, response] : responses) {
    if (status == "401") continue;
    json::value& slot = response.as_object()["headers"];
    if (!slot.is_object()) slot.emplace_object();
    json::object& headers = slot.get_object();
    headers["RateLimit-Policy"] = json::object{{"$ref", "#/components/headers/RateLimitPolicy"}};
    headers["RateLimit"] = json::object{{"$ref", "#/components/headers/RateLimit"}};
  }
}

// The APP_ROLE values of the processes that serve a route (RoleOf); another
// role answers it 404 as if the path did not exist (components.responses.DefaultError).
json::array ServedBy(RouteId id) {
  switch (RoleOf(id)) {
    case RouteRole::kPublic:
      return json::array{"all", "web"};
    case RouteRole::kInternal:
      return json::array{"all", "worker"};
    case RouteRole::kBoth:
      break;
  }
  return json::array{"all", "web", "worker"};
}

json::object Operation(const RouteSpec& r) {
  json::object op{{"operationId", r.operation_id}};
  op["x-rtgw-served-by"] = ServedBy(r.id);
  json::array params;
  for (const char* name : {"job_id", "node_id", "lease_id"}) {
    if (r.path_template.find("{" + std::string(name) + "}") == std::string_view::npos) continue;
    params.push_back(json::object{{"name", name},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", json::object{{"type", "string"}}}});
  }
  if (r.needs_bearer) {
    params.push_back(
        json::object{{"name", "x-tenant-id"},
                     {"in", "header"},
                     {"required", false},
                     {"description", "When sent, must equal the token's tenant_id claim."},
                     {"schema", json::object{{"type", "string"}}}});
    // Bearer always; the proxy-auth headers too where the deployment enables
    // proxy auth (RTGW_PROXY_AUTH_KEY/SECRET).
    // OpenAPI 3.1 lets a bearer scheme's requirement list role names: the
    // scope this operation needs (docs/contracts/jwt.md "Authorization").
    json::array scopes;
    if (r.scope) scopes.push_back(json::string(auth::ScopeName(*r.scope)));
    op["security"] = json::array{
        json::object{
            {"bearerAuth", scopes}, {"proxyKey", json::array{}}, {"proxySecret", json::array{}}},
        json::object{{"bearerAuth", scopes}}};
    op["x-rtgw-node-tokens"] = r.node_tokens;
    op["tags"] = json::array{"runtime"};
  } else if (r.id == RouteId::kHealth) {
    op["security"] = json::array{};  // never authenticated, not even by proxy auth
    op["tags"] = json::array{"operations"};
  } else if (r.id == RouteId::kValidatorCallback) {
    // The job's ID token is the only credential; proxy auth does not apply.
    op["security"] = json::array{json::object{{"validatorIdToken", json::array{}}}};
    op["tags"] = json::array{"operations"};
  } else {
    // No bearer token; the proxy-auth headers where proxy auth is enabled.
    op["security"] = json::array{
        json::object{{"proxyKey", json::array{}}, {"proxySecret", json::array{}}}, json::object{}};
    op["tags"] = json::array{"operations"};
  }
  switch (r.id) {
    case RouteId::kSubmitJob:
      op["summary"] = "Submit a job (SubmitJobCommand); idempotent by idempotency_key.";
      op["requestBody"] = RequestBody("SubmitJobRequest");
      op["responses"] = RuntimeErrors(
          {{"202",
            JsonResponse("Accepted (or the original answer to a replay).", "SubmitJobResponse")}},
          {"400", "403-queue", "409", "413", "415", "422", "429-quota", "503-slurm"});
      break;
    case RouteId::kPostEvent:
      op["summary"] =
          "Report an execution lifecycle event (ExecutionEvent); idempotent by event_id.";
      op["requestBody"] = RequestBody("ExecutionEventRequest");
      op["responses"] = RuntimeErrors({{"200", JsonResponse("Event stored.", "EventAck")}},
                                      {"400", "403-node", "404", "409-event", "413", "415"});
      break;
    case RouteId::kGetJob:
      op["summary"] = "Current state of a job.";
      op["responses"] = RuntimeErrors({{"200", JsonResponse("The job.", "Job")}}, {"404"});
      break;
    case RouteId::kGetJobDetail:
      op["summary"] = "A job with its event history in arrival order.";
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("The job and its events.", "JobDetail")}}, {"404"});
      break;
    case RouteId::kGetProjection:
      op["summary"] =
          "App-facing projection of a job (status, projection_version); with wait_version_gt a "
          "long poll.";
      params.push_back(QueryParam(schema::kWaitVersionGt));
      params.push_back(QueryParam(schema::kTimeoutS));
      op["responses"] = RuntimeErrors(
          {{"200", JsonResponse("The projection: at once, or (long poll) as soon as "
                                "projection_version > wait_version_gt, else at the timeout.",
                                "JobProjection")}},
          {"400", "404", "429-watchers"});
      break;
    case RouteId::kListJobs:
      op["summary"] = "The caller's tenant's jobs, newest first, filtered, a page at a time.";
      params.push_back(QueryParam(schema::kFilterWorkspaceId));
      {
        const std::string state = "(submitted|queued|running|completed|failed|cancelled)";
        json::object states = QueryParam(schema::kFilterState);
        states["schema"].as_object()["pattern"] = "^" + state + "(," + state + ")*$";
        params.push_back(std::move(states));
      }
      params.push_back(QueryParam(schema::kFilterManagementNodeId));
      params.push_back(QueryParam(schema::kFilterRequestedBy));
      for (const schema::StringField* f :
           {&schema::kFilterUpdatedAfter, &schema::kFilterUpdatedBefore}) {
        params.push_back(QueryParam(f->name, f->description,
                                    json::object{{"type", "string"}, {"format", "date-time"}}));
      }
      params.push_back(QueryParam(schema::kListLimit));
      params.push_back(QueryParam(schema::kListCursor));
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("One page.", "JobList")}}, {"400", "403-reader"});
      break;
    case RouteId::kWatchJobs: {
      op["summary"] =
          "Server-Sent Events: every committed change of the caller's tenant's jobs (one "
          "ProjectionUpdate per event), in commit order, resumable by event id.";
      params.push_back(QueryParam(schema::kFilterWorkspaceId));
      json::object job_id = Str(schema::kWatchJobId);
      job_id.erase("description");
      json::object job_ids = QueryParam(schema::kWatchJobId.name, schema::kWatchJobId.description,
                                        json::object{{"type", "array"},
                                                     {"maxItems", schema::kWatchJobIdsMax},
                                                     {"items", std::move(job_id)}});
      job_ids["style"] = "form";
      job_ids["explode"] = true;
      params.push_back(std::move(job_ids));
      params.push_back(QueryParam(schema::kFilterManagementNodeId));
      params.push_back(QueryParam(schema::kWatchAfter));
      json::object last_event_id = QueryParam(schema::kLastEventId);
      last_event_id["in"] = "header";
      params.push_back(std::move(last_event_id));
      json::object stream{
          {"description",
           "The stream (docs/contracts/http-api.md \"Watching jobs\"): \"retry: 3000\", then "
           "per change \"id: <change cursor>\", \"event: job\", \"data: <ProjectionUpdate "
           "JSON>\"; a \": keepalive\" comment every --watch-heartbeat."},
          {"headers",
           json::object{{"Cache-Control",
                         json::object{{"schema",
                                       json::object{{"type", "string"}, {"const", "no-store"}}}}}}},
          {"content",
           json::object{{"text/event-stream",
                         json::object{{"schema", json::object{{"type", "string"}}},
                                      {"x-rtgw-event-data", Ref("ProjectionUpdate")}}}}}};
      op["responses"] = RuntimeErrors({{"200", std::move(stream)}},
                                      {"400", "403-reader", "410-cursor", "429-watchers"});
      break;
    }
    case RouteId::kHealth:
      op["summary"] =
          "Health: 503 unavailable when the store cannot serve, degraded (200) when part of the "
          "API refuses (each check says why); ?deep=1 adds managed_aiida_runtime and the store's "
          "integrity check (SQLite: PRAGMA quick_check, one at a time, reused for 30 s; a failed "
          "one is 503).";
      op["parameters"] = json::array{json::object{{"name", "deep"},
                                                  {"in", "query"},
                                                  {"required", false},
                                                  {"schema", json::object{{"type", "string"}}}}};
      op["responses"] = json::object{
          {"200", JsonResponse("ok, or degraded: the API serves, some of it refuses.", "Health")},
          {"503", JsonResponse("unavailable: the store cannot serve.", "Health")}};
      break;
    case RouteId::kMetrics:
      op["summary"] = "Prometheus metrics (text format 0.0.4).";
      op["responses"] = json::object{
          {"401", ErrorResponse("Proxy auth enabled and its headers missing or wrong.")},
          {"200",
           json::object{
               {"description", "Metrics."},
               {"content",
                json::object{
                    {"text/plain", json::object{{"schema", json::object{{"type", "string"}}}}}}}}}};
      break;
    case RouteId::kOpenApi:
      op["summary"] = "This OpenAPI document.";
      op["responses"] = json::object{
          {"401", ErrorResponse("Proxy auth enabled and its headers missing or wrong.")},
          {"200",
           json::object{
               {"description", "OpenAPI 3.1 document."},
               {"content",
                json::object{{"application/json",
                              json::object{{"schema", json::object{{"type", "object"}}}}}}}}}};
      break;
    case RouteId::kListDeadLetters:
      op["summary"] =
          "ProjectionUpdates of the caller's tenant that the relay gave up on (oldest first).";
      op["parameters"] = json::array{QueryParam(schema::kDeadLetterLimit)};
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("Dead letters.", "DeadLetterList")}}, {"400"});
      break;
    case RouteId::kReplayDeadLetter:
      op["summary"] = "Make a dead letter of the caller's tenant deliverable again.";
      op["requestBody"] = RequestBody("ReplayDeadLetterRequest");
      op["responses"] = RuntimeErrors(
          {{"200", JsonResponse("Queued for delivery again.", "ReplayDeadLetterResponse")}},
          {"400", "404", "415"});
      break;
    case RouteId::kRetiredZpe:  // not in Routes(): answered 410 before routing
      break;
    case RouteId::kConsolePage:
    case RouteId::kConsoleAsset:
      ConsoleOperation(r, op, params);
      break;
    case RouteId::kLaunchValidation:
    case RouteId::kRerunValidation:
    case RouteId::kGetValidation:
    case RouteId::kListValidations:
    case RouteId::kValidatorCallback:
      ValidatorOperation(r, op, params);
      break;
    case RouteId::kCancelJob:
      op["summary"] = "Cancel a job (product or node token); idempotent.";
      op["responses"] = RuntimeErrors(
          {{"202",
            JsonResponse("Cancelled, or the cancel request is recorded.", "CancelJobResponse")}},
          {"403-node", "404", "409", "413", "415"});
      break;
    case RouteId::kNodeHeartbeat:
      op["summary"] = "Management-node heartbeat with its Slurm catalogue (node token).";
      op["requestBody"] = RequestBody("NodeHeartbeat");
      op["responses"] = RuntimeErrors({{"200", JsonResponse("Stored.", "NodeHeartbeatAck")}},
                                      {"400", "403-node", "413", "415"});
      break;
    case RouteId::kAcquireLeases:
      op["summary"] = "Long poll: lease this node's submitted jobs; lists its cancellations.";
      op["requestBody"] = RequestBody("AcquireLeasesRequest");
      op["responses"] = RuntimeErrors(
          {{"200",
            JsonResponse("Leases and cancellations (possibly empty).", "AcquireLeasesResponse")}},
          {"400", "403-node", "413", "415"});
      break;
    case RouteId::kRenewLease:
      op["summary"] = "Renew a lease while the job is being handed to Slurm.";
      op["requestBody"] = RequestBody("RenewLeaseRequest");
      op["responses"] = RuntimeErrors({{"200", JsonResponse("New expiry.", "RenewLeaseResponse")}},
                                      {"400", "403-node", "409", "413", "415"});
      break;
    case RouteId::kReleaseLease:
      op["summary"] = "Give a leased job back without submitting it; idempotent.";
      op["responses"] = RuntimeErrors({{"200", JsonResponse("Released.", "OkResponse")}},
                                      {"403-node", "413", "415"});
      break;
    case RouteId::kListNodes:
      op["summary"] = "The caller's tenant's management nodes (admin).";
      op["responses"] = RuntimeErrors({{"200", JsonResponse("The nodes.", "NodeList")}}, {});
      break;
    case RouteId::kRevokeToken:
      op["summary"] = "Revoke a token id (jti) of the caller's tenant on every replica (admin).";
      op["requestBody"] = RequestBody("RevokeTokenRequest");
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("Revoked (idempotent).", "RevokeTokenResponse")}},
                        {"400", "413", "415", "422-revocations"});
      break;
    case RouteId::kOnboardingDryRun:
      op["summary"] =
          "What registering this node would do, and which queue mappings hold "
          "against its catalogue. Changes nothing.";
      op["requestBody"] = RequestBody("OnboardingDryRunRequest");
      op["responses"] =
          RuntimeErrors({{"200", JsonResponse("The report.", "OnboardingDryRunReport")}},
                        {"400", "403-node", "413", "415"});
      break;
  }
  if (!params.empty() && !op.contains("parameters")) op["parameters"] = std::move(params);
  // Any route: a handler that throws, or a store error that is not "unavailable", is a 500
  // (docs/contracts/http-api.md, Errors).
  if (json::object* responses = op["responses"].if_object()) {
    (*responses)["500"] = ErrorResponse(
        "internal: a bug or an unexpected store error; the message carries the "
        "trace id, the detail is in the log.");
    if (r.needs_bearer) AddRateLimit(*responses);
  }
  return op;
}

void Pretty(std::string& out, const json::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& kv : o) {
      pad(indent + 1);
      out += json::serialize(json::string_view(kv.key()));
      out += ": ";
      Pretty(out, kv.value(), indent + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += '}';
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      pad(indent + 1);
      Pretty(out, a[i], indent + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

void Diff(const json::value& a, const json::value& b, const std::string& ptr,
          std::vector<std::string>& out) {
  if (out.size() >= 20) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& kv : a.get_object()) {
      std::string p = ptr + "/" + std::string(kv.key());
      if (const json::value* other = b.get_object().if_contains(kv.key())) {
        Diff(kv.value(), *other, p, out);
      } else {
        out.push_back("removed in code: " + p);
      }
    }
    for (const auto& kv : b.get_object()) {
      if (!a.get_object().contains(kv.key())) {
        out.push_back("added in code: " + ptr + "/" + std::string(kv.key()));
      }
    }
    return;
  }
  if (a != b) out.push_back("changed: " + (ptr.empty() ? std::string("/") : ptr));
}

}  // namespace

std::string BuildOpenApiJson(std::string_view version) {
  json::object paths;
  for (const RouteSpec& r : Routes()) {
    json::value& slot = paths[r.path_template];
    if (!slot.is_object()) slot = json::object{};
    json::object& item = slot.get_object();
    std::string method(r.method);
    for (auto& c : method) c = static_cast<char>(c - 'A' + 'a');
    item[method] = Operation(r);
  }
  json::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = json::object{
      {"title", "rtgw runtime gateway API"},
      {"version", version},
      {"description",
       "Runtime contract between the product app, the gateway and management nodes. "
       "Errors always have the shape {\"error\":{\"code\",\"message\",\"trace_id\"}}. "
       "/api/zpe/* is retired (410). See docs/contracts/http-api.md."},
      {"license", json::object{{"name", "Proprietary"}, {"identifier", "LicenseRef-rtgw"}}}};
  doc["servers"] = json::array{json::object{{"url", "http://127.0.0.1:8080"}}};
  doc["tags"] = json::array{
      json::object{{"name", "runtime"}, {"description", "Jobs, events and projections."}},
      json::object{{"name", "operations"}, {"description", "Health, metrics, API document."}}};
  doc["paths"] = std::move(paths);
  doc["components"] = json::object{
      {"schemas", Schemas()},
      {"responses",
       json::object{
           {"DefaultError",
            ErrorResponse(
                "The answer to a request no operation here declares: 404 not_found (unknown "
                "path, or a route this process's APP_ROLE does not serve), 405 "
                "method_not_allowed (with Allow), 410 gone (/api/zpe/*), 401 "
                "proxy_unauthorized (proxy auth enabled), and the HTTP layer's refusals of a "
                "malformed or oversized request (400, 408, 411, 413, 414, 431, 501, 505) on "
                "any path. Always the one error shape, with x-trace-id.")}}},
      {"headers",
       json::object{
           {"RateLimitPolicy",
            json::object{
                {"description",
                 "The tenant's rate limit (draft-ietf-httpapi-ratelimit-headers, a structured "
                 "field list): \"tenant\";q=<burst>;w=<seconds an empty bucket takes to fill>. "
                 "Sent on every answer after authentication when the tenant has "
                 "requests_per_second in --limits-file (docs/contracts/limits.md)."},
                {"schema", json::object{{"type", "string"}}}}},
           {"RateLimit",
            json::object{
                {"description",
                 "The tenant's remaining requests: \"tenant\";r=<whole tokens left>;t=<seconds "
                 "until the bucket is full again, or until the next token when none is left>. "
                 "Sent with RateLimit-Policy."},
                {"schema", json::object{{"type", "string"}}}}}}},
      {"securitySchemes",
       json::object{
           {"bearerAuth",
            json::object{{"type", "http"},
                         {"scheme", "bearer"},
                         {"bearerFormat", "JWT"},
                         {"description",
                          "The caller's JWT (docs/contracts/jwt.md): tenant_id claim; node_id "
                          "for management-node routes."}}},
           {"validatorIdToken",
            json::object{
                {"type", "http"},
                {"scheme", "bearer"},
                {"bearerFormat", "JWT"},
                {"description",
                 "ID token of the validator job (docs/contracts/validator-callback.md): a "
                 "Google-style OIDC ID token whose audience is the worker's callback URL "
                 "(RTGW_VALIDATOR_CALLBACK_URL, default "
                 "http://<listen>/internal/validations/callback). RS256 only, key by kid from "
                 "the run's launcher's JWKS (cloud-run: Google's certificates; local: the "
                 "launcher's own key; slurm: the management-node agent's key). Checked: the "
                 "signature; iss and email (the job's service account; email_verified not "
                 "false) as configured for the launcher; aud equal to the callback URL; exp in "
                 "the future and iat not in the future (30 s leeway). Missing or bad: 401 "
                 "unauthenticated. Proxy auth does not apply to this route."}}},
           {"proxyKey",
            json::object{{"type", "apiKey"},
                         {"in", "header"},
                         {"name", "Modal-Key"},
                         {"description",
                          "Proxy-auth key, required on every route but /api/health when the "
                          "deployment sets RTGW_PROXY_AUTH_KEY/SECRET (header name "
                          "configurable: RTGW_PROXY_AUTH_KEY_HEADER)."}}},
           {"proxySecret",
            json::object{{"type", "apiKey"},
                         {"in", "header"},
                         {"name", "Modal-Secret"},
                         {"description",
                          "Proxy-auth secret, sent with proxyKey (header name configurable: "
                          "RTGW_PROXY_AUTH_SECRET_HEADER)."}}}}}};
  std::string out;
  Pretty(out, doc, 0);
  out += '\n';
  return out;
}

std::string DiffOpenApi(std::string_view expected, std::string_view actual) {
  boost::system::error_code ec;
  json::value a = json::parse(expected, ec);
  if (ec) return "committed document is not valid JSON: " + ec.message();
  json::value b = json::parse(actual, ec);
  if (ec) return "generated document is not valid JSON: " + ec.message();
  std::vector<std::string> diffs;
  Diff(a, b, "", diffs);
  std::string out;
  for (const auto& d : diffs) out += d + "\n";
  return out;
}

}  // namespace rtgw::api
