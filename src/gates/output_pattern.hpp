#ifndef RTGW_GATES_OUTPUT_PATTERN_HPP_
#define RTGW_GATES_OUTPUT_PATTERN_HPP_

// A gate step's `expect_output` pattern (docs/contracts/gate-spec.md): an ECMAScript regular
// expression, multiline, found anywhere in the step's stdout or stderr. output_pattern.cpp is
// the only translation unit that includes <regex> (its templates cost seconds of compile time
// in every file that includes it). Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace rtgw::gates {

// nullopt when `pattern` compiles; otherwise why it does not (std::regex_error's text).
std::optional<std::string> OutputPatternError(const std::string& pattern);

// Whether `pattern` (which must compile) matches somewhere in `out` or in `err`.
bool OutputPatternFound(const std::string& pattern, std::string_view out, std::string_view err);

}  // namespace rtgw::gates

#endif  // RTGW_GATES_OUTPUT_PATTERN_HPP_
