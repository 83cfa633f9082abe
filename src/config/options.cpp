#include "config/options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace rtgw::config {

std::optional<std::string> OptionValues::Get(std::string_view flag) const {
  auto it = values.find(flag);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::string OptionValues::GetOr(std::string_view flag, std::string fallback) const {
  auto v = Get(flag);
  return v ? *v : std::move(fallback);
}

bool OptionValues::Switch(std::string_view flag) const {
  auto v = Get(flag);
  return v && (*v == "1" || *v == "true" || *v == "yes" || *v == "on");
}

std::string OptionValues::Source(std::string_view flag) const {
  auto it = sources.find(flag);
  return it == sources.end() ? "--" + std::string(flag) : it->second;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> NoEnv(const std::string&) { return std::nullopt; }

Result<OptionValues> ParseOptions(const std::vector<std::string>& args,
                                  const std::vector<OptionSpec>& specs, const EnvLookup& env,
                                  bool allow_positional) {
  OptionValues out;
  for (const OptionSpec& s : specs) {
    if (!s.default_value.empty()) {
      out.values[s.flag] = s.default_value;
      out.sources[s.flag] = "default of --" + s.flag;
    }
    if (!s.env.empty()) {
      if (auto v = env(s.env)) {
        out.values[s.flag] = *v;
        out.sources[s.flag] = s.env;
      }
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      if (!allow_positional) return InvalidArgument("unexpected argument '" + a + "'");
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : specs) {
      if (s.flag == name) spec = &s;
    }
    if (spec == nullptr) {
      return InvalidArgument("unknown option '--" + name + "' (see --help)");
    }
    if (spec->is_switch) {
      out.values[name] = inline_value.value_or("true");
    } else if (inline_value) {
      out.values[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      out.values[name] = args[++i];
    } else {
      return InvalidArgument("option '--" + name + "' needs a value");
    }
    out.sources[name] = "--" + name;
  }
  return out;
}

std::string FormatHelp(std::string_view usage, std::string_view description,
                       const std::vector<OptionSpec>& specs) {
  std::string out = "usage: " + std::string(usage) + "\n\n" + std::string(description) + "\n";
  if (!specs.empty()) out += "\noptions:\n";
  for (const OptionSpec& s : specs) {
    std::string head = "  --" + s.flag + (s.is_switch ? "" : " VALUE");
    out += head + "\n      " + s.help + "\n";
    std::string meta;
    if (!s.env.empty()) meta += "env " + s.env;
    if (!s.default_value.empty()) {
      meta += (meta.empty() ? "" : "; ") + std::string("default ") + s.default_value;
    }
    if (!meta.empty()) out += "      (" + meta + ")\n";
  }
  out += "  --help\n      Print this help and exit.\n";
  return out;
}

bool PrintHelpIfAsked(const std::vector<std::string>& args, std::string_view usage,
                      std::string_view description, const std::vector<OptionSpec>& specs) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(FormatHelp(usage, description, specs).c_str(), stdout);
      return true;
    }
  }
  return false;
}

std::optional<OptionValues> ParseOptionsOrReport(std::string_view command,
                                                 const std::vector<std::string>& args,
                                                 const std::vector<OptionSpec>& specs,
                                                 const EnvLookup& env, bool allow_positional) {
  auto v = ParseOptions(args, specs, env, allow_positional);
  if (!v) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 v.error().message.c_str());
    return std::nullopt;
  }
  return std::move(v).value();
}

Result<long long> ParseIntOption(const OptionValues& v, std::string_view flag, long long min,
                                 long long max) {
  const std::string text = v.GetOr(flag, "");
  long long out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || out < min ||
      out > max) {
    return InvalidArgument(v.Source(flag) + ": expected an integer from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return out;
}

Status ParseIntOptions(const OptionValues& v, std::initializer_list<IntOption> rows) {
  for (const IntOption& row : rows) {
    Result<long long> n = ParseIntOption(v, row.flag, row.min, row.max);
    if (!n) return n.error();
    std::visit([&](auto* out) { *out = static_cast<std::remove_reference_t<decltype(*out)>>(*n); },
               row.out);
  }
  return Ok{};
}

Status ParseLogOptions(const OptionValues& v, LogFormat* format, LogLevel* level) {
  const std::string f = v.GetOr("log-format", "json");
  if (f == "json") {
    *format = LogFormat::kJson;
  } else if (f == "text") {
    *format = LogFormat::kText;
  } else {
    return InvalidArgument(v.Source("log-format") + ": expected json or text, got '" + f + "'");
  }
  const std::string l = v.GetOr("log-level", "info");
  if (l == "debug") {
    *level = LogLevel::kDebug;
  } else if (l == "info") {
    *level = LogLevel::kInfo;
  } else if (l == "warn") {
    *level = LogLevel::kWarn;
  } else if (l == "error") {
    *level = LogLevel::kError;
  } else {
    return InvalidArgument(v.Source("log-level") + ": expected debug, info, warn or error");
  }
  return Ok{};
}

}  // namespace rtgw::config
