#ifndef RTGW_COMMON_TEXT_HPP_
#define RTGW_COMMON_TEXT_HPP_

#include <string_view>

namespace rtgw {

// True when `utf8` holds a character no identifier or free-text field may carry, because it
// reaches logs, terminals, Slurm arguments or file names: a C0 control (U+0000-U+001F), DEL
// (U+007F), a C1 control (U+0080-U+009F, e.g. U+009B CSI, which terminals act on like ESC [),
// or bytes that are not well-formed UTF-8 (a lone 0x9B byte is the 8-bit form of CSI).
// The one check every request parser, claim reader and file parser uses. Pure; thread-safe.
bool HasControlChars(std::string_view utf8);

}  // namespace rtgw

#endif  // RTGW_COMMON_TEXT_HPP_
