#ifndef RTGW_API_ERROR_CODES_HPP_
#define RTGW_API_ERROR_CODES_HPP_

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::api {

// The closed set of machine-readable codes a client can find in an error body
// {"error":{"code",...}}: exactly the codes of docs/contracts/http-api.md "Errors"
// (error_codes_test.cpp compares the two). Add a row to kApiCodes and to that table when
// you add a value.
enum class ApiCode {
  kInvalidJson,
  kInvalidArgument,
  kJobIdMismatch,
  kBadRequest,
  kUnauthenticated,
  kProxyUnauthorized,
  kTenantMismatch,
  kQueueDenied,
  kNodeTokenRequired,
  kNodeMismatch,
  kSubjectMismatch,
  kScopeDenied,
  kTokenRevoked,
  kNotFound,
  kMethodNotAllowed,
  kRequestTimeout,
  kIdempotencyConflict,
  kJobIdConflict,
  kEventConflict,
  kEventLimit,
  kSubmissionMismatch,
  kLeaseLost,
  kJobTerminal,
  kRunNotFinished,
  kCallbackSuperseded,
  kExecutionFinished,
  kRunConflict,
  kGone,
  kCursorExpired,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kWalltimeExceeded,
  kResourceLimitExceeded,
  kTooManyWatchers,
  kRateLimited,
  kQuotaExceeded,
  kHeadersTooLarge,
  kInternal,
  kUnavailable,
  kStoreUnavailable,
  kDraining,
  kSlurmUnavailable,
  kOverloaded,
  kHandlerTimeout,
};

// One code: its wire name, the ErrorCode kind that gives its HTTP status (ToHttpStatus in
// error_mapping.hpp), and whether it is the code an Error of that kind gets when it names none.
struct ApiCodeSpec {
  ApiCode code;
  std::string_view wire;
  ErrorCode kind;
  bool kind_default = false;
};

inline constexpr std::array kApiCodes = {
    ApiCodeSpec{ApiCode::kInvalidJson, "invalid_json", ErrorCode::kInvalidArgument},
    ApiCodeSpec{ApiCode::kInvalidArgument, "invalid_argument", ErrorCode::kInvalidArgument, true},
    ApiCodeSpec{ApiCode::kJobIdMismatch, "job_id_mismatch", ErrorCode::kInvalidArgument},
    ApiCodeSpec{ApiCode::kBadRequest, "bad_request", ErrorCode::kInvalidArgument},
    ApiCodeSpec{ApiCode::kUnauthenticated, "unauthenticated", ErrorCode::kUnauthenticated, true},
    ApiCodeSpec{ApiCode::kProxyUnauthorized, "proxy_unauthorized", ErrorCode::kUnauthenticated},
    ApiCodeSpec{ApiCode::kTenantMismatch, "tenant_mismatch", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kQueueDenied, "queue_denied", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kNodeTokenRequired, "node_token_required", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kNodeMismatch, "node_mismatch", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kSubjectMismatch, "subject_mismatch", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kScopeDenied, "scope_denied", ErrorCode::kPermissionDenied},
    ApiCodeSpec{ApiCode::kTokenRevoked, "token_revoked", ErrorCode::kUnauthenticated},
    ApiCodeSpec{ApiCode::kNotFound, "not_found", ErrorCode::kNotFound, true},
    ApiCodeSpec{ApiCode::kMethodNotAllowed, "method_not_allowed", ErrorCode::kMethodNotAllowed,
                true},
    ApiCodeSpec{ApiCode::kRequestTimeout, "request_timeout", ErrorCode::kRequestTimeout, true},
    ApiCodeSpec{ApiCode::kIdempotencyConflict, "idempotency_conflict", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kJobIdConflict, "job_id_conflict", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kEventConflict, "event_conflict", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kEventLimit, "event_limit", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kSubmissionMismatch, "submission_mismatch", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kLeaseLost, "lease_lost", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kJobTerminal, "job_terminal", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kRunNotFinished, "run_not_finished", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kCallbackSuperseded, "callback_superseded", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kExecutionFinished, "execution_finished", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kRunConflict, "run_conflict", ErrorCode::kConflict},
    ApiCodeSpec{ApiCode::kGone, "gone", ErrorCode::kGone, true},
    ApiCodeSpec{ApiCode::kCursorExpired, "cursor_expired", ErrorCode::kGone},
    ApiCodeSpec{ApiCode::kPayloadTooLarge, "payload_too_large", ErrorCode::kPayloadTooLarge, true},
    ApiCodeSpec{ApiCode::kUnsupportedMediaType, "unsupported_media_type",
                ErrorCode::kUnsupportedMediaType, true},
    ApiCodeSpec{ApiCode::kWalltimeExceeded, "walltime_exceeded", ErrorCode::kUnprocessable},
    ApiCodeSpec{ApiCode::kResourceLimitExceeded, "resource_limit_exceeded",
                ErrorCode::kUnprocessable},
    ApiCodeSpec{ApiCode::kTooManyWatchers, "too_many_watchers", ErrorCode::kTooManyRequests},
    ApiCodeSpec{ApiCode::kRateLimited, "rate_limited", ErrorCode::kTooManyRequests},
    ApiCodeSpec{ApiCode::kQuotaExceeded, "quota_exceeded", ErrorCode::kTooManyRequests},
    ApiCodeSpec{ApiCode::kHeadersTooLarge, "headers_too_large", ErrorCode::kHeadersTooLarge, true},
    ApiCodeSpec{ApiCode::kInternal, "internal", ErrorCode::kInternal, true},
    ApiCodeSpec{ApiCode::kUnavailable, "unavailable", ErrorCode::kUnavailable, true},
    ApiCodeSpec{ApiCode::kStoreUnavailable, "store_unavailable", ErrorCode::kUnavailable},
    ApiCodeSpec{ApiCode::kDraining, "draining", ErrorCode::kUnavailable},
    ApiCodeSpec{ApiCode::kSlurmUnavailable, "slurm_unavailable", ErrorCode::kUnavailable},
    ApiCodeSpec{ApiCode::kOverloaded, "overloaded", ErrorCode::kUnavailable},
    ApiCodeSpec{ApiCode::kHandlerTimeout, "handler_timeout", ErrorCode::kUnavailable},
};

// The row of `code`. Pure.
const ApiCodeSpec& SpecOf(ApiCode code);
inline std::string_view WireName(ApiCode code) { return SpecOf(code).wire; }

// The code named `wire`, if it is in the set. Pure.
std::optional<ApiCode> FindApiCode(std::string_view wire);

// The code of `error` as a client sees it: its api_code, else the default of its kind.
// Empty when that is outside the set (a bug: the renderer answers 500 internal).
std::optional<ApiCode> ApiCodeOf(const Error& error);

// An Error of `code`'s kind carrying `code`: what api handlers use for errors of their own.
Error ApiError(ApiCode code, std::string message);

}  // namespace rtgw::api

#endif  // RTGW_API_ERROR_CODES_HPP_
