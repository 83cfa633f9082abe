#ifndef RTGW_COMMON_TEMP_DIR_HPP_
#define RTGW_COMMON_TEMP_DIR_HPP_

#include <filesystem>
#include <string>
#include <string_view>

namespace rtgw {

// A fresh private directory for a test: made with mkdtemp(3) as
// `<$TMPDIR or /tmp>/<prefix>-XXXXXX` (mode 0700, a name no other process
// holds) and removed with everything in it when the object is destroyed.
// The one temp-directory helper of the C++ tests (library rtgw_test_support).
// Not copyable or movable: the directory lives exactly as long as the object.
// Not synchronized; threads may use paths inside it freely.
class TempDir {
 public:
  // Throws std::system_error when the directory cannot be made.
  explicit TempDir(std::string_view prefix = "rtgw-test");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the directory recursively; errors are ignored (a test may have
  // removed it, or made part of it unreadable).
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // `name` (a file or a relative path) inside the directory, as a string.
  // Nothing is created.
  std::string File(std::string_view name) const;

 private:
  std::filesystem::path path_;
};

}  // namespace rtgw

#endif  // RTGW_COMMON_TEMP_DIR_HPP_
