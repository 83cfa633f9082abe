#ifndef RTGW_API_TOKEN_REQUESTS_HPP_
#define RTGW_API_TOKEN_REQUESTS_HPP_

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace rtgw::api {

// POST /api/runtime/tokens:revoke {"jti": string, "expires_at"?: RFC 3339}.
struct RevokeRequest {
  std::string jti;
  std::optional<SystemTime> expires_at;
};

// Pure. InvalidArgument naming the field (invalid_json for a body that is not JSON).
Result<RevokeRequest> ParseRevokeRequest(std::string_view body);

}  // namespace rtgw::api

#endif  // RTGW_API_TOKEN_REQUESTS_HPP_
