#include "api/error_mapping.hpp"

#include "common/logging.hpp"

namespace rtgw::api {

int ToHttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kGone:
      return 410;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kUnprocessable:
      return 422;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

http::Response MakeErrorResponse(int status, std::string_view code, std::string_view message,
                                 std::string_view trace_id) {
  http::Response r;
  r.status = status;
  r.body.reserve(96 + message.size());
  r.body += "{\"error\":{\"code\":\"";
  AppendJsonEscaped(r.body, code);
  r.body += "\",\"message\":\"";
  AppendJsonEscaped(r.body, message);
  r.body += "\",\"trace_id\":\"";
  AppendJsonEscaped(r.body, trace_id);
  r.body += "\"}}";
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

http::Response MakeErrorResponse(const Error& error, std::string_view trace_id) {
  std::string_view code = error.api_code.empty() ? DefaultApiCode(error.code) : error.api_code;
  return MakeErrorResponse(ToHttpStatus(error.code), code, error.message, trace_id);
}

}  // namespace rtgw::api
