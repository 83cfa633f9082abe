#include "api/json_fields.hpp"

#include <cmath>
#include <optional>

#include "common/text.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

bool HasUriScheme(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<json::value> ParseBody(std::string_view body, json::storage_ptr sp, bool empty_ok) {
  if (empty_ok && body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return json::value(json::object(std::move(sp)));
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(body, ec, std::move(sp), opts);
  if (ec) return InvalidArgument("request body is not valid JSON: " + ec.message(), "invalid_json");
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  return v;
}

const json::value* Fields::Find(std::string_view key) const {
  auto it = obj_.find(key);
  return it == obj_.end() ? nullptr : &it->value();
}

Result<std::string> Fields::String(const schema::StringField& field) const {
  return String(field.name, field.max_chars);
}

Result<std::string> Fields::String(std::string_view key, std::int64_t max_chars) const {
  const json::value* v = Find(key);
  if (v == nullptr || v->is_null()) return Missing(key);
  if (!v->is_string()) return Bad(key, "must be a string");
  std::string_view s = v->get_string();
  if (s.empty()) return Bad(key, "must not be empty");
  if (static_cast<std::int64_t>(s.size()) > max_chars) {
    return Bad(key, "must be at most " + std::to_string(max_chars) + " characters");
  }
  if (HasControlChars(s)) return Bad(key, "must not contain control characters (C0, DEL, C1)");
  return std::string(s);
}

Result<std::string> Fields::OptionalString(std::string_view key, std::int64_t max_chars) const {
  const json::value* v = Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  return String(key, max_chars);
}

Result<std::string> Fields::Uri(const schema::StringField& field) const {
  auto s = String(field);
  if (!s) return s;
  if (!HasUriScheme(*s)) return Bad(field.name, "must be a URI with a scheme (scheme:...)");
  return s;
}

Result<std::int64_t> Fields::Integer(const schema::IntegerField& field) const {
  const std::string_view key = field.name;
  const std::int64_t min = field.min;
  const std::int64_t max = field.max;
  const json::value* v = Find(key);
  if (v == nullptr || v->is_null()) return Missing(key);
  std::optional<std::int64_t> n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    if (v->get_uint64() <= static_cast<std::uint64_t>(max)) {
      n = static_cast<std::int64_t>(v->get_uint64());
    }
  } else if (v->is_double()) {
    double d = v->get_double();
    if (std::isfinite(d) && std::floor(d) == d && d >= static_cast<double>(min) &&
        d <= static_cast<double>(max)) {
      n = static_cast<std::int64_t>(d);
    }
  } else {
    return Bad(key, "must be an integer");
  }
  if (!n || *n < min || *n > max) {
    return Bad(key,
               "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return *n;
}

Result<std::int64_t> Fields::IntegerOr(const schema::IntegerField& field,
                                       std::int64_t fallback) const {
  const json::value* v = Find(field.name);
  if (v == nullptr || v->is_null()) return fallback;
  return Integer(field);
}

Result<const json::object*> Fields::Object(std::string_view key, bool required) const {
  const json::value* v = Find(key);
  if (v == nullptr || v->is_null()) {
    if (required) return Missing(key);
    return static_cast<const json::object*>(nullptr);
  }
  if (!v->is_object()) return Bad(key, "must be an object");
  return &v->get_object();
}

std::string Fields::PathOf(std::string_view key) const {
  return parent_.empty() ? std::string(key) : parent_ + "." + std::string(key);
}

Error Fields::Missing(std::string_view key) const {
  return InvalidArgument(PathOf(key) + ": is required");
}

Error Fields::Bad(std::string_view key, const std::string& why) const {
  return InvalidArgument(PathOf(key) + ": " + why);
}

}  // namespace rtgw::api
