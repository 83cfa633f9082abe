#include "common/text.hpp"

#include <cstddef>

namespace rtgw {

bool HasControlChars(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return true;
      ++i;
      continue;
    }
    // Well-formed UTF-8 (RFC 3629): lead byte, continuation count, and the range of the
    // second byte that rules out overlong forms, surrogates and code points past U+10FFFF.
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3, hi = 0x8F;
    } else {
      return true;  // continuation byte without a lead, 0xC0/0xC1 (overlong) or 0xF5-0xFF
    }
    if (i + n >= s.size()) return true;  // truncated sequence
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) return true;
    if (c == 0xC2 && second <= 0x9F) return true;  // U+0080-U+009F: C1 controls
    for (std::size_t k = 2; k <= n; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if (cont < 0x80 || cont > 0xBF) return true;
    }
    i += n + 1;
  }
  return false;
}

}  // namespace rtgw
