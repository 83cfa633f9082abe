#include "api/error_codes.hpp"

namespace rtgw::api {

const ApiCodeSpec& SpecOf(ApiCode code) {
  for (const ApiCodeSpec& spec : kApiCodes) {
    if (spec.code == code) return spec;
  }
  return SpecOf(ApiCode::kInternal);  // unreachable: every enumerator has a row (tested)
}

std::optional<ApiCode> FindApiCode(std::string_view wire) {
  for (const ApiCodeSpec& spec : kApiCodes) {
    if (spec.wire == wire) return spec.code;
  }
  return std::nullopt;
}

std::optional<ApiCode> ApiCodeOf(const Error& error) {
  if (!error.api_code.empty()) return FindApiCode(error.api_code);
  for (const ApiCodeSpec& spec : kApiCodes) {
    if (spec.kind == error.code && spec.kind_default) return spec.code;
  }
  return std::nullopt;
}

Error ApiError(ApiCode code, std::string message) {
  const ApiCodeSpec& spec = SpecOf(code);
  return Error{spec.kind, std::move(message), std::string(spec.wire)};
}

}  // namespace rtgw::api
