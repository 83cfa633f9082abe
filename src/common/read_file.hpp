#ifndef RTGW_COMMON_READ_FILE_HPP_
#define RTGW_COMMON_READ_FILE_HPP_

#include <optional>
#include <string>

namespace rtgw {

// The whole contents of the file at `path`, read as bytes; nullopt when it cannot be opened.
// Each caller names the setting or file in its own error. For configuration, specs and other
// small files (the whole file is held in memory). Thread-safe.
std::optional<std::string> ReadFileText(const std::string& path);

}  // namespace rtgw

#endif  // RTGW_COMMON_READ_FILE_HPP_
