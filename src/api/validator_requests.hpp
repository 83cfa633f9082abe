#ifndef RTGW_API_VALIDATOR_REQUESTS_HPP_
#define RTGW_API_VALIDATOR_REQUESTS_HPP_

// JSON bodies of the validator routes (docs/contracts/validator-callback.md) -> the
// ValidationService's requests. Pure (no I/O). Errors are InvalidArgument naming the field
// path, as in job_requests.hpp.

#include <string_view>

#include "common/error.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::api {

// POST /api/runtime/validations:launch. tenant_id, subject and trace_id are left empty.
Result<validators::LaunchRequest> ParseLaunchBody(std::string_view body);
// POST /internal/validations/callback. bearer_token and trace_id are left empty.
Result<validators::CallbackRequest> ParseCallbackBody(std::string_view body);

}  // namespace rtgw::api

#endif  // RTGW_API_VALIDATOR_REQUESTS_HPP_
