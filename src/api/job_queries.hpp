#ifndef RTGW_API_JOB_QUERIES_HPP_
#define RTGW_API_JOB_QUERIES_HPP_

// Private to api: the reads over many jobs (docs/contracts/http-api.md "Listing jobs", "Watching
// jobs", "Long poll"). Turns the query string of GET /api/runtime/jobs, GET
// /api/runtime/jobs:watch and the projection long poll into store and hub requests, with the
// caller's limits applied (a node token sees only its node's jobs, a strict-mode unscoped token
// only its user's); makes and checks the list cursor; shapes the list response. Errors:
// InvalidArgument naming the parameter first; PermissionDenied node_mismatch /
// subject_mismatch. Pure; safe for concurrent use.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/call.hpp"
#include "api/job_watch.hpp"
#include "common/error.hpp"
#include "storage/job_feed_store.hpp"

namespace rtgw::api {

// GET /api/runtime/jobs, parsed.
struct JobListRequest {
  storage::JobListQuery query;  // tenant, filters, page start, limit; with_head on a first page
  std::string filter_hash;      // what a cursor is bound to (besides the tenant)
  // From the cursor on later pages: the first page's change head, returned as watch_from again.
  std::optional<std::int64_t> watch_from_seq;
};
Result<JobListRequest> ParseJobListRequest(const Call& call);

// The list cursor: "l1." + base64url of {"k":[accepted_at, job_id],"f":filter hash,"t":tenant
// fingerprint,"w":watch_from seq}. Opaque to clients; a cursor of other filters or another
// tenant is refused (400 naming `cursor`).
std::string EncodeListCursor(const std::string& tenant_id, const std::string& filter_hash,
                             const storage::JobListQuery::Key& last, std::int64_t watch_from_seq);

// {"jobs":[<JobJson>...],"next_cursor":"..."|null,"watch_from":"..."}
std::string JobListJson(const std::vector<storage::JobRecord>& jobs,
                        const std::optional<std::string>& next_cursor,
                        const std::string& watch_from);

// GET /api/runtime/jobs:watch, parsed. The cursor is still encoded (DecodeChangeCursor, in
// job_watch.hpp, checks it): the Last-Event-ID header when sent, else `after`.
struct WatchRequest {
  WatchFilter filter;
  std::optional<std::string> cursor;
  std::string_view cursor_source;  // "Last-Event-ID" or "after", for its error message
};
Result<WatchRequest> ParseWatchRequest(const Call& call);

// GET /api/runtime/jobs/{job_id}/projection?wait_version_gt=N&timeout_s=T. nullopt: a plain read
// (no parameters).
struct ProjectionWait {
  std::int64_t version_gt = 0;
  std::chrono::seconds timeout{30};
};
Result<std::optional<ProjectionWait>> ParseProjectionWait(std::string_view query);

}  // namespace rtgw::api

#endif  // RTGW_API_JOB_QUERIES_HPP_
