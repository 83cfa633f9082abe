// rtgw gate run SPEC / rtgw gate rerun DIR: the promotion gate runner.
#include <unistd.h>

#include <climits>
#include <cstdio>

#include "app/commands.hpp"
#include "config/options.hpp"
#include "gates/gate_runner.hpp"

namespace rtgw::app {
namespace {

constexpr const char* kDescription =
    "Runs a promotion gate spec (TOML, docs/contracts/gate-spec.md): every gate's steps as child "
    "processes with a timeout, N runs with pass thresholds (exit codes, N of N successes, p95 "
    "wall time against a recorded known-good median, required output patterns) and required "
    "evidence files. Writes DIR/<UTC timestamp>/ with NN-<step>.log per command (stdout, "
    "stderr, exit code, timings), NN-<gate>-summary.md per gate, gate-results.json and "
    "promotion-decision.md (PROMOTE or HOLD, gate table, risks and mitigations, operator, "
    "reviewer, UTC time).\n"
    "'rtgw gate rerun RUN_DIR' re-runs only the gates of RUN_DIR that did not pass, moving "
    "their old files to RUN_DIR/superseded/attempt-N/ and keeping the passing evidence.\n"
    "Exit codes: 0 PROMOTE, 1 HOLD, 2 blocked (a precondition is missing: a required tool or "
    "command, or an unreadable/invalid spec).";

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

int Report(const Result<gates::GateRunResult>& r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "rtgw gate %s: blocked: %s\n", what, r.error().message.c_str());
    return 2;
  }
  std::fprintf(stdout, "%-4s %-28s %-8s %s\n", "#", "gate", "result", "notes");
  for (const auto& g : r->gates) {
    std::fprintf(stdout, "%02d   %-28s %-8s %s\n", g.index, g.id.c_str(),
                 gates::GateStatusName(g.status), g.reason.c_str());
  }
  const int code = r->ExitCode();
  std::fprintf(stdout, "DECISION: %s%s (exit %d)\nevidence: %s\ndecision record: %s/%s\n",
               r->Decision().c_str(), code == 2 ? " (blocked)" : "", code, r->run_dir.c_str(),
               r->run_dir.c_str(), "promotion-decision.md");
  return code;
}

}  // namespace

int RunGate(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"artifacts", "RTGW_GATE_ARTIFACTS", "artifacts/gates",
       "Root of the evidence bundles (gate run); each run gets <root>/<UTC timestamp>/."},
      {"operator", "RTGW_GATE_OPERATOR", "",
       "Operator named in the decision record (default: the spec's, else $USER)."},
      {"reviewer", "RTGW_GATE_REVIEWER", "",
       "Reviewer named in the decision record (default: the spec's, else 'pending review')."},
      {"known-good", "", "",
       "known-good.json of an earlier PROMOTE run: per-gate median wall times the p95 rule "
       "compares against (overrides the spec's known_good_median_seconds)."},
      {"quiet", "", "", "No progress lines on stderr.", true},
  };
  const char* usage = "rtgw gate run SPEC.toml [options] | rtgw gate rerun RUN_DIR [options]";
  if (config::PrintHelpIfAsked(args, usage, kDescription, kSpecs)) return 0;
  if (args.empty() || (args[0] != "run" && args[0] != "rerun")) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  const std::string sub = args[0];
  auto v = config::ParseOptionsOrReport("rtgw gate " + sub,
                                        std::vector<std::string>(args.begin() + 1, args.end()),
                                        kSpecs, config::ProcessEnv, /*allow_positional=*/true);
  if (!v) return 2;
  if (v->positional.size() != 1) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  gates::RunOptions o;
  o.artifacts_root = v->GetOr("artifacts", "artifacts/gates");
  o.operator_name = v->GetOr("operator", "");
  o.reviewer = v->GetOr("reviewer", "");
  o.rtgw_path = SelfPath();
  if (const auto kg = v->GetOr("known-good", ""); !kg.empty()) {
    auto medians = gates::LoadKnownGood(kg);
    if (!medians) {
      std::fprintf(stderr, "rtgw gate %s: --known-good: %s\n", sub.c_str(),
                   medians.error().message.c_str());
      return 2;
    }
    o.known_good = std::move(medians).value();
  }
  if (!v->Switch("quiet")) {
    o.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }
  if (sub == "rerun") return Report(gates::RerunGates(v->positional[0], o), "rerun");
  auto spec = gates::LoadGateSpec(v->positional[0]);
  if (!spec) {
    std::fprintf(stderr, "rtgw gate run: blocked: %s\n", spec.error().message.c_str());
    return 2;
  }
  if (o.operator_name.empty() && spec->operator_name.empty()) {
    const char* user = std::getenv("USER");
    o.operator_name = user && *user ? user : "";
  }
  return Report(gates::RunGateSpec(*spec, v->positional[0], o), "run");
}

}  // namespace rtgw::app
