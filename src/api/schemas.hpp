#ifndef RTGW_API_SCHEMAS_HPP_
#define RTGW_API_SCHEMAS_HPP_

// One source for the fields of the request bodies: name, bounds, whether required, and the
// description. The parsers (job_requests, node_requests, validator_requests) check values and
// word their errors from these; openapi.cpp emits the schemas from the same constants, so a bound
// is written once. Pure constants; safe for concurrent use.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtgw::api::schema {

// A JSON string of 1..max_chars characters. With `charset` set, only A-Z a-z 0-9 and the
// characters of `charset` (OpenAPI `pattern`).
struct StringField {
  std::string_view name;
  std::int64_t max_chars;
  std::string_view description;
  bool required = true;
  std::string_view charset = {};
};

// A JSON integer from min to max.
struct IntegerField {
  std::string_view name;
  std::int64_t min;
  std::int64_t max;
  std::string_view description;
  bool required = true;
};

// Whether `s` is 1..max_chars characters of the field's charset (any when it has none).
bool Matches(const StringField& field, std::string_view s);
// "A-Z a-z 0-9 . _ - @ ~": the charset as error messages name it.
std::string CharsetText(const StringField& field);
// "^[A-Za-z0-9._@~-]{1,128}$": the charset as an OpenAPI pattern.
std::string Pattern(const StringField& field);

inline constexpr std::int64_t kIdMaxChars = 256;
inline constexpr std::int64_t kUriMaxChars = 4096;

// SubmitJobRequest and ExecutionEventRequest (command-submit-job.md, event-execution-lifecycle.md).
inline constexpr StringField kTenantId{"tenant_id", kIdMaxChars,
                                       "Must equal the token's tenant_id claim."};
inline constexpr StringField kSubmitWorkspaceId{"workspace_id", kIdMaxChars,
                                                "Workspace within the tenant."};
inline constexpr StringField kJobId{"job_id", 128, "Client-chosen job id, unique per tenant.", true,
                                    "._-@~"};
inline constexpr StringField kIdempotencyKey{
    "idempotency_key", kIdMaxChars,
    "Retries with the same key and body return the original answer."};
inline constexpr StringField kManagementNodeId{"management_node_id", kIdMaxChars,
                                               "Management node that will run the job."};
inline constexpr StringField kQueueName{"queue_name", kIdMaxChars, "Queue requested for the job."};
inline constexpr IntegerField kCpu{"cpu", 1, 1024, "CPUs per task."};
inline constexpr IntegerField kMemoryMib{"memory_mib", 1, 16'777'216, "Memory in MiB."};
inline constexpr IntegerField kWalltimeSeconds{"walltime_seconds", 1, 31'536'000,
                                               "Wall-time limit."};
inline constexpr StringField kInputUri{"input_uri", kUriMaxChars,
                                       "URI of the job input (scheme:...)."};
inline constexpr StringField kUserId{"user_id", kIdMaxChars, "Product user who asked for the job."};

inline constexpr StringField kEventId{"event_id", kIdMaxChars,
                                      "Idempotency key of the event within the job."};
inline constexpr StringField kEventWorkspaceId{"workspace_id", kIdMaxChars,
                                               "Workspace of the job."};
inline constexpr StringField kEventJobId{"job_id", 128, "Must equal the job id in the path."};
inline constexpr StringField kSubmissionId{"submission_id", kIdMaxChars,
                                           "The job's submission_id."};
inline constexpr StringField kExecutionId{"execution_id", kIdMaxChars,
                                          "Execution-side id (e.g. aiida-<pk>, slurm job id)."};
inline constexpr StringField kEventTraceId{"trace_id", kIdMaxChars,
                                           "Trace id of the execution side."};
inline constexpr StringField kOutputUri{"output_uri", kUriMaxChars, "URI of the job output."};
inline constexpr std::int64_t kEventErrorCodeMaxChars = 128;
inline constexpr std::int64_t kEventErrorMessageMaxChars = 4096;
inline constexpr IntegerField kExitCode{"exit_code", -1'000'000, 1'000'000, "", false};
inline constexpr IntegerField kSignal{"signal", 0, 255, "", false};

// The management-node surface (agent-protocol.md).
inline constexpr StringField kNodeId{"node_id", 128, "Management node to register.", true, "._-@~"};
inline constexpr StringField kAgentVersion{"agent_version", 64, "Agent version."};
inline constexpr IntegerField kInFlight{"in_flight", 0, 1'000'000, "Jobs the agent is tracking.",
                                        false};
inline constexpr IntegerField kMaxJobs{"max_jobs", 1, 256,
                                       "Most leases granted by this call (default 16).", false};
inline constexpr IntegerField kWaitSeconds{
    "wait_seconds", 0, 25, "Long-poll time when nothing is leasable (default 20).", false};
inline constexpr IntegerField kLeaseSeconds{"lease_seconds", 10, 600, "Lease length (default 60).",
                                            false};
inline constexpr IntegerField kRenewLeaseSeconds{"lease_seconds", 10, 600,
                                                 "New length from now (default 60).", false};

// The validator routes (validator-callback.md).
inline constexpr StringField kValidator{"validator", 128, "Validator name.", true, "._-"};
inline constexpr StringField kValidatorVersion{
    "version", 128, "Validator version (default: the first listed).", false, "._-"};
inline constexpr StringField kValidationWorkspaceId{"workspace_id", 128,
                                                    "Workspace within the caller's tenant."};
inline constexpr StringField kValidationIdempotencyKey{
    "idempotency_key", 128,
    "Retries with the same key and request return the run; scoped to the tenant.", false, "._-:"};
inline constexpr std::int64_t kInputFilesMax = 64;
// Also: not starting with '.'.
inline constexpr StringField kInputFileName{"name", 128, "File name; not starting with '.'.", true,
                                            "._-"};
// RevokeTokenRequest (jwt.md "Revocation").
inline constexpr StringField kJti{"jti", 256, "The token id (jti claim) to refuse from now on."};

inline constexpr StringField kRunId{"run_id", 128, "The run.", true, "._-"};
inline constexpr StringField kCallbackId{
    "callback_id", 128, "The execution's callback_id (from the envelope).", true, "._-"};
inline constexpr std::int64_t kResultUriMaxChars = 2048;
// Query parameters of GET /api/runtime/validations (validator-callback.md "Listing runs").
inline constexpr StringField kRunFilterStatus{
    "status", 64,
    "Only runs whose current execution has one of these statuses, comma-separated (PENDING, "
    "RUNNING, SUCCEEDED, FAILED, CANCELLED).",
    false};
inline constexpr StringField kRunFilterValidator{"validator", 128, "Only runs of this validator.",
                                                 false, "._-"};
inline constexpr IntegerField kRunListLimit{"limit", 1, 500, "Runs per page (default 50).", false};

// Query parameters (api/query_params.hpp) of GET /api/runtime/jobs, GET /api/runtime/jobs:watch
// and the projection long poll (docs/contracts/http-api.md "Listing jobs", "Watching jobs",
// "Long poll").
inline constexpr StringField kFilterWorkspaceId{"workspace_id", kIdMaxChars,
                                                "Only jobs of this workspace.", false};
inline constexpr StringField kFilterManagementNodeId{
    "management_node_id", kIdMaxChars,
    "Only jobs of this management node. A node token always gets its own node's (another one: "
    "403 node_mismatch).",
    false};
inline constexpr StringField kFilterRequestedBy{
    "requested_by", kIdMaxChars,
    "Only jobs submitted for this user (requested_by.user_id). A strict-mode token without a "
    "scope claim always gets its own sub's (another one: 403 subject_mismatch).",
    false};
inline constexpr StringField kFilterState{
    "state", 128,
    "Only jobs in one of these states, comma-separated (submitted, queued, running, completed, "
    "failed, cancelled).",
    false};
inline constexpr StringField kFilterUpdatedAfter{
    "updated_after", 64, "Only jobs whose updated_at is after this instant (RFC 3339).", false};
inline constexpr StringField kFilterUpdatedBefore{
    "updated_before", 64, "Only jobs whose updated_at is before this instant (RFC 3339).", false};
inline constexpr IntegerField kListLimit{"limit", 1, 500, "Jobs per page (default 50).", false};
inline constexpr StringField kListCursor{
    "cursor", 1024,
    "next_cursor of the previous page; send it with the same filters as the first page.", false};
inline constexpr StringField kWatchJobId{
    "job_id", 128, "Only changes of these jobs (repeat the parameter, at most 100).", false,
    "._-@~"};
inline constexpr std::size_t kWatchJobIdsMax = 100;
inline constexpr StringField kWatchAfter{
    "after", 1024,
    "A change cursor (an event id, or the list's watch_from): start after it. The "
    "Last-Event-ID header wins over it.",
    false};
inline constexpr StringField kLastEventId{
    "Last-Event-ID", 1024, "The id of the last event received (sent by EventSource on reconnect).",
    false};
inline constexpr IntegerField kWaitVersionGt{
    "wait_version_gt", 0, INT64_MAX,
    "Long poll: answer as soon as projection_version is greater than this.", false};
inline constexpr IntegerField kTimeoutS{
    "timeout_s", 1, 60,
    "Long poll: answer with the current projection after this many seconds (default 30); only "
    "with wait_version_gt.",
    false};
inline constexpr std::int64_t kDefaultLongPollSeconds = 30;
inline constexpr IntegerField kDeadLetterLimit{"limit", 1, 1000, "Dead letters (default 100).",
                                               false};

}  // namespace rtgw::api::schema

#endif  // RTGW_API_SCHEMAS_HPP_
