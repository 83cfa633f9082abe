#ifndef RTGW_API_OPENAPI_HPP_
#define RTGW_API_OPENAPI_HPP_

#include <string>
#include <string_view>

namespace rtgw::api {

// The OpenAPI 3.1 document of the served surface, generated from the route
// table (api/routes.hpp) and the schemas in openapi.cpp, pretty-printed with a
// trailing newline. docs/openapi.json is a committed copy; `rtgw openapi
// --check` compares them. Pure.
std::string BuildOpenApiJson(std::string_view version);

// Compares two OpenAPI texts semantically (JSON values, not bytes). Returns an
// empty string when equal, else a short human-readable summary of the
// differences (JSON pointers of changed, added and removed members).
std::string DiffOpenApi(std::string_view expected, std::string_view actual);

}  // namespace rtgw::api

#endif  // RTGW_API_OPENAPI_HPP_
