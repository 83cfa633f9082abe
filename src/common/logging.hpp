#ifndef RTGW_COMMON_LOGGING_HPP_
#define RTGW_COMMON_LOGGING_HPP_

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace rtgw {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kJson, kText };

// One log field. Values are strings or integers; both are written as JSON
// strings/numbers respectively in the json format.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), str(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), str(v) {}
  LogField(std::string_view k, const char* v) : key(k), str(v) {}
  LogField(std::string_view k, long long v) : key(k), num(v), is_num(true) {}
  LogField(std::string_view k, int v) : key(k), num(v), is_num(true) {}
  LogField(std::string_view k, unsigned long v)
      : key(k), num(static_cast<long long>(v)), is_num(true) {}
  LogField(std::string_view k, double v) : key(k), dbl(v), is_dbl(true) {}
  std::string_view key;
  std::string_view str;
  long long num = 0;
  double dbl = 0;
  bool is_num = false;
  bool is_dbl = false;
};

// Process-wide structured logger writing one line per record to stderr; whole
// lines only, so lines from different threads never interleave.
// Safe for concurrent use. Configure once at start-up, before threads start.
//
// By default every record is one write(2) from the logging thread. While a
// LogBuffering is alive (rtgw serve), info/debug records are appended to an
// in-memory buffer that a background thread writes out every `interval` (or
// sooner once 64 KiB are pending): one write(2) per many lines instead of one
// per request on the threads that answer requests. warn/error records are
// written at once, after everything buffered before them (order is kept).
// The price: a kill -9 can lose the info lines of the last `interval`.
class Logger {
 public:
  static void Configure(LogFormat format, LogLevel min_level);
  static bool Enabled(LogLevel level);
  static void Log(LogLevel level, std::string_view message,
                  std::initializer_list<LogField> fields = {});
  // Writes out whatever is buffered (no-op when nothing is).
  static void Flush();
};

// Buffers info/debug log lines for its lifetime (see Logger). One at a time;
// the destructor flushes and stops the background writer. Not copyable.
class LogBuffering {
 public:
  explicit LogBuffering(std::chrono::milliseconds interval);
  ~LogBuffering();
  LogBuffering(const LogBuffering&) = delete;
  LogBuffering& operator=(const LogBuffering&) = delete;
};

inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) {
  Logger::Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) {
  Logger::Log(LogLevel::kWarn, m, f);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) {
  Logger::Log(LogLevel::kError, m, f);
}

// Appends `s` to `out` escaped as the inside of a JSON string (no quotes).
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace rtgw

#endif  // RTGW_COMMON_LOGGING_HPP_
