#ifndef RTGW_API_VALIDATOR_REQUESTS_HPP_
#define RTGW_API_VALIDATOR_REQUESTS_HPP_

// JSON bodies and query strings of the validator routes (docs/contracts/validator-callback.md)
// -> the ValidationService's requests, and the run list's answer. Pure (no I/O). Errors are
// InvalidArgument naming the field path or parameter, as in job_requests.hpp and
// job_queries.hpp.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "storage/validator_run_store.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::api {

// POST /api/runtime/validations:launch. tenant_id, subject and trace_id are left empty.
Result<validators::LaunchRequest> ParseLaunchBody(std::string_view body);
// POST /internal/validations/callback. bearer_token and trace_id are left empty.
Result<validators::CallbackRequest> ParseCallbackBody(std::string_view body);

// GET /api/runtime/validations, parsed (validator-callback.md "Listing runs").
struct RunListRequest {
  storage::RunListQuery query;  // tenant, filters, page start, limit
  std::string filter_hash;      // what a cursor is bound to (besides the tenant)
};
// `query` is the query string (after '?', still encoded), read as the job list's
// (api/query_params.hpp): status (comma-separated run statuses), validator, limit (1-500,
// default 50), cursor (next_cursor of the previous page, bound to the tenant and the filters).
Result<RunListRequest> ParseRunListRequest(std::string_view query, const std::string& tenant_id);

// The next page's cursor after `last` (api/list_cursor.hpp, prefix "r1.").
std::string EncodeRunListCursor(const std::string& tenant_id, const std::string& filter_hash,
                                const storage::ValidatorRun& last);

// {"runs":[<run as GET /api/runtime/validations/{run_id} returns it>...],"next_cursor":"..."|null}
std::string RunListJson(const std::vector<storage::ValidatorRun>& runs,
                        const std::optional<std::string>& next_cursor);

}  // namespace rtgw::api

#endif  // RTGW_API_VALIDATOR_REQUESTS_HPP_
