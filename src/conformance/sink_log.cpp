#include "conformance/sink_log.hpp"

#include <map>

#include <boost/json.hpp>

#include "common/read_file.hpp"

namespace rtgw::conformance {
namespace {

std::string StringField(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

Result<std::vector<ProjectionStep>> ParseSinkLog(std::string_view text, std::string_view tenant_id,
                                                 std::string_view job_id) {
  std::vector<ProjectionStep> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string_view line =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      return InvalidArgument("sink log line " + std::to_string(line_no) + " is not a JSON object");
    }
    const auto& o = v.as_object();
    if (StringField(o, "tenant_id") != tenant_id || StringField(o, "job_id") != job_id) continue;
    ProjectionStep step;
    if (const auto* pv = o.if_contains("projection_version"); pv && pv->is_int64()) {
      step.version = pv->as_int64();
    } else {
      return InvalidArgument("sink log line " + std::to_string(line_no) +
                             " has no integer projection_version");
    }
    step.state = StringField(o, "state");
    step.status = StringField(o, "status");
    out.push_back(std::move(step));
  }
  return out;
}

Result<std::vector<ProjectionStep>> ReadSinkLog(const std::string& path, std::string_view tenant_id,
                                                std::string_view job_id) {
  const std::optional<std::string> text = ReadFileText(path);
  if (!text) return NotFound("cannot read sink log " + path);
  return ParseSinkLog(*text, tenant_id, job_id);
}

std::string CompareProjectionSequences(const std::vector<ProjectionStep>& expected,
                                       const std::vector<ProjectionStep>& received) {
  std::map<std::int64_t, const ProjectionStep*> want;
  for (const auto& s : expected) want[s.version] = &s;
  std::map<std::int64_t, const ProjectionStep*> got;
  std::int64_t last = 0;
  for (size_t i = 0; i < received.size(); ++i) {
    const auto& s = received[i];
    if (s.version < last) {
      return "projection_version went backwards in arrival order at update " +
             std::to_string(i + 1) + " (" + std::to_string(last) + " then " +
             std::to_string(s.version) + "): received " + FormatSteps(received);
    }
    last = s.version;
    const auto w = want.find(s.version);
    if (w == want.end()) {
      return "the sink received version " + std::to_string(s.version) +
             " that the gateway never served: received " + FormatSteps(received) + ", served " +
             FormatSteps(expected);
    }
    if (!(*w->second == s)) {
      return "version " + std::to_string(s.version) + " differs: sink has " + s.state + "/" +
             s.status + ", gateway served " + w->second->state + "/" + w->second->status;
    }
    got[s.version] = &s;
  }
  for (const auto& [version, step] : want) {
    if (!got.count(version)) {
      return "the sink never received version " + std::to_string(version) + " (" + step->state +
             "): received " + FormatSteps(received) + ", served " + FormatSteps(expected);
    }
  }
  return {};
}

std::string FormatSteps(const std::vector<ProjectionStep>& steps) {
  if (steps.empty()) return "(nothing)";
  std::string out;
  for (const auto& s : steps) {
    if (!out.empty()) out += ' ';
    out += std::to_string(s.version) + ":" + s.state + "/" + s.status;
  }
  return out;
}

}  // namespace rtgw::conformance
