#ifndef RTGW_API_JOB_VIEWS_HPP_
#define RTGW_API_JOB_VIEWS_HPP_

#include <string>

#include "storage/job_store.hpp"

namespace rtgw::api {

// Store records -> response JSON text (shapes in docs/contracts/http-api.md).
// Pure; safe for concurrent use.
std::string JobJson(const storage::JobRecord& job);
std::string JobDetailJson(const storage::JobDetail& detail);
std::string ProjectionJson(const storage::JobRecord& job);

}  // namespace rtgw::api

#endif  // RTGW_API_JOB_VIEWS_HPP_
