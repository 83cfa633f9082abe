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
    case ErrorCode::kRequestTimeout:
      return 408;
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
    case ErrorCode::kTooManyRequests:
      return 429;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

http::Response MakeErrorResponse(ApiCode api_code, std::string_view message,
                                 std::string_view trace_id) {
  const ApiCodeSpec& spec = SpecOf(api_code);
  const std::string_view code = spec.wire;
  const int status = ToHttpStatus(spec.kind);
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
  // A bounded queue refused the work (e.g. --validation-queue-max), or a watcher limit was
  // reached (--max-watchers): try again in a second.
  if (api_code == ApiCode::kOverloaded || api_code == ApiCode::kTooManyWatchers) {
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

bool IsClientSafe(const Error& error) {
  return error.code != ErrorCode::kInternal && ApiCodeOf(error) != ApiCode::kStoreUnavailable;
}

std::string ClientMessage(const Error& error, std::string_view trace_id) {
  if (IsClientSafe(error)) return error.message;
  LogError("error detail withheld from the client",
           {{"trace_id", trace_id},
            {"code", WireName(ApiCodeOf(error).value_or(ApiCode::kInternal))},
            {"error", error.message}});
  if (error.code == ErrorCode::kInternal) {
    return "internal error; the server log has the details under this trace_id";
  }
  return "the store is unavailable; retry later (the server log has the details under this "
         "trace_id)";
}

http::Response MakeErrorResponse(const Error& error, std::string_view trace_id) {
  std::optional<ApiCode> code = ApiCodeOf(error);
  if (!code || SpecOf(*code).kind != error.code) {
    // A producer named a code outside docs/contracts/http-api.md, or one of another kind.
    LogError("error code outside api/error_codes.hpp; answered as internal",
             {{"trace_id", trace_id},
              {"code", error.api_code},
              {"status", ToHttpStatus(error.code)},
              {"error", error.message}});
    return MakeErrorResponse(Internal(error.message), trace_id);
  }
  return MakeErrorResponse(*code, ClientMessage(error, trace_id), trace_id);
}

}  // namespace rtgw::api
