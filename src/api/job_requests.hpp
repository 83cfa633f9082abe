#ifndef RTGW_API_JOB_REQUESTS_HPP_
#define RTGW_API_JOB_REQUESTS_HPP_

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "storage/job_store.hpp"

namespace rtgw::api {

// JSON body -> validated store records. Pure (no I/O, no clock: the caller
// passes the values that depend on time and randomness). Errors name the field
// path: InvalidArgument("resource_shape.cpu: must be an integer from 1 to 1024").
// A body tenant_id that is not the caller's is PermissionDenied(.., "tenant_mismatch").

struct SubmitContext {
  std::string_view caller_tenant_id;
  std::string_view submission_id;  // fresh UUID
  std::string_view accepted_at;    // RFC 3339 now
  std::string_view trace_id;
};

Result<storage::SubmitRecord> ParseSubmitRequest(std::string_view body, const SubmitContext& ctx);

struct EventContext {
  std::string_view caller_tenant_id;
  std::string_view path_job_id;
  std::string_view received_at;
};

Result<storage::EventRecord> ParseEventRequest(std::string_view body, const EventContext& ctx);

// True when `job_id` is 1-128 characters of A-Z a-z 0-9 . _ - @ ~.
bool IsValidJobId(std::string_view job_id);

}  // namespace rtgw::api

#endif  // RTGW_API_JOB_REQUESTS_HPP_
