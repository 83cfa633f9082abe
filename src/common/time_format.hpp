#ifndef RTGW_COMMON_TIME_FORMAT_HPP_
#define RTGW_COMMON_TIME_FORMAT_HPP_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rtgw {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 UTC with microseconds: "2026-02-18T00:00:00.123456Z".
std::string FormatRfc3339(SystemTime t);

// The instants rtgw accepts, stores and returns: those a SystemTime (a signed 64-bit count of
// nanoseconds since 1970) holds, at microsecond precision. Quoted in error messages.
inline constexpr std::string_view kRfc3339Range = "1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z";

// Parses RFC 3339 date-time ("2026-02-18T00:00:00Z", fractional seconds and
// "+hh:mm" offsets allowed). nullopt when malformed or out of range: before
// 1970-01-01T00:00:00Z or after 2262-04-11T23:47:16.854775Z once the offset is applied
// (never wrapped around), or a leap second (":60", which no SystemTime can return as sent).
// Digits past the sixth of the fraction are dropped (microsecond precision); everything
// accepted formats back with FormatRfc3339 as the same instant in UTC.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

// The wall-clock time now as a count of `Unit` since the Unix epoch: seconds for JWT iat and
// webhook timestamps, milliseconds for the agent journal, microseconds for stored instants.
template <class Unit>
std::int64_t UnixNow() {
  return std::chrono::duration_cast<Unit>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rtgw

#endif  // RTGW_COMMON_TIME_FORMAT_HPP_
