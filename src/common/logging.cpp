#include "common/logging.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

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
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr gone: logging must never take the process down
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// The buffer of LogBuffering. `write_mu` is held while writing to stderr so
// that a swapped-out batch and a later direct line keep their order.
constexpr std::size_t kWakeBytes = 64 * 1024;          // wake the writer early
constexpr std::size_t kInlineBytes = 4 * 1024 * 1024;  // stderr stuck: write inline
struct Buffer {
  std::mutex mu;
  std::condition_variable cv;
  std::string pending;    // GUARDED_BY(mu)
  bool active = false;    // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu)
  std::mutex write_mu;
  std::thread thread;
};
Buffer& Buf() {
  static Buffer* b = new Buffer;  // never destroyed: usable from atexit and late threads
  return *b;
}

// Swaps the pending lines out and writes them (plus `tail`), in order.
void FlushWith(const std::string* tail) {
  Buffer& b = Buf();
  std::lock_guard write_lock(b.write_mu);
  std::string out;
  {
    std::lock_guard lock(b.mu);
    out.swap(b.pending);
  }
  if (!out.empty()) WriteAll(out);
  if (tail != nullptr) WriteAll(*tail);
}

void Emit(LogLevel level, const std::string& line) {
  Buffer& b = Buf();
  if (level < LogLevel::kWarn) {
    std::unique_lock lock(b.mu);
    if (b.active && b.pending.size() < kInlineBytes) {
      // Wake the writer when its batch starts (it then waits `interval`) and
      // when the batch is big enough to go out early.
      const bool wake = b.pending.empty() || (b.pending.size() < kWakeBytes &&
                                              b.pending.size() + line.size() >= kWakeBytes);
      b.pending += line;
      lock.unlock();
      if (wake) b.cv.notify_one();
      return;
    }
  }
  FlushWith(&line);
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Runs of characters that need no escaping (nearly all of a log line) are
  // appended in one go. C1 controls (U+0080-U+009F, UTF-8 0xC2 0x80-0x9F) are escaped like C0
  // ones: a terminal showing a log or a response acts on a raw U+009B CSI like on ESC [.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F &&
        static_cast<unsigned char>(s[i + 1]) >= 0x80) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      out.append(s.data() + run, i - run);
      out += "\\u00";
      out.push_back(kHex[c1 >> 4]);
      out.push_back(kHex[c1 & 0xF]);
      run = i + 2;
      ++i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
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
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
}

namespace {

// A field's value in either format: numbers as they are, strings quoted and escaped in JSON.
void AppendFieldValue(std::string& line, const LogField& f, bool json) {
  if (f.is_num) {
    line += std::to_string(f.num);
  } else if (f.is_dbl) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", f.dbl);
    line += buf;
  } else if (json) {
    line += '"';
    AppendJsonEscaped(line, f.str);
    line += '"';
  } else {
    line += f.str;
  }
}

}  // namespace

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
      AppendFieldValue(line, f, true);
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
      AppendFieldValue(line, f, false);
    }
    line += '\n';
  }
  Emit(level, line);
}

void Logger::Flush() { FlushWith(nullptr); }

LogBuffering::LogBuffering(std::chrono::milliseconds interval) {
  Buffer& b = Buf();
  {
    std::lock_guard lock(b.mu);
    b.active = true;
    b.stopping = false;
  }
  b.thread = std::thread([interval, &b] {
    std::unique_lock lock(b.mu);
    while (!b.stopping) {
      if (b.pending.empty()) {
        b.cv.wait(lock, [&b] { return b.stopping || !b.pending.empty(); });
        continue;
      }
      // A batch has started: give it `interval` to collect more lines.
      b.cv.wait_for(lock, interval, [&b] { return b.stopping || b.pending.size() >= kWakeBytes; });
      lock.unlock();
      FlushWith(nullptr);
      lock.lock();
    }
  });
}

LogBuffering::~LogBuffering() {
  Buffer& b = Buf();
  {
    std::lock_guard lock(b.mu);
    b.active = false;
    b.stopping = true;
  }
  b.cv.notify_one();
  if (b.thread.joinable()) b.thread.join();
  FlushWith(nullptr);
}

}  // namespace rtgw
