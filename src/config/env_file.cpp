#include "config/env_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/read_file.hpp"

namespace rtgw::config {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ValidKey(std::string_view k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  for (char c : k) {
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return Unavailable("cannot sync " + path + ": " + std::strerror(errno));
  return Ok{};
}

}  // namespace

Result<std::map<std::string, std::string>> ParseEnvFile(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line.substr(0, 7) == "export ") line = Trim(line.substr(7));
    const auto eq = line.find('=');
    const std::string where = "line " + std::to_string(line_no);
    if (eq == std::string_view::npos) return InvalidArgument(where + ": expected KEY=VALUE");
    const std::string_view key = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (!ValidKey(key)) return InvalidArgument(where + ": invalid name '" + std::string(key) + "'");
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      if (value.back() != value.front()) return InvalidArgument(where + ": unterminated quote");
      value = value.substr(1, value.size() - 2);
    }
    out[std::string(key)] = std::string(value);
  }
  return out;
}

Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& path) {
  const std::optional<std::string> text = ReadFileText(path);
  if (!text) return NotFound("cannot read " + path);
  auto parsed = ParseEnvFile(*text);
  if (!parsed) return InvalidArgument(path + ": " + parsed.error().message);
  return parsed;
}

Status WritePrivateFile(const std::string& path, const std::string& text, bool overwrite) {
  if (!overwrite) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) {
        return Conflict(path + " exists; pass --force to overwrite it");
      }
      return Unavailable("cannot create " + path + ": " + std::strerror(errno));
    }
    fchmod(fd, 0600);  // whatever the umask
    auto s = WriteAll(fd, text, path);
    close(fd);
    if (!s) unlink(path.c_str());
    return s;
  }
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);
  auto s = WriteAll(fd, text, tmp);
  close(fd);
  if (s && rename(tmp.c_str(), path.c_str()) != 0) {
    s = Unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  if (!s) unlink(tmp.c_str());
  return s;
}

std::optional<long long> ParseDurationSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long mult = 1;
  switch (text.back()) {
    case 's':
      text.remove_suffix(1);
      break;
    case 'm':
      mult = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      mult = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      mult = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  if (text.empty() || text.size() > 12) return std::nullopt;
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v * mult;
}

}  // namespace rtgw::config
