#ifndef RTGW_API_ERROR_MAPPING_HPP_
#define RTGW_API_ERROR_MAPPING_HPP_

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/http_types.hpp"

namespace rtgw::api {

// The one place an ErrorCode becomes an HTTP status (userver's mapping).
int ToHttpStatus(ErrorCode code);

// Whether `error.message` may reach a client. Internal errors and store errors (api code
// "store_unavailable") carry text from SQLite, libpq or the OS: file paths, SQL, "database disk
// image is malformed". Those are never sent; the client gets a generic message with the trace
// id and the detail goes to the log.
bool IsClientSafe(const Error& error);

// The message a client gets for `error`: its own when client-safe, else a generic one (and the
// detail is logged at error level with `trace_id` and `what`, e.g. the route).
std::string ClientMessage(const Error& error, std::string_view trace_id);

// {"error":{"code","message","trace_id"}} with the status of `error.code` and the
// ClientMessage of `error`.
http::Response MakeErrorResponse(const Error& error, std::string_view trace_id);
http::Response MakeErrorResponse(int status, std::string_view code, std::string_view message,
                                 std::string_view trace_id);

}  // namespace rtgw::api

#endif  // RTGW_API_ERROR_MAPPING_HPP_
