#ifndef RTGW_CONFIG_ENV_FILE_HPP_
#define RTGW_CONFIG_ENV_FILE_HPP_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::config {

// Env files (`KEY=VALUE` per line) as written by `rtgw dev secrets` and read
// by `rtgw dev token`, the smoke script and `set -a; . FILE`. Blank lines and
// `#` comments are skipped, an `export ` prefix is allowed, a value may be
// wrapped in single or double quotes (no escapes inside). Pure functions
// apart from the file read/write.

// kInvalidArgument naming the line for anything else.
Result<std::map<std::string, std::string>> ParseEnvFile(std::string_view text);
// kNotFound when the file cannot be read.
Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& path);

// Writes `text` to `path` with mode 0600. Without `overwrite`, an existing
// file is kConflict and left untouched (O_EXCL); with it, the file is
// replaced atomically (0600 temp file + rename).
Status WritePrivateFile(const std::string& path, const std::string& text, bool overwrite);

// "3600", "90s", "30m", "12h", "7d" -> seconds; nullopt when malformed.
std::optional<long long> ParseDurationSeconds(std::string_view text);

}  // namespace rtgw::config

#endif  // RTGW_CONFIG_ENV_FILE_HPP_
