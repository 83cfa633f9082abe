#include "gates/gate_spec.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "common/read_file.hpp"
#include "gates/output_pattern.hpp"

namespace rtgw::gates {
namespace {

namespace fs = std::filesystem;

Error Bad(const std::string& where, const std::string& what) {
  return InvalidArgument(where + ": " + what);
}

// kInvalidArgument naming the first key of `t` not in `allowed`.
std::optional<Error> CheckKeys(const toml::table& t, const std::set<std::string>& allowed,
                               const std::string& where) {
  for (const auto& [k, v] : t) {
    if (!allowed.count(std::string(k.str()))) {
      return Bad(where, "unknown key '" + std::string(k.str()) + "'");
    }
  }
  return std::nullopt;
}

Result<std::string> GetString(const toml::table& t, const std::string& key,
                              const std::string& where, bool required,
                              const std::string& fallback = {}) {
  const auto* node = t.get(key);
  if (!node) {
    if (required) return Bad(where, "'" + key + "' is required");
    return fallback;
  }
  const auto v = node->value<std::string>();
  if (!v || !node->is_string()) return Bad(where, "'" + key + "' must be a string");
  return *v;
}

Result<long long> GetInt(const toml::table& t, const std::string& key, const std::string& where,
                         long long fallback, long long lo, long long hi) {
  const auto* node = t.get(key);
  if (!node) return fallback;
  if (!node->is_integer()) return Bad(where, "'" + key + "' must be an integer");
  const long long v = node->as_integer()->get();
  if (v < lo || v > hi) {
    return Bad(where, "'" + key + "' must be " + std::to_string(lo) + "-" + std::to_string(hi));
  }
  return v;
}

Result<std::optional<double>> GetNumber(const toml::table& t, const std::string& key,
                                        const std::string& where) {
  const auto* node = t.get(key);
  if (!node) return std::optional<double>();
  if (!node->is_number()) return Bad(where, "'" + key + "' must be a number");
  const double v = node->value<double>().value_or(-1);
  if (v < 0) return Bad(where, "'" + key + "' must not be negative");
  return std::optional<double>(v);
}

Result<std::vector<std::string>> GetStrings(const toml::table& t, const std::string& key,
                                            const std::string& where) {
  std::vector<std::string> out;
  const auto* node = t.get(key);
  if (!node) return out;
  const auto* arr = node->as_array();
  if (!arr) return Bad(where, "'" + key + "' must be an array of strings");
  for (const auto& e : *arr) {
    if (!e.is_string()) return Bad(where, "'" + key + "' must be an array of strings");
    out.push_back(*e.value<std::string>());
  }
  return out;
}

// Array of tables under `key` (absent: empty).
Result<std::vector<const toml::table*>> GetTables(const toml::table& t, const std::string& key,
                                                  const std::string& where) {
  std::vector<const toml::table*> out;
  const auto* node = t.get(key);
  if (!node) return out;
  const auto* arr = node->as_array();
  if (!arr) return Bad(where, "'" + key + "' must be an array of tables ([[" + key + "]])");
  for (const auto& e : *arr) {
    if (!e.is_table()) return Bad(where, "'" + key + "' must be an array of tables");
    out.push_back(e.as_table());
  }
  return out;
}

// [a-z0-9][a-z0-9-]{0,63}
bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

#define RTGW_TRY(var, expr)             \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto var = std::move(var##_r).value()

Result<Step> ParseStep(const toml::table& t, const std::string& where, const Gate& gate,
                       size_t index, size_t count) {
  if (auto e = CheckKeys(
          t, {"name", "command", "expect_exit", "blocked_exit", "expect_output", "timeout_seconds"},
          where)) {
    return *e;
  }
  Step s;
  RTGW_TRY(name, GetString(t, "name", where, false,
                           count == 1 ? gate.id : gate.id + "-step" + std::to_string(index + 1)));
  if (!ValidId(name)) return Bad(where, "'name' must match [a-z0-9][a-z0-9-]*");
  s.name = name;
  RTGW_TRY(command, GetString(t, "command", where, true));
  if (command.empty()) return Bad(where, "'command' must not be empty");
  s.command = command;
  if (const auto* node = t.get("expect_exit")) {
    const auto* arr = node->as_array();
    if (!arr || arr->empty()) return Bad(where, "'expect_exit' must be a non-empty integer array");
    s.expect_exit.clear();
    for (const auto& e : *arr) {
      if (!e.is_integer()) return Bad(where, "'expect_exit' must be a non-empty integer array");
      s.expect_exit.push_back(static_cast<int>(e.as_integer()->get()));
    }
  }
  if (const auto* node = t.get("blocked_exit")) {
    const auto* arr = node->as_array();
    if (!arr) return Bad(where, "'blocked_exit' must be an integer array");
    for (const auto& e : *arr) {
      if (!e.is_integer()) return Bad(where, "'blocked_exit' must be an integer array");
      const int code = static_cast<int>(e.as_integer()->get());
      for (int ok : s.expect_exit) {
        if (ok == code)
          return Bad(where,
                     "exit " + std::to_string(code) + " is in both expect_exit and blocked_exit");
      }
      s.blocked_exit.push_back(code);
    }
  }
  RTGW_TRY(patterns, GetStrings(t, "expect_output", where));
  for (const auto& p : patterns) {
    if (auto why = OutputPatternError(p)) {
      return Bad(where, "'expect_output' pattern '" + p + "' is not a valid regex: " + *why);
    }
  }
  s.expect_output = patterns;
  RTGW_TRY(timeout, GetInt(t, "timeout_seconds", where, 0, 1, 86400));
  s.timeout_seconds = static_cast<int>(timeout);
  return s;
}

Result<Gate> ParseGate(const toml::table& t, const std::string& where) {
  if (auto e = CheckKeys(t,
                         {"id", "title", "repeat", "min_successes", "timeout_seconds", "requires",
                          "precondition", "on_missing", "evidence", "p95_max_regression_pct",
                          "known_good_median_seconds", "unblock", "step"},
                         where)) {
    return *e;
  }
  Gate g;
  RTGW_TRY(id, GetString(t, "id", where, true));
  if (!ValidId(id)) return Bad(where, "'id' must match [a-z0-9][a-z0-9-]* (<= 64)");
  g.id = id;
  const std::string at = "gate '" + id + "'";
  RTGW_TRY(title, GetString(t, "title", at, false, id));
  g.title = title;
  RTGW_TRY(repeat, GetInt(t, "repeat", at, 1, 1, 1000));
  g.repeat = static_cast<int>(repeat);
  RTGW_TRY(min_ok, GetInt(t, "min_successes", at, 0, 0, 1000));
  if (min_ok > repeat) return Bad(at, "'min_successes' is larger than 'repeat'");
  g.min_successes = static_cast<int>(min_ok);
  RTGW_TRY(timeout, GetInt(t, "timeout_seconds", at, 600, 1, 86400));
  g.timeout_seconds = static_cast<int>(timeout);
  RTGW_TRY(tools, GetStrings(t, "requires", at));
  g.requires_tools = tools;
  RTGW_TRY(pre, GetTables(t, "precondition", at));
  for (const auto* p : pre) {
    if (auto e = CheckKeys(*p, {"command", "reason"}, at + " precondition")) return *e;
    RTGW_TRY(cmd, GetString(*p, "command", at + " precondition", true));
    RTGW_TRY(reason,
             GetString(*p, "reason", at + " precondition", false, "precondition failed: " + cmd));
    g.preconditions.push_back({cmd, reason});
  }
  RTGW_TRY(on_missing, GetString(t, "on_missing", at, false, "blocked"));
  if (on_missing == "blocked") {
    g.on_missing = OnMissing::kBlocked;
  } else if (on_missing == "hold") {
    g.on_missing = OnMissing::kHold;
  } else {
    return Bad(at, "'on_missing' must be \"blocked\" or \"hold\"");
  }
  RTGW_TRY(evidence, GetStrings(t, "evidence", at));
  for (const auto& e : evidence) {
    if (e.empty() || e[0] == '/' || e.find("..") != std::string::npos) {
      return Bad(at, "'evidence' entries are paths inside the run directory: '" + e + "'");
    }
  }
  g.evidence = evidence;
  RTGW_TRY(pct, GetNumber(t, "p95_max_regression_pct", at));
  g.p95_max_regression_pct = pct;
  RTGW_TRY(median, GetNumber(t, "known_good_median_seconds", at));
  g.known_good_median_seconds = median;
  RTGW_TRY(unblock, GetString(t, "unblock", at, false));
  g.unblock = unblock;
  RTGW_TRY(steps, GetTables(t, "step", at));
  if (steps.empty()) return Bad(at, "needs at least one [[gate.step]]");
  std::set<std::string> names;
  for (size_t i = 0; i < steps.size(); ++i) {
    RTGW_TRY(step, ParseStep(*steps[i], at + " step " + std::to_string(i + 1), g, i, steps.size()));
    if (!names.insert(step.name).second) return Bad(at, "duplicate step name '" + step.name + "'");
    g.steps.push_back(std::move(step));
  }
  return g;
}

}  // namespace

Result<GateSpec> ParseGateSpec(const std::string& toml_text, const std::string& spec_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "TOML line " << e.source().begin.line << ": " << e.description();
    return InvalidArgument(msg.str());
  }
  const std::string where = "spec";
  if (auto e = CheckKeys(root,
                         {"name", "description", "operator", "reviewer", "workdir", "env", "risk",
                          "on_hold", "gate"},
                         where)) {
    return *e;
  }
  GateSpec s;
  RTGW_TRY(name, GetString(root, "name", where, true));
  s.name = name;
  RTGW_TRY(description, GetString(root, "description", where, false));
  s.description = description;
  RTGW_TRY(op, GetString(root, "operator", where, false));
  s.operator_name = op;
  RTGW_TRY(reviewer, GetString(root, "reviewer", where, false));
  s.reviewer = reviewer;
  RTGW_TRY(workdir, GetString(root, "workdir", where, false, "."));
  fs::path wd(workdir);
  if (wd.is_relative()) wd = fs::path(spec_dir.empty() ? "." : spec_dir) / wd;
  std::error_code ec;
  const fs::path abs = fs::weakly_canonical(fs::absolute(wd), ec);
  s.workdir = (ec ? fs::absolute(wd) : abs).string();
  if (const auto* env = root.get("env")) {
    const auto* t = env->as_table();
    if (!t) return Bad(where, "'env' must be a table");
    for (const auto& [k, v] : *t) {
      if (!v.is_string()) return Bad("env", "'" + std::string(k.str()) + "' must be a string");
      s.env[std::string(k.str())] = *v.value<std::string>();
    }
  }
  RTGW_TRY(risks, GetTables(root, "risk", where));
  for (const auto* r : risks) {
    if (auto e = CheckKeys(*r, {"risk", "mitigation"}, "risk")) return *e;
    RTGW_TRY(risk, GetString(*r, "risk", "risk", true));
    RTGW_TRY(mitigation, GetString(*r, "mitigation", "risk", true));
    s.risks.push_back({risk, mitigation});
  }
  RTGW_TRY(on_hold, GetStrings(root, "on_hold", where));
  s.on_hold = on_hold;
  RTGW_TRY(gates, GetTables(root, "gate", where));
  if (gates.empty()) return Bad(where, "needs at least one [[gate]]");
  if (gates.size() > 99) return Bad(where, "at most 99 gates");
  std::set<std::string> ids;
  for (size_t i = 0; i < gates.size(); ++i) {
    RTGW_TRY(gate, ParseGate(*gates[i], "gate " + std::to_string(i + 1)));
    if (!ids.insert(gate.id).second) return Bad(where, "duplicate gate id '" + gate.id + "'");
    s.gates.push_back(std::move(gate));
  }
  return s;
}

Result<GateSpec> LoadGateSpec(const std::string& path) {
  const std::optional<std::string> text = ReadFileText(path);
  if (!text) return NotFound("cannot read gate spec " + path);
  auto spec = ParseGateSpec(*text, fs::path(path).parent_path().string());
  if (!spec) return InvalidArgument(path + ": " + spec.error().message);
  return spec;
}

}  // namespace rtgw::gates
