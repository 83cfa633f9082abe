// Renderings of a gate run: per-gate summaries, promotion-decision.md and
// gate-results.json (written and read back by rerun). Declared in
// gate_runner.hpp.
#include <cstdio>
#include <sstream>

#include <boost/json.hpp>

#include "common/read_file.hpp"
#include "gates/gate_runner.hpp"

namespace rtgw::gates {
namespace {

namespace json = boost::json;

std::string Nn(int index) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", index);
  return buf;
}

std::string Secs(const std::optional<double>& s) {
  if (!s) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", *s);
  return buf;
}

// Markdown table cells must not break the table.
std::string Cell(std::string s) {
  for (auto& c : s) {
    if (c == '|') c = '/';
    if (c == '\n') c = ' ';
  }
  return s;
}

json::value Opt(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

std::optional<double> OptFrom(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  return std::nullopt;
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int Int(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> StringsFrom(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string());
  }
  return out;
}

}  // namespace

std::string RenderGateSummary(const GateOutcome& g) {
  std::ostringstream md;
  md << "# Gate " << Nn(g.index) << ": " << g.title << " (`" << g.id << "`)\n\n";
  md << "- result: **" << GateStatusName(g.status) << "**";
  if (!g.reason.empty()) md << " — " << g.reason;
  md << "\n";
  md << "- successes: " << g.successes << "/" << g.repeat << " (need " << g.required << ")\n";
  md << "- attempt: " << g.attempt << ", " << g.started_at << " to " << g.finished_at << "\n";
  md << "- wall time: median " << Secs(g.median_seconds) << " s, p95 " << Secs(g.p95_seconds)
     << " s\n";
  if (!g.p95_note.empty()) md << "- p95 rule: " << g.p95_note << "\n";
  if (!g.evidence_missing.empty()) {
    md << "- missing evidence:";
    for (const auto& e : g.evidence_missing) md << " `" << e << "`";
    md << "\n";
  }
  md << "\n| run | result | wall s | steps | logs |\n|---|---|---|---|---|\n";
  for (const auto& r : g.runs) {
    std::string steps;
    for (const auto& s : r.step_results) steps += (steps.empty() ? "" : "; ") + s;
    std::string logs;
    for (const auto& l : r.logs) logs += (logs.empty() ? "" : " ") + ("`" + l + "`");
    char wall[32];
    std::snprintf(wall, sizeof wall, "%.3f", r.wall_seconds);
    md << "| " << r.run << " | " << (r.ok ? "ok" : "FAIL: " + Cell(r.failure)) << " | " << wall
       << " | " << Cell(steps) << " | " << logs << " |\n";
  }
  if (g.runs.empty()) md << "| - | not run | - | - | - |\n";
  md << "\nEvidence files:";
  for (const auto& e : g.evidence) md << " `" << e << "`";
  md << "\n";
  return md.str();
}

std::string RenderDecision(const GateRunResult& r, const GateSpec& spec) {
  std::ostringstream md;
  const int code = r.ExitCode();
  md << "# Promotion decision: " << r.spec_name << "\n\n";
  md << "**Decision: " << r.Decision() << "**";
  if (code == 2) md << " (blocked: a precondition is missing, see the gate table)";
  md << "\n\n";
  if (!spec.description.empty()) md << spec.description << "\n\n";
  md << "- date/time (UTC): " << r.finished_at << " (run started " << r.started_at << ")\n";
  md << "- operator: " << (r.operator_name.empty() ? "(not given)" : r.operator_name) << "\n";
  md << "- reviewer: " << (r.reviewer.empty() ? "(pending review)" : r.reviewer) << "\n";
  md << "- spec: `" << r.spec_path << "` (copy: `spec.toml`)\n";
  md << "- run directory: `" << r.run_dir << "`\n";
  md << "- attempt: " << r.attempt;
  if (!r.rerun_gates.empty()) {
    md << " (re-ran:";
    for (const auto& id : r.rerun_gates) md << " " << id;
    md << "; passing evidence of earlier attempts kept)";
  }
  md << "\n- exit code: " << code << " (0 PROMOTE, 1 HOLD, 2 blocked)\n\n";
  md << "## Gate checklist\n\n";
  md << "| # | gate | result | runs ok | median s | p95 s | known-good median s | notes | "
        "summary |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.gates) {
    md << "| " << Nn(g.index) << " | " << Cell(g.title) << " (`" << g.id << "`) | "
       << GateStatusName(g.status) << " | " << g.successes << "/" << g.repeat << " | "
       << Secs(g.median_seconds) << " | " << Secs(g.p95_seconds) << " | "
       << Secs(g.known_good_median_seconds) << " | " << Cell(g.reason.empty() ? "" : g.reason)
       << " | `" << Nn(g.index) << "-" << g.id << "-summary.md` |\n";
  }
  md << "\n## Known risks and mitigations\n\n";
  bool any = false;
  for (const auto& risk : spec.risks) {
    md << "- **" << risk.risk << "** Mitigation: " << risk.mitigation << "\n";
    any = true;
  }
  for (const auto& g : r.gates) {
    if (g.status != GateStatus::kPass) {
      md << "- **Gate " << Nn(g.index) << " `" << g.id << "` " << GateStatusName(g.status)
         << "**: " << g.reason << ". Evidence:";
      for (const auto& e : g.evidence) md << " `" << e << "`";
      md << ". Unblock: "
         << (g.unblock.empty() ? "fix the failing step, then `rtgw gate rerun " + r.run_dir + "`"
                               : g.unblock)
         << "\n";
      any = true;
    } else if (g.p95_note.rfind("p95 rule not evaluated", 0) == 0) {
      md << "- **Gate " << Nn(g.index) << " `" << g.id << "`**: " << g.p95_note
         << ". Mitigation: record this run's medians (known-good.json) once promoted.\n";
      any = true;
    }
  }
  if (!any) md << "- none recorded\n";
  if (code != 0) {
    md << "\n## Fallback (HOLD)\n\n";
    for (const auto& line : spec.on_hold) md << "- " << line << "\n";
    md << "- Re-run only the failed gates after remediation, keeping the passing evidence: "
          "`rtgw gate rerun "
       << r.run_dir << "`\n";
  }
  return md.str();
}

std::string ResultsToJson(const GateRunResult& r) {
  json::object o;
  o["format"] = "rtgw-gate-results/v1";
  o["decision"] = r.Decision();
  o["exit_code"] = r.ExitCode();
  o["spec_name"] = r.spec_name;
  o["spec_path"] = r.spec_path;
  o["workdir"] = r.workdir;
  o["run_dir"] = r.run_dir;
  o["operator"] = r.operator_name;
  o["reviewer"] = r.reviewer;
  o["started_at"] = r.started_at;
  o["finished_at"] = r.finished_at;
  o["attempt"] = r.attempt;
  o["rerun_gates"] = Strings(r.rerun_gates);
  json::array gates;
  for (const auto& g : r.gates) {
    json::object j;
    j["index"] = g.index;
    j["id"] = g.id;
    j["title"] = g.title;
    j["status"] = GateStatusName(g.status);
    j["reason"] = g.reason;
    j["successes"] = g.successes;
    j["required"] = g.required;
    j["repeat"] = g.repeat;
    j["median_seconds"] = Opt(g.median_seconds);
    j["p95_seconds"] = Opt(g.p95_seconds);
    j["known_good_median_seconds"] = Opt(g.known_good_median_seconds);
    j["p95_limit_seconds"] = Opt(g.p95_limit_seconds);
    j["p95_note"] = g.p95_note;
    j["evidence"] = Strings(g.evidence);
    j["evidence_missing"] = Strings(g.evidence_missing);
    j["unblock"] = g.unblock;
    j["attempt"] = g.attempt;
    j["started_at"] = g.started_at;
    j["finished_at"] = g.finished_at;
    json::array runs;
    for (const auto& run : g.runs) {
      json::object jr;
      jr["run"] = run.run;
      jr["ok"] = run.ok;
      jr["wall_seconds"] = run.wall_seconds;
      jr["step_results"] = Strings(run.step_results);
      jr["logs"] = Strings(run.logs);
      jr["failure"] = run.failure;
      jr["blocked"] = run.blocked;
      runs.push_back(std::move(jr));
    }
    j["runs"] = std::move(runs);
    gates.push_back(std::move(j));
  }
  o["gates"] = std::move(gates);
  return json::serialize(o) + "\n";
}

Result<GateRunResult> ResultsFromJson(const std::string& text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return InvalidArgument("not a JSON object");
  const auto& o = v.as_object();
  if (Str(o, "format") != "rtgw-gate-results/v1") {
    return InvalidArgument("format is not rtgw-gate-results/v1");
  }
  GateRunResult r;
  r.spec_name = Str(o, "spec_name");
  r.spec_path = Str(o, "spec_path");
  r.workdir = Str(o, "workdir");
  r.run_dir = Str(o, "run_dir");
  r.operator_name = Str(o, "operator");
  r.reviewer = Str(o, "reviewer");
  r.started_at = Str(o, "started_at");
  r.finished_at = Str(o, "finished_at");
  r.attempt = Int(o, "attempt");
  r.rerun_gates = StringsFrom(o, "rerun_gates");
  const auto* gates = o.if_contains("gates");
  if (!gates || !gates->is_array()) return InvalidArgument("no gates array");
  for (const auto& gv : gates->as_array()) {
    if (!gv.is_object()) return InvalidArgument("a gate is not an object");
    const auto& j = gv.as_object();
    GateOutcome g;
    g.index = Int(j, "index");
    g.id = Str(j, "id");
    g.title = Str(j, "title");
    const std::string status = Str(j, "status");
    g.status = status == "PASS"      ? GateStatus::kPass
               : status == "BLOCKED" ? GateStatus::kBlocked
                                     : GateStatus::kFail;
    g.reason = Str(j, "reason");
    g.successes = Int(j, "successes");
    g.required = Int(j, "required");
    g.repeat = Int(j, "repeat");
    g.median_seconds = OptFrom(j, "median_seconds");
    g.p95_seconds = OptFrom(j, "p95_seconds");
    g.known_good_median_seconds = OptFrom(j, "known_good_median_seconds");
    g.p95_limit_seconds = OptFrom(j, "p95_limit_seconds");
    g.p95_note = Str(j, "p95_note");
    g.evidence = StringsFrom(j, "evidence");
    g.evidence_missing = StringsFrom(j, "evidence_missing");
    g.unblock = Str(j, "unblock");
    g.attempt = Int(j, "attempt");
    g.started_at = Str(j, "started_at");
    g.finished_at = Str(j, "finished_at");
    if (const auto* runs = j.if_contains("runs"); runs && runs->is_array()) {
      for (const auto& rv : runs->as_array()) {
        if (!rv.is_object()) continue;
        const auto& jr = rv.as_object();
        RunRecord run;
        run.run = Int(jr, "run");
        const auto* ok = jr.if_contains("ok");
        run.ok = ok && ok->is_bool() && ok->as_bool();
        run.wall_seconds = OptFrom(jr, "wall_seconds").value_or(0);
        run.step_results = StringsFrom(jr, "step_results");
        run.logs = StringsFrom(jr, "logs");
        run.failure = Str(jr, "failure");
        const auto* blocked = jr.if_contains("blocked");
        run.blocked = blocked && blocked->is_bool() && blocked->as_bool();
        g.runs.push_back(std::move(run));
      }
    }
    r.gates.push_back(std::move(g));
  }
  return r;
}

Result<std::map<std::string, double>> LoadKnownGood(const std::string& path) {
  const std::optional<std::string> text = ReadFileText(path);
  if (!text) return NotFound("cannot read known-good file " + path);
  boost::system::error_code ec;
  const json::value v = json::parse(*text, ec);
  const auto* gates = v.is_object() ? v.as_object().if_contains("gates") : nullptr;
  if (ec || !gates || !gates->is_object()) {
    return InvalidArgument(path + ": expected {\"gates\": {\"<id>\": {\"median_seconds\": N}}}");
  }
  std::map<std::string, double> out;
  for (const auto& [id, g] : gates->as_object()) {
    const auto m = g.is_object() ? OptFrom(g.as_object(), "median_seconds") : std::nullopt;
    if (!m) return InvalidArgument(path + ": gate '" + std::string(id) + "' has no median_seconds");
    out[std::string(id)] = *m;
  }
  return out;
}

}  // namespace rtgw::gates
