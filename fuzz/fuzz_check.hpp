#ifndef RTGW_FUZZ_FUZZ_CHECK_HPP_
#define RTGW_FUZZ_FUZZ_CHECK_HPP_

// Shared by the fuzz targets (fuzz/<target>.cpp): a property check that fails
// the way libFuzzer and the corpus replay (corpus_replay.cpp) both notice.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace rtgw::fuzz {

// Aborts with `what` on stderr when `holds` is false. libFuzzer saves the
// input as crash-<sha1>; the replay names the corpus file (its SIGABRT handler).
inline void Require(bool holds, std::string_view what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz property violated: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

// The fuzz input as text (the parsers take bytes as std::string_view).
inline std::string_view AsText(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace rtgw::fuzz

#endif  // RTGW_FUZZ_FUZZ_CHECK_HPP_
