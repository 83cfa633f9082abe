#ifndef RTGW_API_CONSOLE_ASSETS_HPP_
#define RTGW_API_CONSOLE_ASSETS_HPP_

#include <optional>
#include <span>
#include <string_view>

#include "http/http_types.hpp"

// The operator console (docs/contracts/console.md): the static files of console/www, compiled
// into the binary at build time (cmake/EmbedConsole.cmake writes the table that
// EmbeddedConsoleFiles returns), served at GET /console and GET /console/{asset}. No file is
// read at run time, so an installed binary serves the console with nothing beside it.
namespace rtgw::api {

// One embedded file. Every view points into static storage: valid for the whole process.
struct ConsoleFile {
  std::string_view name;    // "app.js": a file of console/www, no directory part
  std::string_view bytes;   // its content
  std::string_view sha256;  // lowercase hex SHA-256 of `bytes`, computed at build time
};

// Every embedded file, in file-name order. Defined in the generated source. Thread-safe (static
// data).
std::span<const ConsoleFile> EmbeddedConsoleFiles();

// The Content-Security-Policy of every console answer (docs/contracts/console.md "Headers"):
// nothing by default; scripts, styles, images and fetch() from this origin only; no <base>, no
// form submission, no framing. No 'unsafe-inline': the console has no inline script or style.
inline constexpr std::string_view kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The file GET /console serves.
inline constexpr std::string_view kConsoleIndex = "index.html";

// The Content-Type of a file by its extension (.html, .js, .css, .svg, .png), or empty for any
// other: the build embeds only those (cmake/EmbedConsole.cmake), a unit test checks each file.
std::string_view ConsoleContentType(std::string_view name);

struct ConsoleHeader {
  std::string_view name;
  std::string_view value;
};
// The headers every console answer carries, its 404 included (the OpenAPI document lists the
// same, from this table): the policy above, no MIME sniffing, no Referer to other sites, and
// this origin only as opener and as embedder of its files.
inline constexpr ConsoleHeader kConsoleSecurityHeaders[] = {
    {"Content-Security-Policy", kConsoleContentSecurityPolicy},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};
// Adds kConsoleSecurityHeaders to `response`.
void AddConsoleSecurityHeaders(http::Response& response);

// The answer to GET of the console file `name` (kConsoleIndex for /console): 200 with the file,
// its Content-Type, `ETag: "<first 32 hex digits of its SHA-256>"` and `Cache-Control:
// no-cache` (the names are not versioned, so a browser revalidates each time and never mixes
// files of two builds); 304 without a body when `if_none_match` (the request's If-None-Match)
// lists that ETag or is "*". nullopt when no such file is embedded: the caller answers 404.
// Pure; safe for concurrent use.
std::optional<http::Response> ConsoleFileResponse(std::string_view name,
                                                  std::string_view if_none_match);

}  // namespace rtgw::api

#endif  // RTGW_API_CONSOLE_ASSETS_HPP_
