#ifndef RTGW_API_QUERY_PARAMS_HPP_
#define RTGW_API_QUERY_PARAMS_HPP_

// Private to api: the one way a query string is read. Parse decodes it as
// application/x-www-form-urlencoded (RFC 3986 percent-escapes, '+' is a
// space: what URLSearchParams and Python's urlencode send; a literal '+' is
// sent as %2B) with Boost.URL, and refuses what the route does not take:
// an unknown name, a name repeated more often than allowed. The typed readers
// check a value against its field of api/schemas.hpp (the same constants the
// OpenAPI document is emitted from) and word every error with the parameter's
// name first ("limit: must be an integer from 1 to 500"). Pure.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/schemas.hpp"
#include "common/error.hpp"

namespace rtgw::api {

// A query parameter a route takes, and how often it may appear.
struct QueryParamSpec {
  std::string_view name;
  std::size_t max_count = 1;
};

class QueryParams {
 public:
  // `query` is the part after '?', still encoded. Errors (InvalidArgument):
  // malformed percent-encoding ("query: ..."), a name not in `allowed`
  // ("<name>: unknown query parameter; this route takes a, b"), a name given
  // more than its max_count ("<name>: must not repeat" / "<name>: at most N
  // values"), a value with control characters. With `ignore_unknown`, names
  // not in `allowed` are skipped instead (routes that predate strict
  // parsing). Empty pieces ("a=1&&b=2") are skipped.
  static Result<QueryParams> Parse(std::string_view query, std::span<const QueryParamSpec> allowed,
                                   bool ignore_unknown = false);

  bool Has(std::string_view name) const;
  // The decoded values of `name`, in order (empty when absent).
  std::vector<std::string> All(std::string_view name) const;

  // A string parameter: absent -> nullopt; present: 1..max_chars bytes of the
  // field's charset (any but control characters when it has none).
  Result<std::optional<std::string>> String(const schema::StringField& field) const;
  // Every value of a repeatable string parameter, each checked as String does.
  Result<std::vector<std::string>> Strings(const schema::StringField& field) const;
  // `value` checked against `field` as String does, errors naming the field.
  static Result<std::string> Check(const schema::StringField& field, std::string value);
  // A decimal integer from field.min to field.max; absent -> nullopt.
  Result<std::optional<std::int64_t>> Integer(const schema::IntegerField& field) const;
  // A flag: absent -> false; "name", "name=1" or "name=true" -> true; anything else false.
  bool Flag(std::string_view name) const;

 private:
  struct Param {
    std::string name;
    std::string value;
    bool has_value = false;  // "name=..." rather than "name"
  };
  const Param* First(std::string_view name) const;

  std::vector<Param> params_;  // decoded, in order
};

// The items of a comma-separated value (`state=queued,running`), in order, as
// views into `text`; empty items are kept (the caller's check refuses them as
// it refuses any unknown name). Never empty: "" gives one empty item.
std::vector<std::string_view> SplitCommaList(std::string_view text);

}  // namespace rtgw::api

#endif  // RTGW_API_QUERY_PARAMS_HPP_
