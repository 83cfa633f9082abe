#include "gates/gate_runner.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/read_file.hpp"
#include "common/time_format.hpp"
#include "gates/output_pattern.hpp"
#include "gates/stats.hpp"
#include "process/process.hpp"

namespace rtgw::gates {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxCapturedBytes = 8u << 20;  // per stream, per log
// A step past its timeout gets SIGTERM, then SIGKILL after this.
constexpr std::chrono::milliseconds kKillGrace{2000};

std::string Now() { return FormatRfc3339(std::chrono::system_clock::now()); }

std::string Nn(int index) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", index);
  return buf;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

double WallSeconds(const process::RunResult& r) {
  return std::chrono::duration<double>(r.wall).count();
}

// "exit 0", "exit 3", "signal 9", "timeout after 5s (killed)".
std::string Describe(const process::RunResult& r) {
  if (r.timed_out) {
    return "timeout after " + std::to_string(static_cast<long>(WallSeconds(r) + 0.5)) +
           "s (killed)";
  }
  if (r.status.term_signal) return "signal " + std::to_string(r.status.term_signal);
  return "exit " + std::to_string(r.status.exit_code);
}

std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return "(no output)";
  const size_t start = text.find_last_of('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::string ReadCapped(const std::string& path, bool* truncated) {
  std::ifstream in(path, std::ios::binary);
  std::string out(kMaxCapturedBytes, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  *truncated = in && in.peek() != std::char_traits<char>::eof();
  return out;
}

Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Unavailable("cannot write " + path.string());
  return Ok{};
}

// A fresh run directory <root>/<YYYYmmddTHHMMSSZ>[-N].
Result<fs::path> MakeRunDir(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Unavailable("cannot create artifacts directory " + root + ": " + ec.message());
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int i = 1; i < 1000; ++i) {
    fs::path dir = fs::absolute(root) /
                   (i == 1 ? std::string(stamp) : std::string(stamp) + "-" + std::to_string(i));
    if (fs::create_directory(dir, ec)) return dir;
    if (ec) return Unavailable("cannot create run directory " + dir.string() + ": " + ec.message());
  }
  return Unavailable("too many runs in one second under " + root);
}

class GateExecutor {
 public:
  GateExecutor(const GateSpec& spec, const fs::path& run_dir, const RunOptions& options)
      : spec_(spec), run_dir_(run_dir), options_(options) {}

  GateOutcome Run(const Gate& gate, int index, int attempt);

 private:
  void Say(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }
  std::map<std::string, std::string> Env(const Gate& gate, int index, int run,
                                         const std::string& step) const;
  // Runs `command` with `sh -c`, appends a log section to `log_path` (or
  // writes it), returns the result and the captured output.
  struct Exec {
    Result<process::RunResult> proc = process::RunResult{};
    std::chrono::system_clock::time_point started_at;
    std::chrono::system_clock::time_point finished_at;
    std::string out;
    std::string err;
  };
  Exec Execute(const std::string& command, const std::map<std::string, std::string>& env,
               int timeout_seconds, const fs::path& log_path, const std::string& header,
               bool append);
  bool CheckPreconditions(const Gate& gate, int index, GateOutcome* o);

  const GateSpec& spec_;
  fs::path run_dir_;
  const RunOptions& options_;
};

std::map<std::string, std::string> GateExecutor::Env(const Gate& gate, int index, int run,
                                                     const std::string& step) const {
  std::map<std::string, std::string> env;
  if (!options_.rtgw_path.empty()) env["RTGW"] = options_.rtgw_path;
  for (const auto& [k, v] : spec_.env) env[k] = v;
  env["GATE_RUN_DIR"] = run_dir_.string();
  env["GATE_ID"] = gate.id;
  env["GATE_INDEX"] = Nn(index);
  env["GATE_RUN"] = std::to_string(run);
  env["GATE_STEP"] = step;
  env["GATE_WORKDIR"] = spec_.workdir;
  return env;
}

GateExecutor::Exec GateExecutor::Execute(const std::string& command,
                                         const std::map<std::string, std::string>& env,
                                         int timeout_seconds, const fs::path& log_path,
                                         const std::string& header, bool append) {
  Exec x;
  const fs::path out_tmp = run_dir_ / ("." + log_path.filename().string() + ".stdout");
  const fs::path err_tmp = run_dir_ / ("." + log_path.filename().string() + ".stderr");
  // Output goes to files, not pipes: a server a step leaves running in a new session
  // would hold a pipe open until the timeout. The group is killed when the step ends.
  process::Spec ps{.argv = {"/bin/sh", "-c", command},
                   .cwd = spec_.workdir,
                   .stdout_stream = process::Stream::File(out_tmp.string()),
                   .stderr_stream = process::Stream::File(err_tmp.string())};
  for (const auto& [k, v] : env) ps.env.push_back(k + "=" + v);
  x.started_at = std::chrono::system_clock::now();
  x.proc = process::Run(ps, {.timeout = std::chrono::seconds(timeout_seconds),
                             .kill_grace = kKillGrace,
                             .kill_group_on_exit = true});
  x.finished_at = std::chrono::system_clock::now();
  bool out_trunc = false;
  bool err_trunc = false;
  x.out = ReadCapped(out_tmp.string(), &out_trunc);
  x.err = ReadCapped(err_tmp.string(), &err_trunc);
  std::error_code ec;
  fs::remove(out_tmp, ec);
  fs::remove(err_tmp, ec);

  std::ostringstream log;
  log << header;
  log << "command: " << command << "\n";
  log << "cwd: " << spec_.workdir << "\n";
  log << "timeout_seconds: " << timeout_seconds << "\n";
  if (!x.proc) {
    log << "started_at: " << Now() << "\n";
    log << "exit: not started: " << x.proc.error().message << "\n";
  } else {
    log << "started_at: " << FormatRfc3339(x.started_at) << "\n";
    log << "finished_at: " << FormatRfc3339(x.finished_at) << "\n";
    log << "wall_seconds: " << Seconds(WallSeconds(*x.proc)) << "\n";
    log << "exit_code: " << x.proc->status.exit_code << "\n";
    log << "exit: " << Describe(*x.proc) << "\n";
  }
  log << "--- stdout" << (out_trunc ? " (truncated at 8 MiB)" : "") << " ---\n" << x.out;
  if (!x.out.empty() && x.out.back() != '\n') log << "\n";
  log << "--- stderr" << (err_trunc ? " (truncated at 8 MiB)" : "") << " ---\n" << x.err;
  if (!x.err.empty() && x.err.back() != '\n') log << "\n";
  log << "--- end ---\n";
  std::ofstream f(log_path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  f << log.str();
  return x;
}

bool GateExecutor::CheckPreconditions(const Gate& gate, int index, GateOutcome* o) {
  std::vector<std::string> missing;
  for (const auto& tool : gate.requires_tools) {
    if (process::FindOnPath(tool).empty()) missing.push_back(tool + " is not on PATH");
  }
  const std::string log_name = Nn(index) + "-" + gate.id + "-preconditions.log";
  bool logged = false;
  if (!gate.requires_tools.empty()) {
    std::ofstream f(run_dir_ / log_name, std::ios::binary | std::ios::trunc);
    f << "# gate " << Nn(index) << " " << gate.id << ": required tools\n";
    for (const auto& tool : gate.requires_tools) {
      const std::string where = process::FindOnPath(tool);
      f << tool << ": " << (where.empty() ? "MISSING" : where) << "\n";
    }
    logged = true;
  }
  for (const auto& pre : gate.preconditions) {
    auto x = Execute(
        pre.command, Env(gate, index, 0, "precondition"), 120, run_dir_ / log_name,
        "# gate " + Nn(index) + " " + gate.id + ": precondition (" + pre.reason + ")\n", logged);
    logged = true;
    if (!x.proc || x.proc->status.exit_code != 0) missing.push_back(pre.reason);
  }
  if (logged) o->evidence.push_back(log_name);
  if (missing.empty()) return true;
  std::string reason;
  for (const auto& m : missing) reason += (reason.empty() ? "" : "; ") + m;
  if (gate.on_missing == OnMissing::kBlocked) {
    o->status = GateStatus::kBlocked;
    o->reason = "blocked: " + reason;
  } else {
    o->status = GateStatus::kFail;
    o->reason = "HOLD: " + reason;
  }
  return false;
}

GateOutcome GateExecutor::Run(const Gate& gate, int index, int attempt) {
  GateOutcome o;
  o.index = index;
  o.id = gate.id;
  o.title = gate.title;
  o.repeat = gate.repeat;
  o.required = gate.RequiredSuccesses();
  o.unblock = gate.unblock;
  o.attempt = attempt;
  o.started_at = Now();
  Say("gate " + Nn(index) + " " + gate.id + ": " + gate.title);
  if (!CheckPreconditions(gate, index, &o)) {
    o.finished_at = Now();
    Say("gate " + Nn(index) + " " + gate.id + ": " + GateStatusName(o.status) + " (" + o.reason +
        ")");
    return o;
  }
  std::vector<double> walls;
  for (int run = 1; run <= gate.repeat; ++run) {
    RunRecord rec;
    rec.run = run;
    rec.ok = true;
    for (const auto& step : gate.steps) {
      const std::string log_name = Nn(index) + "-" + step.name +
                                   (gate.repeat > 1 ? "-run" + std::to_string(run) : "") + ".log";
      const int timeout = step.timeout_seconds > 0 ? step.timeout_seconds : gate.timeout_seconds;
      const std::string header = "# gate " + Nn(index) + " " + gate.id + ", step " + step.name +
                                 ", run " + std::to_string(run) + "/" +
                                 std::to_string(gate.repeat) + "\n";
      auto x = Execute(step.command, Env(gate, index, run, step.name), timeout, run_dir_ / log_name,
                       header, false);
      rec.logs.push_back(log_name);
      o.evidence.push_back(log_name);
      std::string failure;
      if (!x.proc) {
        failure = "could not start: " + x.proc.error().message;
      } else {
        rec.wall_seconds += WallSeconds(*x.proc);
        rec.step_results.push_back(step.name + ": " + Describe(*x.proc));
        bool exit_ok = !x.proc->timed_out && x.proc->status.term_signal == 0;
        if (exit_ok) {
          exit_ok = false;
          for (int code : step.expect_exit) exit_ok = exit_ok || code == x.proc->status.exit_code;
        }
        bool blocked = false;
        for (int code : step.blocked_exit) {
          blocked = blocked || (!x.proc->timed_out && x.proc->status.term_signal == 0 &&
                                code == x.proc->status.exit_code);
        }
        if (blocked) {
          rec.blocked = true;
          failure =
              "blocked (" + Describe(*x.proc) + "): " + LastLine(x.err.empty() ? x.out : x.err);
        } else if (!exit_ok) {
          failure = Describe(*x.proc);
          if (!x.proc->timed_out && x.proc->status.term_signal == 0 &&
              step.expect_exit.size() == 1) {
            failure += " (expected exit " + std::to_string(step.expect_exit[0]) + ")";
          }
        } else {
          for (const auto& p : step.expect_output) {
            if (!OutputPatternFound(p, x.out, x.err)) {
              failure = "required output /" + p + "/ not found";
              break;
            }
          }
        }
      }
      if (!failure.empty()) {
        rec.ok = false;
        rec.failure = step.name + ": " + failure + " (" + log_name + ")";
        break;  // later steps of this run depend on this one
      }
    }
    if (rec.ok) ++o.successes;
    walls.push_back(rec.wall_seconds);
    Say("  run " + std::to_string(run) + "/" + std::to_string(gate.repeat) + ": " +
        (rec.ok ? "ok" : "FAILED " + rec.failure) + " (" + Seconds(rec.wall_seconds) + " s)");
    o.runs.push_back(std::move(rec));
  }
  for (const auto& r : o.runs) {
    if (r.blocked) {
      o.status = gate.on_missing == OnMissing::kBlocked ? GateStatus::kBlocked : GateStatus::kFail;
      o.reason = (o.status == GateStatus::kBlocked ? "blocked: " : "HOLD: ") + r.failure;
      o.finished_at = Now();
      Say("gate " + Nn(index) + " " + gate.id + ": " + GateStatusName(o.status) + " (" + o.reason +
          ")");
      return o;
    }
  }
  o.p95_seconds = Percentile(walls, 95);
  o.median_seconds = Median(walls);
  std::vector<std::string> reasons;
  if (o.successes < o.required) {
    std::string first;
    for (const auto& r : o.runs) {
      if (!r.ok) {
        first = "run " + std::to_string(r.run) + ": " + r.failure;
        break;
      }
    }
    reasons.push_back(std::to_string(o.successes) + "/" + std::to_string(o.repeat) +
                      " runs succeeded (need " + std::to_string(o.required) + "); first failure " +
                      first);
  }
  if (gate.p95_max_regression_pct) {
    const auto kg = options_.known_good.find(gate.id);
    if (kg != options_.known_good.end()) {
      o.known_good_median_seconds = kg->second;
    } else {
      o.known_good_median_seconds = gate.known_good_median_seconds;
    }
    if (o.known_good_median_seconds && o.p95_seconds) {
      o.p95_limit_seconds =
          *o.known_good_median_seconds * (1.0 + *gate.p95_max_regression_pct / 100.0);
      const bool ok = *o.p95_seconds <= *o.p95_limit_seconds;
      char note[256];
      std::snprintf(note, sizeof note,
                    "p95 %.3f s vs known-good median %.3f s + %g%% = limit %.3f s: %s",
                    *o.p95_seconds, *o.known_good_median_seconds, *gate.p95_max_regression_pct,
                    *o.p95_limit_seconds, ok ? "within" : "REGRESSION");
      o.p95_note = note;
      if (!ok) reasons.push_back(note);
    } else {
      o.p95_note = "p95 rule not evaluated: no known-good median recorded for '" + gate.id +
                   "' (give --known-good FILE or known_good_median_seconds)";
    }
  }
  for (const auto& e : gate.evidence) {
    if (fs::exists(run_dir_ / e)) {
      o.evidence.push_back(e);
    } else {
      o.evidence_missing.push_back(e);
    }
  }
  if (!o.evidence_missing.empty()) {
    std::string list;
    for (const auto& e : o.evidence_missing) list += (list.empty() ? "" : ", ") + e;
    reasons.push_back("missing evidence: " + list);
  }
  o.status = reasons.empty() ? GateStatus::kPass : GateStatus::kFail;
  for (const auto& r : reasons) o.reason += (o.reason.empty() ? "" : "; ") + r;
  o.finished_at = Now();
  Say("gate " + Nn(index) + " " + gate.id + ": " + GateStatusName(o.status) +
      (o.reason.empty() ? "" : " (" + o.reason + ")"));
  return o;
}

// Writes summaries, results, decision (and known-good on PROMOTE).
Status WriteBundle(const GateRunResult& result, const GateSpec& spec,
                   const std::vector<int>& gates_to_summarize) {
  const fs::path dir(result.run_dir);
  for (int i : gates_to_summarize) {
    const auto& g = result.gates[static_cast<size_t>(i)];
    auto s = WriteFile(dir / (Nn(g.index) + "-" + g.id + "-summary.md"), RenderGateSummary(g));
    if (!s) return s;
  }
  if (auto s = WriteFile(dir / "gate-results.json", ResultsToJson(result)); !s) return s;
  if (auto s = WriteFile(dir / "promotion-decision.md", RenderDecision(result, spec)); !s) {
    return s;
  }
  if (result.ExitCode() == 0) {
    std::string kg = "{\"spec\": \"" + result.spec_name + "\", \"recorded_at\": \"" +
                     result.finished_at + "\", \"gates\": {";
    bool first = true;
    for (const auto& g : result.gates) {
      if (!g.median_seconds) continue;
      kg += std::string(first ? "" : ", ") + "\"" + g.id +
            "\": {\"median_seconds\": " + Seconds(*g.median_seconds) + "}";
      first = false;
    }
    kg += "}}\n";
    if (auto s = WriteFile(dir / "known-good.json", kg); !s) return s;
  }
  return Ok{};
}

std::string Finish(GateRunResult& r) {
  r.finished_at = Now();
  return r.Decision();
}

}  // namespace

const char* GateStatusName(GateStatus s) {
  switch (s) {
    case GateStatus::kPass:
      return "PASS";
    case GateStatus::kFail:
      return "FAIL";
    case GateStatus::kBlocked:
      return "BLOCKED";
  }
  return "FAIL";
}

int GateRunResult::ExitCode() const {
  bool failed = gates.empty();
  for (const auto& g : gates) {
    if (g.status == GateStatus::kBlocked) return 2;
    if (g.status != GateStatus::kPass) failed = true;
  }
  return failed ? 1 : 0;
}

std::string GateRunResult::Decision() const { return ExitCode() == 0 ? "PROMOTE" : "HOLD"; }

Result<GateRunResult> RunGateSpec(const GateSpec& spec, const std::string& spec_path,
                                  const RunOptions& options) {
  auto dir = MakeRunDir(options.artifacts_root);
  if (!dir) return dir.error();
  std::error_code ec;
  fs::copy_file(spec_path, *dir / "spec.toml", ec);
  if (ec) return Unavailable("cannot copy the spec into " + dir->string() + ": " + ec.message());
  GateRunResult r;
  r.run_dir = dir->string();
  r.spec_path = fs::absolute(spec_path).string();
  r.spec_name = spec.name;
  r.workdir = spec.workdir;
  r.operator_name = !options.operator_name.empty() ? options.operator_name : spec.operator_name;
  r.reviewer = !options.reviewer.empty() ? options.reviewer : spec.reviewer;
  r.started_at = Now();
  if (options.progress) options.progress("run directory: " + r.run_dir);
  GateExecutor exec(spec, *dir, options);
  std::vector<int> all;
  for (size_t i = 0; i < spec.gates.size(); ++i) {
    r.gates.push_back(exec.Run(spec.gates[i], static_cast<int>(i + 1), 1));
    all.push_back(static_cast<int>(i));
  }
  Finish(r);
  if (auto s = WriteBundle(r, spec, all); !s) return s.error();
  return r;
}

Result<GateRunResult> RerunGates(const std::string& run_dir, const RunOptions& options) {
  const fs::path dir = fs::absolute(run_dir);
  const std::optional<std::string> results = ReadFileText((dir / "gate-results.json").string());
  if (!results) {
    return NotFound(run_dir + " has no gate-results.json: not a gate run directory");
  }
  auto prev = ResultsFromJson(*results);
  if (!prev) return InvalidArgument("gate-results.json: " + prev.error().message);
  const std::string spec_text = ReadFileText((dir / "spec.toml").string()).value_or("");
  auto spec = ParseGateSpec(spec_text, fs::path(prev->spec_path).parent_path().string());
  if (!spec) return InvalidArgument("spec.toml in " + run_dir + ": " + spec.error().message);
  if (spec->gates.size() != prev->gates.size()) {
    return InvalidArgument("spec.toml and gate-results.json disagree on the gates");
  }
  GateRunResult r = std::move(prev).value();
  r.run_dir = dir.string();
  r.attempt += 1;
  r.rerun_gates.clear();
  if (!options.operator_name.empty()) r.operator_name = options.operator_name;
  if (!options.reviewer.empty()) r.reviewer = options.reviewer;
  const fs::path superseded = dir / "superseded" / ("attempt-" + std::to_string(r.attempt - 1));
  GateExecutor exec(*spec, dir, options);
  std::vector<int> rerun;
  for (size_t i = 0; i < r.gates.size(); ++i) {
    auto& old = r.gates[i];
    if (old.status == GateStatus::kPass) continue;
    // Keep the failed attempt's files, out of the way of the new ones.
    std::error_code ec;
    fs::create_directories(superseded, ec);
    std::vector<std::string> files = old.evidence;
    files.push_back(Nn(old.index) + "-" + old.id + "-summary.md");
    for (const auto& f : files) {
      if (fs::exists(dir / f)) fs::rename(dir / f, superseded / f, ec);
    }
    if (options.progress) options.progress("re-running gate " + Nn(old.index) + " " + old.id);
    old = exec.Run(spec->gates[i], static_cast<int>(i + 1), r.attempt);
    r.rerun_gates.push_back(old.id);
    rerun.push_back(static_cast<int>(i));
  }
  Finish(r);
  if (auto s = WriteBundle(r, *spec, rerun); !s) return s.error();
  return r;
}

}  // namespace rtgw::gates
