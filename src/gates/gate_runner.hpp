#ifndef RTGW_GATES_GATE_RUNNER_HPP_
#define RTGW_GATES_GATE_RUNNER_HPP_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "gates/gate_spec.hpp"

namespace rtgw::gates {

// The promotion gate runner (seed 003 as a command). Runs every gate of a
// spec in order, each step as a child process (process/process.hpp) with a timeout,
// and writes the evidence bundle into one run directory:
//   spec.toml                 copy of the spec that ran
//   NN-<step>[-runK].log      per command: command, cwd, times, exit, stdout, stderr
//   NN-<gate>-preconditions.log
//   NN-<gate>-summary.md      success count and timing table
//   promotion-decision.md     PROMOTE or HOLD, gate table, risks, operator, reviewer, UTC time
//   gate-results.json         machine-readable results (read by rerun)
//   known-good.json           per-gate median wall time, written on PROMOTE
// A gate passes when its tools and preconditions are there, at least
// RequiredSuccesses() runs succeed, the p95 rule holds and its evidence files
// exist. Exit codes: 0 PROMOTE, 1 HOLD, 2 blocked (a precondition missing).
// Blocking; one run at a time per run directory.

enum class GateStatus { kPass, kFail, kBlocked };
const char* GateStatusName(GateStatus s);  // "PASS", "FAIL", "BLOCKED"

struct RunRecord {
  int run = 0;  // 1-based
  bool ok = false;
  double wall_seconds = 0;
  std::vector<std::string> step_results;  // per step run: "<name>: exit 0"
  std::vector<std::string> logs;          // file names in the run directory
  std::string failure;                    // first failure of this run
  bool blocked = false;                   // a step exited with one of its blocked_exit codes
};

struct GateOutcome {
  int index = 0;  // 1-based position in the spec: the NN of file names
  std::string id;
  std::string title;
  GateStatus status = GateStatus::kFail;
  std::string reason;  // why not PASS ("" when PASS)
  int successes = 0;
  int required = 0;
  int repeat = 0;
  std::vector<RunRecord> runs;
  std::optional<double> p95_seconds;
  std::optional<double> median_seconds;
  std::optional<double> known_good_median_seconds;
  std::optional<double> p95_limit_seconds;
  std::string p95_note;               // how the p95 rule came out, for the summary and risks
  std::vector<std::string> evidence;  // every file of this gate in the run directory
  std::vector<std::string> evidence_missing;
  std::string unblock;
  int attempt = 1;
  std::string started_at;
  std::string finished_at;
};

struct GateRunResult {
  std::string run_dir;
  std::string spec_path;  // the original spec file, absolute
  std::string spec_name;
  std::string workdir;
  std::string operator_name;
  std::string reviewer;
  std::string started_at;
  std::string finished_at;
  int attempt = 1;
  std::vector<std::string> rerun_gates;  // ids re-run in this attempt (rerun only)
  std::vector<GateOutcome> gates;
  int ExitCode() const;          // 0 PROMOTE, 1 HOLD, 2 blocked
  std::string Decision() const;  // "PROMOTE" or "HOLD"
};

struct RunOptions {
  std::string artifacts_root = "artifacts/gates";    // run dir: <root>/<UTC timestamp>
  std::string operator_name;                         // overrides the spec's
  std::string reviewer;                              // overrides the spec's
  std::string rtgw_path;                             // $RTGW for steps, unless the spec sets it
  std::map<std::string, double> known_good;          // gate id -> median seconds (overrides spec)
  std::function<void(const std::string&)> progress;  // one line per event; may be empty
};

// Runs `spec` (loaded from `spec_path`) into a new run directory.
// kInvalidArgument/kUnavailable when the run directory cannot be made.
Result<GateRunResult> RunGateSpec(const GateSpec& spec, const std::string& spec_path,
                                  const RunOptions& options);

// Re-runs the gates of `run_dir` that did not pass, with the spec copy kept
// there. Their old files move to `superseded/attempt-<N>/`; passing gates'
// evidence stays untouched; summaries, results and the decision are rewritten.
Result<GateRunResult> RerunGates(const std::string& run_dir, const RunOptions& options);

// Reads known-good.json ({"gates": {"<id>": {"median_seconds": 1.2}}}).
Result<std::map<std::string, double>> LoadKnownGood(const std::string& path);

// Renderings (pure), exposed for tests.
std::string RenderGateSummary(const GateOutcome& gate);
std::string RenderDecision(const GateRunResult& result, const GateSpec& spec);
std::string ResultsToJson(const GateRunResult& result);
Result<GateRunResult> ResultsFromJson(const std::string& text);

}  // namespace rtgw::gates

#endif  // RTGW_GATES_GATE_RUNNER_HPP_
