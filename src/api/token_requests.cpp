#include "api/token_requests.hpp"

#include <boost/json.hpp>

#include "api/schemas.hpp"

namespace rtgw::api {

namespace json = boost::json;

Result<RevokeRequest> ParseRevokeRequest(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("request body is not valid JSON: " + ec.message(), "invalid_json");
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  const json::object& o = v.get_object();
  for (const auto& field : o) {
    if (field.key() != "jti" && field.key() != "expires_at") {
      return InvalidArgument(std::string(field.key()) + ": unknown field");
    }
  }
  RevokeRequest out;
  const json::value* jti = o.if_contains(schema::kJti.name);
  if (jti == nullptr) return InvalidArgument("jti: is required");
  if (!jti->is_string() || !schema::Matches(schema::kJti, jti->get_string())) {
    return InvalidArgument("jti: must be a string of 1 to 256 characters");
  }
  for (char c : jti->get_string()) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgument("jti: must not contain control characters");
    }
  }
  out.jti = std::string(jti->get_string());
  if (const json::value* at = o.if_contains("expires_at"); at != nullptr && !at->is_null()) {
    std::optional<SystemTime> t =
        at->is_string() ? ParseRfc3339(at->get_string()) : std::optional<SystemTime>();
    if (!t) return InvalidArgument("expires_at: must be an RFC 3339 date-time");
    out.expires_at = *t;
  }
  return out;
}

}  // namespace rtgw::api
