#include "api/token_requests.hpp"

#include <boost/json.hpp>

#include "api/json_fields.hpp"
#include "api/schemas.hpp"

namespace rtgw::api {

namespace json = boost::json;

Result<RevokeRequest> ParseRevokeRequest(std::string_view body) {
  auto v = ParseBody(body);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  for (const auto& field : o) {
    if (field.key() != "jti" && field.key() != "expires_at") {
      return InvalidArgument(std::string(field.key()) + ": unknown field");
    }
  }
  const Fields f(o, "");
  RevokeRequest out;
  auto jti = f.String(schema::kJti);
  if (!jti) return std::move(jti).error();
  out.jti = std::move(*jti);
  auto at = f.OptionalString("expires_at", 64);
  if (!at) return std::move(at).error();
  if (!at->empty()) {
    std::optional<SystemTime> t = ParseRfc3339(*at);
    if (!t) return f.Bad("expires_at", "must be an RFC 3339 date-time");
    out.expires_at = *t;
  }
  return out;
}

}  // namespace rtgw::api
