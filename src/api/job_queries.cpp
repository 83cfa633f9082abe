#include "api/job_queries.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>

#include <boost/json.hpp>

#include "api/job_requests.hpp"
#include "api/job_views.hpp"
#include "api/job_watch.hpp"
#include "api/query_params.hpp"
#include "api/schemas.hpp"
#include "common/logging.hpp"
#include "common/time_format.hpp"
#include "crypto/crypto.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

constexpr std::string_view kListCursorPrefix = "l1.";

// The list cursor's "t": the tenant fingerprint every cursor carries, in hex.
std::string TenantFingerprint(const std::string& tenant_id) {
  return crypto::HexEncode(CursorTenantFingerprint(tenant_id));
}

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
  std::string_view rest = **text;
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    const std::optional<jobs::JobState> state = jobs::ParseJobState(name, true);
    if (!state) {
      return InvalidArgument("state: '" + std::string(name) +
                             "' is not a job state (submitted, queued, running, completed, "
                             "failed, cancelled)");
    }
    if (std::find(states.begin(), states.end(), *state) == states.end()) states.push_back(*state);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(states.begin(), states.end());
  return states;
}

// sha256 of the filters as the store gets them (states sorted, instants in UTC), 16 hex: the
// same request in another spelling gets the same hash.
std::string FilterHash(const storage::JobListQuery& q) {
  std::string text;
  auto line = [&text](std::string_view name, const std::optional<std::string>& value) {
    text += name;
    text += '=';
    if (value) text += *value;  // never empty when present; control characters are refused
    text += '\n';
  };
  line("workspace_id", q.workspace_id);
  std::string states;
  for (jobs::JobState s : q.states) states += std::string(jobs::ToString(s)) + ",";
  line("state", states.empty() ? std::nullopt : std::optional<std::string>(states));
  line("management_node_id", q.management_node_id);
  line("requested_by", q.requested_by);
  line("updated_after", q.updated_after);
  line("updated_before", q.updated_before);
  return crypto::Sha256Hex(text).substr(0, 16);
}

struct DecodedCursor {
  storage::JobListQuery::Key key;
  std::int64_t watch_from_seq = 0;
};

Result<DecodedCursor> DecodeListCursor(const std::string& cursor, const std::string& tenant_id,
                                       const std::string& filter_hash) {
  const Error malformed = InvalidArgument(
      "cursor: not a cursor of this list (use next_cursor of the previous page as it is)");
  if (!cursor.starts_with(kListCursorPrefix)) return malformed;
  const std::optional<std::string> bytes =
      crypto::Base64UrlDecode(std::string_view(cursor).substr(kListCursorPrefix.size()));
  if (!bytes) return malformed;
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 4;
  const json::value v = json::parse(*bytes, ec, {}, opts);
  if (ec || !v.is_object()) return malformed;
  const json::object& o = v.get_object();
  const json::value* k = o.if_contains("k");
  const json::value* f = o.if_contains("f");
  const json::value* t = o.if_contains("t");
  const json::value* w = o.if_contains("w");
  if (k == nullptr || f == nullptr || t == nullptr || w == nullptr || !k->is_array() ||
      k->get_array().size() != 2 || !k->get_array()[0].is_string() ||
      !k->get_array()[1].is_string() || !f->is_string() || !t->is_string() || !w->is_int64() ||
      w->get_int64() < 0) {
    return malformed;
  }
  if (t->get_string() != TenantFingerprint(tenant_id)) {
    return InvalidArgument("cursor: was made for another tenant's list");
  }
  if (f->get_string() != filter_hash) {
    return InvalidArgument(
        "cursor: was made for other filters; send the filters of the first page with it");
  }
  DecodedCursor out;
  out.key.accepted_at = std::string(k->get_array()[0].get_string());
  out.key.job_id = std::string(k->get_array()[1].get_string());
  if (!ParseRfc3339(out.key.accepted_at) || !IsValidJobId(out.key.job_id)) return malformed;
  out.watch_from_seq = w->get_int64();
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
    auto decoded = DecodeListCursor(*cursor, call.tenant_id, out.filter_hash);
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
  const json::object o{
      {"k", json::array{json::string(last.accepted_at), json::string(last.job_id)}},
      {"f", filter_hash},
      {"t", TenantFingerprint(tenant_id)},
      {"w", watch_from_seq}};
  return std::string(kListCursorPrefix) + crypto::Base64UrlEncode(json::serialize(o));
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
  if (next_cursor) {
    out += '"';
    AppendJsonEscaped(out, *next_cursor);
    out += '"';
  } else {
    out += "null";
  }
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
