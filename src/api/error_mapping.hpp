#ifndef RTGW_API_ERROR_MAPPING_HPP_
#define RTGW_API_ERROR_MAPPING_HPP_

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/http_types.hpp"

namespace rtgw::api {

// The one place an ErrorCode becomes an HTTP status (userver's mapping).
int ToHttpStatus(ErrorCode code);

// {"error":{"code","message","trace_id"}} with the status of `error.code`.
http::Response MakeErrorResponse(const Error& error, std::string_view trace_id);
http::Response MakeErrorResponse(int status, std::string_view code, std::string_view message,
                                 std::string_view trace_id);

}  // namespace rtgw::api

#endif  // RTGW_API_ERROR_MAPPING_HPP_
