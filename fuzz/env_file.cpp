// libFuzzer target: env files (config/env_file.hpp ParseEnvFile, read by
// `rtgw dev token`, the smoke scripts and `set -a; . FILE`) and the duration
// values they carry (ParseDurationSeconds). Corpus: corpus/env_file/.
// Properties: every parsed name is a shell name; writing the parsed map back
// as KEY='VALUE' lines parses to the same map; a duration is not negative.
#include "config/env_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

bool ShellName(const std::string& key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  if (auto env = rtgw::config::ParseEnvFile(text); env.ok()) {
    std::string written;
    for (const auto& [key, value] : *env) {
      Require(ShellName(key), "a parsed name is a shell variable name");
      Require(value.find('\n') == std::string::npos, "a parsed value is one line");
      written += key + "='" + value + "'\n";
    }
    auto again = rtgw::config::ParseEnvFile(written);
    Require(again.ok() && *again == *env, "a parsed env file written back parses the same");
  }
  if (auto seconds = rtgw::config::ParseDurationSeconds(text)) {
    Require(*seconds >= 0, "a duration is not negative");
  }
  return 0;
}
