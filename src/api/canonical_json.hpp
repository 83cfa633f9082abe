#ifndef RTGW_API_CANONICAL_JSON_HPP_
#define RTGW_API_CANONICAL_JSON_HPP_

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace rtgw::api {

// Canonical JSON text of `value`: object keys sorted by their UTF-8 bytes at
// every depth, no whitespace, numbers as Boost.JSON serializes them (integers
// stay integers). Two requests with the same meaning get the same bytes, so
// its SHA-256 is the request fingerprint used for idempotency.
std::string CanonicalJson(const boost::json::value& value);

// `text` as a JSON string literal, quoted and escaped exactly as CanonicalJson
// writes strings (for canonical text assembled by hand, e.g. a submit's).
std::string JsonQuoted(std::string_view text);

// Hex SHA-256 of CanonicalJson(value).
std::string Fingerprint(const boost::json::value& value);

}  // namespace rtgw::api

#endif  // RTGW_API_CANONICAL_JSON_HPP_
