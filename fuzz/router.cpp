// libFuzzer target: the router (api/routes.hpp MatchRoute). Input: "METHOD
// PATH" (split at the first space; no space: GET and the whole input as the
// path). Corpus: corpus/router/.
// Properties:
//  - a matched route has the request's method, and its template matches the
//    path: the path starts and ends with the template's outer literals, and
//    the template with the decoded parameters put back (percent-encoded) is
//    matched to the same route with the same parameters;
//  - 405's Allow lists methods that are matched on that path, never the
//    request's own;
//  - an unmatched path is reported as the template "unmatched" (metrics and
//    logs never see a raw path).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/routes.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::api::MatchRoute;
using rtgw::api::RouteMatch;
using rtgw::fuzz::Require;

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

// The template with each {param} replaced by its percent-encoded value.
std::string Instantiate(std::string_view tmpl, const RouteMatch& m) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    out.append(tmpl.substr(i, open - i));
    const std::size_t close = tmpl.find('}', open);
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    const std::string& value = name == "node_id"    ? m.node_id
                               : name == "lease_id" ? m.lease_id
                                                    : m.job_id;
    Require(!value.empty(), "every parameter of a matched template has a value");
    out.append(PercentEncode(value));
    i = close + 1;
  }
  return out;
}

void CheckMatched(std::string_view method, std::string_view path, const RouteMatch& m) {
  Require(m.route != nullptr && m.path_template == m.route->path_template,
          "a match reports its route's template");
  if (m.route->id == rtgw::api::RouteId::kRetiredZpe) {
    Require(path == "/api/zpe" || path.rfind("/api/zpe/", 0) == 0,
            "only /api/zpe paths are the retired route");
    return;
  }
  Require(m.route->method == method, "a matched route has the request's method");
  const std::string_view tmpl = m.route->path_template;
  const std::string_view prefix = tmpl.substr(0, tmpl.find('{'));
  Require(path.rfind(prefix, 0) == 0, "the path starts with the template's literal prefix");
  if (const auto close = tmpl.rfind('}'); close != std::string_view::npos) {
    const std::string_view suffix = tmpl.substr(close + 1);
    Require(path.size() >= prefix.size() + suffix.size() &&
                path.substr(path.size() - suffix.size()) == suffix,
            "the path ends with the template's literal suffix");
  } else {
    Require(path == tmpl, "a template without parameters matches only itself");
  }
  const std::string rebuilt = Instantiate(tmpl, m);
  const RouteMatch again = MatchRoute(method, rebuilt);
  Require(again.kind == RouteMatch::Kind::kMatched && again.route == m.route,
          "the template filled with the decoded parameters matches the same route");
  Require(again.job_id == m.job_id && again.node_id == m.node_id && again.lease_id == m.lease_id,
          "the template filled with the decoded parameters gives the same parameters");
}

void CheckMethodNotAllowed(std::string_view method, std::string_view path, const RouteMatch& m) {
  Require(!m.allow.empty(), "a 405 lists the allowed methods");
  std::size_t pos = 0;
  while (pos <= m.allow.size()) {
    const std::size_t comma = m.allow.find(", ", pos);
    const std::string allowed =
        m.allow.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    Require(allowed != method, "Allow never lists the refused method");
    Require(MatchRoute(allowed, path).kind == RouteMatch::Kind::kMatched,
            "every method in Allow is matched on that path");
    if (comma == std::string::npos) break;
    pos = comma + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  const auto space = text.find(' ');
  const std::string_view method = space == std::string_view::npos ? "GET" : text.substr(0, space);
  const std::string_view path = space == std::string_view::npos ? text : text.substr(space + 1);
  const RouteMatch m = MatchRoute(method, path);
  switch (m.kind) {
    case RouteMatch::Kind::kMatched:
      CheckMatched(method, path, m);
      break;
    case RouteMatch::Kind::kMethodNotAllowed:
      CheckMethodNotAllowed(method, path, m);
      break;
    case RouteMatch::Kind::kNotFound:
      Require(m.route == nullptr && m.path_template == "unmatched",
              "an unmatched path is logged as \"unmatched\"");
      break;
  }
  return 0;
}
