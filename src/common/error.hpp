#ifndef RTGW_COMMON_ERROR_HPP_
#define RTGW_COMMON_ERROR_HPP_

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rtgw {

// Closed set of error kinds. Each maps to exactly one HTTP status in
// api/error_mapping.cpp (ToHttpStatus): add the HTTP mapping when you add a value.
enum class ErrorCode {
  kInvalidArgument,       // 400
  kUnauthenticated,       // 401
  kPermissionDenied,      // 403
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kRequestTimeout,        // 408
  kConflict,              // 409
  kGone,                  // 410
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kUnprocessable,         // 422
  kTooManyRequests,       // 429
  kHeadersTooLarge,       // 431
  kUnavailable,           // 503
  kInternal,              // 500
};

// A domain or input error. `api_code` is the machine-readable code put in the
// JSON error body (e.g. "idempotency_conflict"), one of the closed set in
// api/error_codes.hpp; empty means the default of `code` there (e.g.
// "not_found"). `message` is for humans and never holds secrets.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string api_code;
};

// Named constructors, LevelDB Status style: NotFound("job 42").
inline Error InvalidArgument(std::string message, std::string api_code = {}) {
  return {ErrorCode::kInvalidArgument, std::move(message), std::move(api_code)};
}
inline Error Unauthenticated(std::string message) {
  return {ErrorCode::kUnauthenticated, std::move(message), {}};
}
inline Error PermissionDenied(std::string message, std::string api_code = {}) {
  return {ErrorCode::kPermissionDenied, std::move(message), std::move(api_code)};
}
inline Error NotFound(std::string message) {
  return {ErrorCode::kNotFound, std::move(message), {}};
}
inline Error Conflict(std::string message, std::string api_code = {}) {
  return {ErrorCode::kConflict, std::move(message), std::move(api_code)};
}
inline Error Gone(std::string message, std::string api_code = {}) {
  return {ErrorCode::kGone, std::move(message), std::move(api_code)};
}
inline Error TooManyRequests(std::string message, std::string api_code = {}) {
  return {ErrorCode::kTooManyRequests, std::move(message), std::move(api_code)};
}
inline Error Unavailable(std::string message, std::string api_code = {}) {
  return {ErrorCode::kUnavailable, std::move(message), std::move(api_code)};
}
inline Error Internal(std::string message) {
  return {ErrorCode::kInternal, std::move(message), {}};
}

// Value-or-error. Small on purpose: std::expected is C++23 and
// boost::system::result needs ADL hooks for a custom error type.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

}  // namespace rtgw

#endif  // RTGW_COMMON_ERROR_HPP_
