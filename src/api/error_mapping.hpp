#ifndef RTGW_API_ERROR_MAPPING_HPP_
#define RTGW_API_ERROR_MAPPING_HPP_

#include <string>
#include <string_view>

#include "api/error_codes.hpp"
#include "common/error.hpp"
#include "http/http_types.hpp"

namespace rtgw::api {

// The one place an ErrorCode becomes an HTTP status (userver's mapping); an ApiCode's status
// is that of its kind (api/error_codes.hpp).
int ToHttpStatus(ErrorCode code);

// Whether `error.message` may reach a client. Internal errors and store errors (api code
// "store_unavailable") carry text from SQLite, libpq or the OS: file paths, SQL, "database disk
// image is malformed". Those are never sent; the client gets a generic message with the trace
// id and the detail goes to the log.
bool IsClientSafe(const Error& error);

// The message a client gets for `error`: its own when client-safe, else a generic one (and the
// detail is logged at error level with `trace_id` and `what`, e.g. the route).
std::string ClientMessage(const Error& error, std::string_view trace_id);

// The only renderer of an error response: {"error":{"code","message","trace_id"}} with the
// status of the code's kind, `WWW-Authenticate: Bearer` on 401 and `Retry-After: 1` on
// `overloaded`. This one carries the ClientMessage of `error`; an error whose code is outside
// the set (a bug) is logged and answered 500 `internal`.
http::Response MakeErrorResponse(const Error& error, std::string_view trace_id);
// For errors api itself finds (routing, auth, protocol): `message` is sent as it is.
http::Response MakeErrorResponse(ApiCode code, std::string_view message, std::string_view trace_id);

}  // namespace rtgw::api

#endif  // RTGW_API_ERROR_MAPPING_HPP_
