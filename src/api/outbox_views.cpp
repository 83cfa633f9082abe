#include "api/outbox_views.hpp"

#include <boost/json.hpp>

#include "api/query_params.hpp"
#include "api/schemas.hpp"

namespace rtgw::api {
namespace json = boost::json;

Result<int> ParseDeadLetterLimit(std::string_view query) {
  // Other parameters are ignored: the route took none before strict query parsing.
  static constexpr QueryParamSpec kAllowed[] = {{schema::kDeadLetterLimit.name}};
  auto params = QueryParams::Parse(query, kAllowed, /*ignore_unknown=*/true);
  if (!params) return params.error();
  auto limit = params->Integer(schema::kDeadLetterLimit);
  if (!limit) return limit.error();
  return static_cast<int>(limit->value_or(100));
}

Result<std::int64_t> ParseReplayRequest(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("request body is not valid JSON: " + ec.message(), "invalid_json");
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  const json::value* id = v.get_object().if_contains("id");
  if (id == nullptr) return InvalidArgument("id: is required");
  if (!id->is_int64() && !id->is_uint64()) return InvalidArgument("id: must be an integer");
  const std::int64_t n = id->is_int64() ? id->get_int64() : -1;
  if (n < 1) return InvalidArgument("id: must be at least 1");
  return n;
}

std::string DeadLettersJson(const std::vector<storage::OutboxItem>& items) {
  json::array list;
  list.reserve(items.size());
  for (const storage::OutboxItem& item : items) {
    json::object o;
    o["id"] = item.id;
    o["tenant_id"] = item.tenant_id;
    o["job_id"] = item.job_id;
    o["projection_version"] = item.projection_version;
    o["attempts"] = item.attempts;
    o["last_error"] = item.last_error ? json::value(*item.last_error) : json::value(nullptr);
    o["created_at"] = item.created_at;
    o["dead_at"] = item.dead_at ? json::value(*item.dead_at) : json::value(nullptr);
    boost::system::error_code ec;
    json::value payload = json::parse(item.payload_json, ec);
    o["payload"] = ec ? json::value(nullptr) : std::move(payload);
    list.push_back(std::move(o));
  }
  return json::serialize(json::object{{"dead_letters", std::move(list)}});
}

}  // namespace rtgw::api
