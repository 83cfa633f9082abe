#ifndef RTGW_GATES_GATE_SPEC_HPP_
#define RTGW_GATES_GATE_SPEC_HPP_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::gates {

// A promotion gate spec (TOML, docs/contracts/gate-spec.md): the gates of a
// promotion checklist (seed 003), each a list of shell steps run N times with
// pass thresholds and required evidence. Plain values; ParseGateSpec is pure
// apart from reading the file.

struct Step {
  std::string name;     // log file part: NN-<name>[-runK].log
  std::string command;  // run as /bin/sh -c COMMAND
  std::vector<int> expect_exit = {0};
  // Exit codes meaning "blocked: a precondition is missing" (seed 003: a smoke
  // script exits 2 when blocked); the gate is then BLOCKED, with the last line
  // of the step's stderr as the reason.
  std::vector<int> blocked_exit;
  std::vector<std::string> expect_output;  // ECMAScript regexes, each must match stdout or stderr
  int timeout_seconds = 0;                 // 0: the gate's
};

struct Precondition {
  std::string command;  // /bin/sh -c; must exit 0
  std::string reason;   // said when it does not, e.g. "rtgw migrate is not built yet"
};

enum class OnMissing { kBlocked, kHold };

struct Gate {
  std::string id;  // [a-z0-9][a-z0-9-]*, unique
  std::string title;
  int repeat = 1;
  int min_successes = 0;  // 0: all `repeat` runs must succeed
  int timeout_seconds = 600;
  std::vector<std::string> requires_tools;  // each must be on PATH
  std::vector<Precondition> preconditions;
  OnMissing on_missing = OnMissing::kBlocked;
  std::vector<std::string> evidence;  // files (relative to the run directory) steps must write
  std::optional<double> p95_max_regression_pct;
  std::optional<double> known_good_median_seconds;
  std::string unblock;  // the unblock condition written into the decision on failure
  std::vector<Step> steps;

  int RequiredSuccesses() const { return min_successes > 0 ? min_successes : repeat; }
};

struct Risk {
  std::string risk;
  std::string mitigation;
};

struct GateSpec {
  std::string name;
  std::string description;
  std::string operator_name;
  std::string reviewer;
  std::string workdir;  // absolute after parsing (relative ones resolve against the spec's folder)
  std::map<std::string, std::string> env;
  std::vector<Risk> risks;
  std::vector<std::string> on_hold;  // fallback actions listed in the decision when HOLD
  std::vector<Gate> gates;
};

// Parses TOML text. `spec_dir` resolves a relative `workdir` (default ".").
// kInvalidArgument with the TOML line or the offending key for anything
// malformed, unknown keys included (a typo must not silently drop a check).
Result<GateSpec> ParseGateSpec(const std::string& toml_text, const std::string& spec_dir);
Result<GateSpec> LoadGateSpec(const std::string& path);

}  // namespace rtgw::gates

#endif  // RTGW_GATES_GATE_SPEC_HPP_
