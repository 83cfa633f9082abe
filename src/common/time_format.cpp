#include "common/time_format.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace rtgw {
namespace {

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::string FormatRfc3339(SystemTime t) {
  // Civil-from-days arithmetic and hand-written digits: this runs several
  // times per request (accepted_at, received_at, log lines), and snprintf with
  // gmtime_r cost ~4k instructions a call.
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch());
  const auto day = floor<days>(us);
  const year_month_day ymd{sys_days{day}};
  const auto in_day = us - duration_cast<microseconds>(day);
  const long long secs_of_day = in_day.count() / 1'000'000;
  const long long frac = in_day.count() % 1'000'000;
  std::string out(27, '\0');
  auto put = [&out](std::size_t pos, long long v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[pos + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, static_cast<int>(ymd.year()), 4);
  out[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  out[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  out[10] = 'T';
  put(11, secs_of_day / 3600, 2);
  out[13] = ':';
  put(14, secs_of_day / 60 % 60, 2);
  out[16] = ':';
  put(17, secs_of_day % 60, 2);
  out[19] = '.';
  put(20, frac, 6);
  out[26] = 'Z';
  return out;
}

std::optional<SystemTime> ParseRfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !Digits(s, 0, 4, year) || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  long micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    long scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {
        micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  long offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_seconds = (oh * 3600L + om * 60L) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  using namespace std::chrono;
  const std::int64_t days =
      sys_days(std::chrono::year(year) / std::chrono::month(static_cast<unsigned>(month)) /
               std::chrono::day(static_cast<unsigned>(day)))
          .time_since_epoch()
          .count();
  const std::int64_t secs = days * 86'400 + hour * 3'600 + minute * 60 + second - offset_seconds;
  // Years are at most 9999, so nothing above overflows; the range check is on the result.
  constexpr std::int64_t kMaxMicros =
      duration_cast<microseconds>(SystemTime::duration::max()).count();
  if (secs < 0 || secs > kMaxMicros / 1'000'000 ||
      (secs == kMaxMicros / 1'000'000 && micros > kMaxMicros % 1'000'000)) {
    return std::nullopt;
  }
  return SystemTime(duration_cast<SystemTime::duration>(microseconds(secs * 1'000'000 + micros)));
}

}  // namespace rtgw
