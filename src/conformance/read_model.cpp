#include "conformance/read_model.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include <boost/json.hpp>

namespace rtgw::conformance {
namespace json = boost::json;

std::string ReadModelQueryBody(std::string_view function_path, std::string_view tenant_id,
                               std::string_view job_id) {
  json::object body;
  body["path"] = function_path;
  body["args"] = {{"tenant_id", tenant_id}, {"job_id", job_id}};
  body["format"] = "json";
  return json::serialize(body);
}

namespace {

std::string StringAt(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A JSON number that is a whole number (Convex numbers are float64: 3 may
// arrive as 3 or 3.0).
bool WholeNumber(const json::value& v, std::int64_t& out) {
  if (v.is_int64()) {
    out = v.as_int64();
    return true;
  }
  if (v.is_uint64() &&
      v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(v.as_uint64());
    return true;
  }
  if (v.is_double() && std::trunc(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 9.0e15) {
    out = static_cast<std::int64_t>(v.as_double());
    return true;
  }
  return false;
}

}  // namespace

Result<std::vector<ProjectionStep>> ParseReadModelHistory(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return InvalidArgument("the query answer is not a JSON object: " +
                           std::string(body.substr(0, 200)));
  }
  const auto& o = v.as_object();
  const std::string status = StringAt(o, "status");
  if (status != "success") {
    const std::string message = StringAt(o, "errorMessage");
    return InvalidArgument("the query failed (status '" + status +
                           "'): " + (message.empty() ? std::string(body.substr(0, 200)) : message));
  }
  const auto* value = o.if_contains("value");
  if (!value || !value->is_array()) {
    return InvalidArgument("the query's value is not a list of applied updates: " +
                           std::string(body.substr(0, 200)));
  }
  std::vector<ProjectionStep> out;
  out.reserve(value->as_array().size());
  size_t index = 0;
  for (const auto& entry : value->as_array()) {
    ++index;
    const auto* pv =
        entry.is_object() ? entry.as_object().if_contains("projection_version") : nullptr;
    ProjectionStep step;
    if (!pv || !WholeNumber(*pv, step.version)) {
      return InvalidArgument("applied update " + std::to_string(index) +
                             " has no whole-number projection_version");
    }
    step.state = StringAt(entry.as_object(), "state");
    step.status = StringAt(entry.as_object(), "status");
    out.push_back(std::move(step));
  }
  return out;
}

std::string CompareAppliedHistory(const std::vector<ProjectionStep>& expected,
                                  const std::vector<ProjectionStep>& applied) {
  for (size_t i = 1; i < applied.size(); ++i) {
    if (applied[i].version <= applied[i - 1].version) {
      return "the read model applied version " + std::to_string(applied[i].version) +
             " after version " + std::to_string(applied[i - 1].version) +
             " (a replayed or older update was applied; applied history " + FormatSteps(applied) +
             ")";
    }
  }
  return CompareProjectionSequences(expected, applied);
}

}  // namespace rtgw::conformance
