#include "storage/table_io.hpp"

#include <cctype>

namespace rtgw::storage {

std::string CanonicalTime(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.f...]Z with 0-6 fraction digits -> exactly six.
  constexpr std::size_t kSeconds = 19;  // "YYYY-MM-DDTHH:MM:SS"
  if (text.size() < kSeconds + 1 || text.back() != 'Z' || text[10] != 'T') return text;
  std::string fraction;
  if (text[kSeconds] == '.') {
    fraction = text.substr(kSeconds + 1, text.size() - kSeconds - 2);
  } else if (text.size() != kSeconds + 1) {
    return text;
  }
  if (fraction.size() > 6) return text;
  for (char c : fraction) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return text;
  }
  fraction.resize(6, '0');
  return text.substr(0, kSeconds) + "." + fraction + "Z";
}

}  // namespace rtgw::storage
