#ifndef RTGW_API_JSON_FIELDS_HPP_
#define RTGW_API_JSON_FIELDS_HPP_

// Private to api: the one way request bodies are read. ParseBody parses a body
// into a JSON object (depth-limited); Fields reads validated fields out of one
// object, taking names and bounds from api/schemas.hpp and wording every error
// with the field's path ("resource_shape.cpu: must be an integer from 1 to
// 1024"). Used by the job, node and token request parsers. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/schemas.hpp"
#include "common/error.hpp"

namespace rtgw::api {

// `body` as a JSON object (max depth 32): InvalidArgument "invalid_json" when it
// is not JSON, InvalidArgument when it is not an object. With `empty_ok`, a
// blank body is the empty object.
Result<boost::json::value> ParseBody(std::string_view body, boost::json::storage_ptr sp = {},
                                     bool empty_ok = false);

// Reads validated fields out of one JSON object; `parent` prefixes error paths.
class Fields {
 public:
  Fields(const boost::json::object& obj, std::string parent)
      : obj_(obj), parent_(std::move(parent)) {}

  const boost::json::value* Find(std::string_view key) const;
  // A non-empty string of at most max_chars, without control characters;
  // absent or null: "is required".
  Result<std::string> String(const schema::StringField& field) const;
  Result<std::string> String(std::string_view key, std::int64_t max_chars) const;
  // The same, but absent or null gives "".
  Result<std::string> OptionalString(std::string_view key, std::int64_t max_chars) const;
  // A String with a URI scheme ("scheme:...").
  Result<std::string> Uri(const schema::StringField& field) const;
  // An integer (an integral JSON double counts) from field.min to field.max.
  Result<std::int64_t> Integer(const schema::IntegerField& field) const;
  // The same, but absent or null gives `fallback`.
  Result<std::int64_t> IntegerOr(const schema::IntegerField& field, std::int64_t fallback) const;
  Result<const boost::json::object*> Object(std::string_view key, bool required) const;

  std::string PathOf(std::string_view key) const;
  Error Missing(std::string_view key) const;
  Error Bad(std::string_view key, const std::string& why) const;

 private:
  const boost::json::object& obj_;
  std::string parent_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_JSON_FIELDS_HPP_
