#include "auth/json_segment.hpp"

#include <span>

#include <boost/json/parse.hpp>
#include <boost/json/storage_ptr.hpp>

#include "crypto/crypto.hpp"

namespace rtgw::auth {

// value_ shares resource_, so moving the parse result into it moves the DOM
// instead of copying it to the default heap storage.
JsonSegment::JsonSegment()
    : resource_(arena_.data(), arena_.size()), value_(boost::json::storage_ptr(&resource_)) {}

JsonSegment::~JsonSegment() = default;

const boost::json::object* JsonSegment::DecodeObject(std::string_view b64url) {
  const std::size_t capacity = crypto::Base64UrlDecodedBytes(b64url.size());
  std::span<char> out(text_inline_);
  if (capacity > out.size()) {
    text_heap_.resize(capacity);
    out = std::span<char>(text_heap_);
  }
  const auto size = crypto::Base64UrlDecodeInto(b64url, out);
  if (!size) return nullptr;

  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::json::error_code ec;
  value_ = boost::json::parse(boost::json::string_view(out.data(), *size), ec,
                              boost::json::storage_ptr(&resource_), options);
  if (ec) return nullptr;
  return value_.if_object();
}

}  // namespace rtgw::auth
