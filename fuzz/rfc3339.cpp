// libFuzzer target: the RFC 3339 parser and formatter (common/time_format.hpp),
// which every user-supplied instant passes (occurred_at, rollback expiry,
// relay, table I/O, store copy). Corpus: corpus/rfc3339/.
// Properties, each against an independent calculation here:
//  - an accepted text is the instant its fields say (civil date to days by
//    Howard Hinnant's days_from_civil, minus the offset, fraction truncated to
//    microseconds), and FormatRfc3339 of it parses back to the same instant;
//  - the first 8 bytes read as microseconds since 1970 (folded into the range
//    a SystemTime holds) format to a text that parses back to exactly them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "common/time_format.hpp"
#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

std::int64_t Number(std::string_view s, std::size_t pos, std::size_t n) {
  std::int64_t v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant, "chrono-Compatible Low-Level
// Date Algorithms").
std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Microseconds since 1970 that an accepted `text` names. Only called on text the parser
// accepted, so the fixed layout "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" holds.
std::int64_t ExpectedMicros(std::string_view text) {
  std::int64_t seconds =
      DaysFromCivil(Number(text, 0, 4), Number(text, 5, 2), Number(text, 8, 2)) * 86400 +
      Number(text, 11, 2) * 3600 + Number(text, 14, 2) * 60 + Number(text, 17, 2);
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (text[pos] == '.') {
    ++pos;
    std::int64_t scale = 100000;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      micros += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (text[pos] == '+' || text[pos] == '-') {
    const std::int64_t offset = Number(text, pos + 1, 2) * 3600 + Number(text, pos + 4, 2) * 60;
    seconds -= text[pos] == '+' ? offset : -offset;
  }
  return seconds * 1'000'000 + micros;
}

std::int64_t MicrosOf(rtgw::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  if (auto parsed = rtgw::ParseRfc3339(text)) {
    Require(MicrosOf(*parsed) == ExpectedMicros(text),
            "a parsed RFC 3339 text is the instant its fields name");
    const std::string formatted = rtgw::FormatRfc3339(*parsed);
    const auto reparsed = rtgw::ParseRfc3339(formatted);
    Require(reparsed.has_value(), "FormatRfc3339 of a parsed instant parses again");
    Require(*reparsed == *parsed, "FormatRfc3339 of a parsed instant is the same instant");
  }
  if (size >= 8) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, data, sizeof bits);
    // The largest whole microsecond a SystemTime (int64 nanoseconds) holds.
    constexpr std::uint64_t kMaxMicros = INT64_MAX / 1000;
    const auto micros = static_cast<std::int64_t>(bits % (kMaxMicros + 1));
    const rtgw::SystemTime t{std::chrono::microseconds(micros)};
    const auto reparsed = rtgw::ParseRfc3339(rtgw::FormatRfc3339(t));
    Require(reparsed.has_value() && *reparsed == t,
            "every instant from 1970 to the end of SystemTime formats and parses back exactly");
  }
  return 0;
}
