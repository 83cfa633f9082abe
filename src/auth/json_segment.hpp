#ifndef RTGW_AUTH_JSON_SEGMENT_HPP_
#define RTGW_AUTH_JSON_SEGMENT_HPP_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

// Internal to auth/ (Boost.JSON is a private dependency of rtgw_auth).
namespace rtgw::auth {

// Decodes one base64url segment of a compact JWS (the protected header or the
// JWT claims set) and parses it as a JSON object, keeping the decoded bytes
// and the DOM on the stack when they are small: Verify runs on the HTTP I/O
// thread for every request, so the common token costs no heap allocation here.
//
// One object per segment; not copyable. The returned object lives as long as
// *this. Not thread-safe (it is a stack-local scratch area).
class JsonSegment {
 public:
  // Larger segments spill to the heap; both sizes cover common IdP tokens.
  static constexpr std::size_t kInlineTextBytes = 1024;
  static constexpr std::size_t kInlineArenaBytes = 4096;
  // Nesting limit for the parser; claims sets are shallow.
  static constexpr std::size_t kMaxDepth = 16;

  JsonSegment();
  JsonSegment(const JsonSegment&) = delete;
  JsonSegment& operator=(const JsonSegment&) = delete;
  ~JsonSegment();

  // The object, or nullptr when `b64url` is not strict base64url, not UTF-8
  // JSON, or not a JSON object. Duplicate member names: the last one wins
  // (RFC 7515 section 5.2 and RFC 7519 section 4 allow this).
  const boost::json::object* DecodeObject(std::string_view b64url);

 private:
  std::array<char, kInlineTextBytes> text_inline_;
  std::string text_heap_;
  alignas(std::max_align_t) std::array<unsigned char, kInlineArenaBytes> arena_;
  boost::json::monotonic_resource resource_;
  boost::json::value value_;  // declared after resource_: destroyed first
};

}  // namespace rtgw::auth

#endif  // RTGW_AUTH_JSON_SEGMENT_HPP_
