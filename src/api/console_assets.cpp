#include "api/console_assets.hpp"

#include <algorithm>
#include <string>

namespace rtgw::api {
namespace {

struct TypeByExtension {
  std::string_view extension;
  std::string_view content_type;
};
constexpr TypeByExtension kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
};

std::string ETagOf(const ConsoleFile& file) {
  return "\"" + std::string(file.sha256.substr(0, 32)) + "\"";
}

// RFC 9110 section 13.1.2: If-None-Match is "*" or a list of entity tags, weak ones (W/"...")
// compared weakly, which for GET is the comparison to use.
bool IfNoneMatchLists(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
  }
  return false;
}

}  // namespace

std::string_view ConsoleContentType(std::string_view name) {
  for (const TypeByExtension& t : kTypes) {
    if (name.size() > t.extension.size() &&
        name.substr(name.size() - t.extension.size()) == t.extension) {
      return t.content_type;
    }
  }
  return {};
}

void AddConsoleSecurityHeaders(http::Response& response) {
  for (const ConsoleHeader& h : kConsoleSecurityHeaders) {
    response.headers.emplace_back(h.name, h.value);
  }
}

std::optional<http::Response> ConsoleFileResponse(std::string_view name,
                                                  std::string_view if_none_match) {
  const std::span<const ConsoleFile> files = EmbeddedConsoleFiles();
  const auto file = std::find_if(files.begin(), files.end(),
                                 [&](const ConsoleFile& f) { return f.name == name; });
  if (file == files.end()) return std::nullopt;
  http::Response r;
  const std::string etag = ETagOf(*file);
  if (IfNoneMatchLists(if_none_match, etag)) {
    r.status = 304;
    r.content_type.clear();
  } else {
    r.status = 200;
    r.content_type = std::string(ConsoleContentType(file->name));
    r.body = std::string(file->bytes);
  }
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  AddConsoleSecurityHeaders(r);
  return r;
}

}  // namespace rtgw::api
