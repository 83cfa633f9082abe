#include "common/logging.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "common/time_format.hpp"

namespace rtgw {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kJson};
std::atomic<LogLevel> g_min_level{LogLevel::kInfo};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void WriteAll(const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr gone: logging must never take the process down
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
}

void Logger::Configure(LogFormat format, LogLevel min_level) {
  g_format.store(format);
  g_min_level.store(min_level);
}

bool Logger::Enabled(LogLevel level) { return level >= g_min_level.load(); }

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(256);
  const std::string ts = FormatRfc3339(std::chrono::system_clock::now());
  if (g_format.load() == LogFormat::kJson) {
    line += "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":\"";
    AppendJsonEscaped(line, message);
    line += '"';
    for (const LogField& f : fields) {
      line += ",\"";
      AppendJsonEscaped(line, f.key);
      line += "\":";
      if (f.is_num) {
        line += std::to_string(f.num);
      } else if (f.is_dbl) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", f.dbl);
        line += buf;
      } else {
        line += '"';
        AppendJsonEscaped(line, f.str);
        line += '"';
      }
    }
    line += "}\n";
  } else {
    line += ts;
    line += ' ';
    line += LevelName(level);
    line += ' ';
    line += message;
    for (const LogField& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      if (f.is_num) {
        line += std::to_string(f.num);
      } else if (f.is_dbl) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", f.dbl);
        line += buf;
      } else {
        line += f.str;
      }
    }
    line += '\n';
  }
  WriteAll(line);
}

}  // namespace rtgw
