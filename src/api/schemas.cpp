#include "api/schemas.hpp"

namespace rtgw::api::schema {
namespace {

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool Matches(const StringField& field, std::string_view s) {
  if (s.empty() || static_cast<std::int64_t>(s.size()) > field.max_chars) return false;
  if (field.charset.empty()) return true;
  for (char c : s) {
    if (!IsAsciiAlnum(c) && field.charset.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string CharsetText(const StringField& field) {
  std::string out = "A-Z a-z 0-9";
  for (char c : field.charset) {
    out += ' ';
    out += c;
  }
  return out;
}

std::string Pattern(const StringField& field) {
  // In a bracket expression '-' is literal only last.
  std::string chars;
  bool dash = false;
  for (char c : field.charset) {
    if (c == '-') {
      dash = true;
    } else {
      chars += c;
    }
  }
  if (dash) chars += '-';
  return "^[A-Za-z0-9" + chars + "]{1," + std::to_string(field.max_chars) + "}$";
}

}  // namespace rtgw::api::schema
