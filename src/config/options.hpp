#ifndef RTGW_CONFIG_OPTIONS_HPP_
#define RTGW_CONFIG_OPTIONS_HPP_

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"

namespace rtgw::config {

// One command-line option. Every option with an `env` name can also be given
// as that environment variable; a flag on the command line wins over the env.
struct OptionSpec {
  std::string flag;           // "listen" -> --listen VALUE / --listen=VALUE
  std::string env;            // "RTGW_LISTEN"; empty: flag only
  std::string default_value;  // shown in --help; empty: none
  std::string help;
  bool is_switch = false;  // --dev (no value); env value "1"/"true" enables it
  bool secret = false;     // never echoed back in errors or logs
};

// Parsed values by flag name (only options that were given or have defaults).
class OptionValues {
 public:
  std::optional<std::string> Get(std::string_view flag) const;
  std::string GetOr(std::string_view flag, std::string fallback) const;
  bool Switch(std::string_view flag) const;
  // Where the value came from, for error messages: "--listen" or "RTGW_LISTEN".
  std::string Source(std::string_view flag) const;

  std::map<std::string, std::string, std::less<>> values;
  std::map<std::string, std::string, std::less<>> sources;
  std::vector<std::string> positional;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads the process environment.
std::optional<std::string> ProcessEnv(const std::string& name);
// Reads nothing: for commands that take flags only.
std::optional<std::string> NoEnv(const std::string& name);

// Parses argv (without the program/subcommand words) against `specs`.
// kInvalidArgument naming the offending flag for unknown flags or a missing value.
Result<OptionValues> ParseOptions(const std::vector<std::string>& args,
                                  const std::vector<OptionSpec>& specs, const EnvLookup& env,
                                  bool allow_positional = false);

// Help text: usage line, description, then one entry per option with its env
// name and default.
std::string FormatHelp(std::string_view usage, std::string_view description,
                       const std::vector<OptionSpec>& specs);

// The start of a subcommand's main. When `args` holds --help or -h, prints
// FormatHelp(usage, description, specs) on stdout and returns true (the command exits 0).
bool PrintHelpIfAsked(const std::vector<std::string>& args, std::string_view usage,
                      std::string_view description, const std::vector<OptionSpec>& specs);

// ParseOptions; on an error prints "<command>: <message>" on stderr (command: "rtgw migrate")
// and returns nullopt (the command exits 2).
std::optional<OptionValues> ParseOptionsOrReport(std::string_view command,
                                                 const std::vector<std::string>& args,
                                                 const std::vector<OptionSpec>& specs,
                                                 const EnvLookup& env = ProcessEnv,
                                                 bool allow_positional = false);

// The integer value of `flag` (given or default) within [min, max], else
// kInvalidArgument naming the flag or env variable, the range and the value.
Result<long long> ParseIntOption(const OptionValues& values, std::string_view flag, long long min,
                                 long long max);

// One row of ParseIntOptions: an integer option, its range and where its value goes (a
// std::chrono duration takes the value in its own unit: "-ms" flags go to milliseconds).
struct IntOption {
  std::string_view flag;
  long long min;
  long long max;
  std::variant<int*, std::size_t*, std::chrono::milliseconds*, std::chrono::seconds*,
               std::chrono::hours*>
      out;
};

// ParseIntOption for each row in order, storing each value; the first error otherwise (the
// rows after it are not read).
Status ParseIntOptions(const OptionValues& values, std::initializer_list<IntOption> rows);

// --log-format (json or text) and --log-level (debug, info, warn or error), given or default
// ("json", "info"), into `*format` and `*level`; kInvalidArgument naming the flag or env
// variable otherwise.
Status ParseLogOptions(const OptionValues& values, LogFormat* format, LogLevel* level);

}  // namespace rtgw::config

#endif  // RTGW_CONFIG_OPTIONS_HPP_
