#include "validators/registry.hpp"

#include <cctype>

#include <boost/json.hpp>

namespace rtgw::validators {
namespace json = boost::json;

namespace {

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::vector<ValidatorSpec>> ParseValidatorRegistry(std::string_view json_text) {
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec || !root.is_object() || !root.as_object().contains("validators") ||
      !root.at("validators").is_array()) {
    return InvalidArgument("validators file: expected {\"validators\": [...]}");
  }
  std::vector<ValidatorSpec> out;
  std::size_t i = 0;
  for (const json::value& item : root.at("validators").as_array()) {
    const std::string where = "validators[" + std::to_string(i++) + "]";
    if (!item.is_object()) return InvalidArgument(where + ": must be an object");
    const json::object& o = item.as_object();
    auto str = [&o](std::string_view k) -> std::optional<std::string> {
      const json::value* v = o.if_contains(k);
      if (v == nullptr || !v->is_string()) return std::nullopt;
      return std::string(v->as_string());
    };
    ValidatorSpec s;
    auto name = str("name");
    auto version = str("version");
    if (!name || !ValidName(*name)) {
      return InvalidArgument(where + ".name: 1-64 characters of A-Z a-z 0-9 - _ .");
    }
    if (!version || !ValidName(*version)) {
      return InvalidArgument(where + ".version: 1-64 characters of A-Z a-z 0-9 - _ .");
    }
    s.name = *name;
    s.version = *version;
    if (auto l = str("launcher")) s.launcher = *l;
    if (s.launcher == "local") {
      const json::value* cmd = o.if_contains("command");
      if (cmd == nullptr || !cmd->is_array() || cmd->as_array().empty()) {
        return InvalidArgument(where + ".command: a non-empty array of strings is required");
      }
      for (const json::value& a : cmd->as_array()) {
        if (!a.is_string()) return InvalidArgument(where + ".command: strings only");
        s.command.emplace_back(a.as_string());
      }
      if (s.command[0].empty() || s.command[0][0] != '/') {
        return InvalidArgument(where + ".command[0]: must be an absolute path");
      }
    } else if (s.launcher == "cloud-run") {
      auto job = str("job");
      if (!job || job->rfind("projects/", 0) != 0 || job->find("/jobs/") == std::string::npos) {
        return InvalidArgument(where + ".job: projects/<p>/locations/<l>/jobs/<job> is required");
      }
      s.cloud_run_job = *job;
    } else if (s.launcher == "slurm") {
      auto node = str("node");
      if (!node || node->empty() || node->size() > 128) {
        return InvalidArgument(where +
                               ".node: the management node id (1-128 characters) is required");
      }
      for (char c : *node) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
              c == '@' || c == '~')) {
          return InvalidArgument(where + ".node: characters of A-Z a-z 0-9 . _ - @ ~ only");
        }
      }
      s.node_id = *node;
      if (auto q = str("queue")) {
        if (!ValidName(*q))
          return InvalidArgument(where + ".queue: 1-64 characters of A-Z a-z 0-9 - _ .");
        s.queue = *q;
      } else if (o.contains("queue")) {
        return InvalidArgument(where + ".queue: must be a string");
      }
    } else {
      return InvalidArgument(where + ".launcher: must be local, cloud-run or slurm");
    }
    if (const json::value* t = o.if_contains("timeout_seconds")) {
      if (!t->is_int64() || t->as_int64() < 1 || t->as_int64() > 86'400) {
        return InvalidArgument(where + ".timeout_seconds: an integer from 1 to 86400");
      }
      s.timeout = std::chrono::seconds(t->as_int64());
    }
    if (FindValidator(out, s.name, s.version) != nullptr) {
      return InvalidArgument(where + ": duplicate name and version");
    }
    out.push_back(std::move(s));
  }
  return out;
}

const ValidatorSpec* FindValidator(const std::vector<ValidatorSpec>& specs, std::string_view name,
                                   const std::optional<std::string>& version) {
  for (const ValidatorSpec& s : specs) {
    if (s.name == name && (!version || s.version == *version)) return &s;
  }
  return nullptr;
}

}  // namespace rtgw::validators
