#ifndef RTGW_CONFORMANCE_READ_MODEL_HPP_
#define RTGW_CONFORMANCE_READ_MODEL_HPP_

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "conformance/sink_log.hpp"

namespace rtgw::conformance {

// Gate 6 (projection alignment) against the product's read model, read
// through its own query API: Convex's HTTP query API
// (`POST <deployment>/api/query` with {"path", "args", "format": "json"} ->
// {"status": "success", "value": ...} or {"status": "error", "errorMessage"}).
// The query (clients/convex, `rtgw:history` by default) takes
// {tenant_id, job_id} and returns the job's applied updates in the order the
// read model applied them: [{projection_version, state, status, ...}, ...].
// Pure functions; the caller sends the request (net::HttpClient).

// The request body for `function_path` ("module:function") with
// {"tenant_id", "job_id"} as args.
std::string ReadModelQueryBody(std::string_view function_path, std::string_view tenant_id,
                               std::string_view job_id);

// The steps of a query answer. kInvalidArgument when the body is not the
// query API's JSON, when the query failed ("status": "error", its
// errorMessage quoted), or when an entry has no whole-number
// projection_version.
Result<std::vector<ProjectionStep>> ParseReadModelHistory(std::string_view body);

// Compares the read model's applied history with the projection sequence the
// gateway served (`expected`, versions ascending). Stricter than
// CompareProjectionSequences (what a sink received, where a redelivery may
// repeat): an applied history must ascend strictly, because applying a
// version again or after a higher one is the receiver's bug (dedupe or the
// version check). Returns "" when aligned, else the first difference.
std::string CompareAppliedHistory(const std::vector<ProjectionStep>& expected,
                                  const std::vector<ProjectionStep>& applied);

}  // namespace rtgw::conformance

#endif  // RTGW_CONFORMANCE_READ_MODEL_HPP_
