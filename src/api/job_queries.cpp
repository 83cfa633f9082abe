#include "api/job_queries.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>

#include "api/canonical_json.hpp"
#include "api/job_requests.hpp"
#include "api/job_views.hpp"
#include "api/job_watch.hpp"
#include "api/list_cursor.hpp"
#include "api/query_params.hpp"
#include "api/schemas.hpp"
#include "common/logging.hpp"
#include "common/time_format.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::api {
namespace {

constexpr std::string_view kListCursorPrefix = "l1.";

// A node token reads only its node's jobs, a strict-mode unscoped token only its user's: the
// filter is forced to them, and a request for another one is refused rather than answered empty.
Status ApplyReaderLimits(const Call& call, std::optional<std::string>& management_node_id,
                         std::optional<std::string>& requested_by) {
  if (call.token_node_id) {
    if (management_node_id && *management_node_id != *call.token_node_id) {
      return PermissionDenied("management_node_id: a node token reads only its own node's jobs (" +
                                  *call.token_node_id + ")",
                              "node_mismatch");
    }
    management_node_id = *call.token_node_id;
  }
  if (call.own_jobs_only) {
    if (requested_by && *requested_by != call.sub) {
      return PermissionDenied(
          "requested_by: this token reads only its own user's jobs (authz strict, no scope "
          "claim)",
          "subject_mismatch");
    }
    requested_by = call.sub;
  }
  return Ok{};
}

// Reads optional string parameters into their destinations; the first error wins.
Status ReadStrings(
    const QueryParams& params,
    std::initializer_list<std::pair<const schema::StringField*, std::optional<std::string>*>>
        rows) {
  for (const auto& [field, dest] : rows) {
    auto value = params.String(*field);
    if (!value) return value.error();
    *dest = std::move(value).value();
  }
  return Ok{};
}

Result<std::optional<std::string>> Instant(const QueryParams& params,
                                           const schema::StringField& field) {
  auto text = params.String(field);
  if (!text || !*text) return text;
  const std::optional<SystemTime> t = ParseRfc3339(**text);
  if (!t) {
    return InvalidArgument(std::string(field.name) +
                           ": must be an RFC 3339 date-time (e.g. 2026-02-18T00:00:00Z; send '+' "
                           "as %2B) from " +
                           std::string(kRfc3339Range));
  }
  return std::optional<std::string>(FormatRfc3339(*t));
}

Result<std::vector<jobs::JobState>> States(const QueryParams& params) {
  auto text = params.String(schema::kFilterState);
  if (!text) return text.error();
  std::vector<jobs::JobState> states;
  if (!*text) return states;
  for (const std::string_view name : SplitCommaList(**text)) {
    const std::optional<jobs::JobState> state = jobs::ParseJobState(name, true);
    if (!state) {
      return InvalidArgument("state: '" + std::string(name) +
                             "' is not a job state (submitted, queued, running, completed, "
                             "failed, cancelled)");
    }
    if (std::find(states.begin(), states.end(), *state) == states.end()) states.push_back(*state);
  }
  std::sort(states.begin(), states.end());
  return states;
}

// The hash a cursor binds: the filters as the store gets them (states sorted, instants in UTC),
// so the same request in another spelling gets the same hash.
std::string FilterHash(const storage::JobListQuery& q) {
  std::string states;
  for (jobs::JobState s : q.states) states += std::string(jobs::ToString(s)) + ",";
  return ListFilterHash(
      {{"workspace_id", q.workspace_id},
       {"state", states.empty() ? std::nullopt : std::optional<std::string>(states)},
       {"management_node_id", q.management_node_id},
       {"requested_by", q.requested_by},
       {"updated_after", q.updated_after},
       {"updated_before", q.updated_before}});
}

struct DecodedCursor {
  storage::JobListQuery::Key key;
  std::int64_t watch_from_seq = 0;
};

Result<DecodedCursor> DecodeJobListCursor(const std::string& cursor, const std::string& tenant_id,
                                          const std::string& filter_hash) {
  Result<ListCursor> decoded = DecodeKeysetCursor(kListCursorPrefix, cursor, tenant_id, filter_hash,
                                                  /*with_watch_from=*/true);
  if (!decoded) return decoded.error();
  DecodedCursor out;
  out.key.accepted_at = std::move(decoded->key.at);
  out.key.job_id = std::move(decoded->key.id);
  if (!ParseRfc3339(out.key.accepted_at) || !IsValidJobId(out.key.job_id)) {
    return MalformedListCursor();
  }
  out.watch_from_seq = *decoded->watch_from;
  return out;
}

}  // namespace

Result<JobListRequest> ParseJobListRequest(const Call& call) {
  static constexpr std::array<QueryParamSpec, 8> kAllowed = {{
      {schema::kFilterWorkspaceId.name},
      {schema::kFilterState.name},
      {schema::kFilterManagementNodeId.name},
      {schema::kFilterRequestedBy.name},
      {schema::kFilterUpdatedAfter.name},
      {schema::kFilterUpdatedBefore.name},
      {schema::kListLimit.name},
      {schema::kListCursor.name},
  }};
  auto params = QueryParams::Parse(call.request.query, kAllowed);
  if (!params) return params.error();
  JobListRequest out;
  storage::JobListQuery& q = out.query;
  q.tenant_id = call.tenant_id;
  std::optional<std::string> cursor;
  if (Status s = ReadStrings(*params, {{&schema::kFilterWorkspaceId, &q.workspace_id},
                                       {&schema::kFilterManagementNodeId, &q.management_node_id},
                                       {&schema::kFilterRequestedBy, &q.requested_by},
                                       {&schema::kListCursor, &cursor}});
      !s) {
    return s.error();
  }
  auto states = States(*params);
  if (!states) return states.error();
  q.states = std::move(states).value();
  for (auto [field, dest] : {std::pair{&schema::kFilterUpdatedAfter, &q.updated_after},
                             std::pair{&schema::kFilterUpdatedBefore, &q.updated_before}}) {
    auto instant = Instant(*params, *field);
    if (!instant) return instant.error();
    *dest = std::move(instant).value();
  }
  auto limit = params->Integer(schema::kListLimit);
  if (!limit) return limit.error();
  q.limit = static_cast<int>(limit->value_or(50));
  // The caller's limits before the hash: a cursor binds what was actually listed.
  if (Status s = ApplyReaderLimits(call, q.management_node_id, q.requested_by); !s) {
    return s.error();
  }
  out.filter_hash = FilterHash(q);
  if (cursor) {
    auto decoded = DecodeJobListCursor(*cursor, call.tenant_id, out.filter_hash);
    if (!decoded) return decoded.error();
    q.after = std::move(decoded->key);
    out.watch_from_seq = decoded->watch_from_seq;
  } else {
    q.with_head = true;  // the first page: watch_from is the head read before it
  }
  return out;
}

std::string EncodeListCursor(const std::string& tenant_id, const std::string& filter_hash,
                             const storage::JobListQuery::Key& last, std::int64_t watch_from_seq) {
  return EncodeKeysetCursor(kListCursorPrefix, tenant_id, filter_hash,
                            ListCursor{{last.accepted_at, last.job_id}, watch_from_seq});
}

std::string JobListJson(const std::vector<storage::JobRecord>& jobs,
                        const std::optional<std::string>& next_cursor,
                        const std::string& watch_from) {
  std::string out = R"({"jobs":[)";
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (i > 0) out += ',';
    out += JobJson(jobs[i]);
  }
  out += R"(],"next_cursor":)";
  out += next_cursor ? JsonQuoted(*next_cursor) : std::string("null");
  out += R"(,"watch_from":")";
  AppendJsonEscaped(out, watch_from);
  out += "\"}";
  return out;
}

Result<WatchRequest> ParseWatchRequest(const Call& call) {
  static constexpr std::array<QueryParamSpec, 4> kAllowed = {{
      {schema::kFilterWorkspaceId.name},
      {schema::kWatchJobId.name, schema::kWatchJobIdsMax},
      {schema::kFilterManagementNodeId.name},
      {schema::kWatchAfter.name},
  }};
  auto params = QueryParams::Parse(call.request.query, kAllowed);
  if (!params) return params.error();
  WatchRequest out;
  WatchFilter& f = out.filter;
  std::optional<std::string> after;
  if (Status s = ReadStrings(*params, {{&schema::kFilterWorkspaceId, &f.workspace_id},
                                       {&schema::kFilterManagementNodeId, &f.management_node_id},
                                       {&schema::kWatchAfter, &after}});
      !s) {
    return s.error();
  }
  auto job_ids = params->Strings(schema::kWatchJobId);
  if (!job_ids) return job_ids.error();
  f.job_ids = std::move(job_ids).value();
  // EventSource resends the id of the last event it received on reconnect: it wins over the
  // `after` of the URL, which is still the one the stream was first opened with.
  const std::string_view last_event_id = call.request.Header("last-event-id");
  if (!last_event_id.empty()) {
    auto checked = QueryParams::Check(schema::kLastEventId, std::string(last_event_id));
    if (!checked) return checked.error();
    out.cursor = std::move(checked).value();
    out.cursor_source = schema::kLastEventId.name;
  } else if (after) {
    out.cursor = std::move(after);
    out.cursor_source = schema::kWatchAfter.name;
  }
  if (Status s = ApplyReaderLimits(call, f.management_node_id, f.requested_by); !s) {
    return s.error();
  }
  return out;
}

Result<std::optional<ProjectionWait>> ParseProjectionWait(std::string_view query) {
  static constexpr std::array<QueryParamSpec, 2> kAllowed = {{
      {schema::kWaitVersionGt.name},
      {schema::kTimeoutS.name},
  }};
  auto params = QueryParams::Parse(query, kAllowed);
  if (!params) return params.error();
  auto version = params->Integer(schema::kWaitVersionGt);
  if (!version) return version.error();
  auto timeout = params->Integer(schema::kTimeoutS);
  if (!timeout) return timeout.error();
  if (!*version) {
    if (*timeout) return InvalidArgument("timeout_s: only with wait_version_gt");
    return std::optional<ProjectionWait>();
  }
  ProjectionWait wait;
  wait.version_gt = **version;
  wait.timeout = std::chrono::seconds(timeout->value_or(schema::kDefaultLongPollSeconds));
  return std::optional<ProjectionWait>(wait);
}

}  // namespace rtgw::api
