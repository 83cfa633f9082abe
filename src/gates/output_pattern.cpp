#include "gates/output_pattern.hpp"

#include <regex>

namespace rtgw::gates {
namespace {

constexpr auto kFlags = std::regex::ECMAScript | std::regex::multiline;

}  // namespace

std::optional<std::string> OutputPatternError(const std::string& pattern) {
  try {
    std::regex re(pattern, kFlags);
  } catch (const std::regex_error& err) {
    return std::string(err.what());
  }
  return std::nullopt;
}

bool OutputPatternFound(const std::string& pattern, std::string_view out, std::string_view err) {
  const std::regex re(pattern, kFlags);
  return std::regex_search(out.begin(), out.end(), re) ||
         std::regex_search(err.begin(), err.end(), re);
}

}  // namespace rtgw::gates
