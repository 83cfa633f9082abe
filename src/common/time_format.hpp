#ifndef RTGW_COMMON_TIME_FORMAT_HPP_
#define RTGW_COMMON_TIME_FORMAT_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rtgw {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 UTC with microseconds: "2026-02-18T00:00:00.123456Z".
std::string FormatRfc3339(SystemTime t);

// Parses RFC 3339 date-time ("2026-02-18T00:00:00Z", fractional seconds and
// "+hh:mm" offsets allowed). nullopt when malformed or out of range.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

}  // namespace rtgw

#endif  // RTGW_COMMON_TIME_FORMAT_HPP_
