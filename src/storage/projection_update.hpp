#ifndef RTGW_STORAGE_PROJECTION_UPDATE_HPP_
#define RTGW_STORAGE_PROJECTION_UPDATE_HPP_

#include <string>

#include "storage/job_store.hpp"

namespace rtgw::storage {

// The ProjectionUpdate body for `job` as it is right after a state change
// (docs/contracts/projection-update.md): {tenant_id, workspace_id, job_id,
// submission_id, status, state, projection_version, occurred_at, trace_id,
// result_ref?, error?}. `occurred_at` is the change's time (submit:
// accepted_at; event: its occurred_at); `trace_id` the trace of the request
// that caused it. Compact JSON with keys in that order; deterministic.
std::string BuildProjectionUpdate(const JobRecord& job, const std::string& occurred_at,
                                  const std::string& trace_id);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_PROJECTION_UPDATE_HPP_
