#include "agent/core/validator_programs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>

#include "auth/jws_signer.hpp"
#include "common/time_format.hpp"

namespace rtgw::agent {
namespace json = boost::json;

Result<std::map<std::string, std::vector<std::string>>> ParseValidatorPrograms(
    std::string_view json_text) {
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec || !root.is_object() || !root.as_object().contains("validators") ||
      !root.at("validators").is_array()) {
    return InvalidArgument("expected {\"validators\": [...]}");
  }
  std::map<std::string, std::vector<std::string>> out;
  std::size_t i = 0;
  for (const json::value& item : root.at("validators").as_array()) {
    const std::string where = "validators[" + std::to_string(i++) + "]";
    if (!item.is_object()) return InvalidArgument(where + ": must be an object");
    const json::object& o = item.as_object();
    const json::value* cmd = o.if_contains("command");
    if (cmd == nullptr) continue;  // not a program this node runs
    const json::value* name = o.if_contains("name");
    const json::value* version = o.if_contains("version");
    if (name == nullptr || !name->is_string() || name->as_string().empty() || version == nullptr ||
        !version->is_string() || version->as_string().empty()) {
      return InvalidArgument(where + ": name and version (strings) are required");
    }
    if (!cmd->is_array() || cmd->as_array().empty()) {
      return InvalidArgument(where + ".command: a non-empty array of strings is required");
    }
    std::vector<std::string> argv;
    for (const json::value& a : cmd->as_array()) {
      if (!a.is_string()) return InvalidArgument(where + ".command: strings only");
      argv.emplace_back(a.as_string());
      if (argv.back().find('\0') != std::string::npos) {
        return InvalidArgument(where + ".command: NUL in an argument");
      }
    }
    if (argv[0].empty() || argv[0][0] != '/') {
      return InvalidArgument(where + ".command[0]: must be an absolute path");
    }
    const std::string key =
        std::string(name->as_string()) + "@" + std::string(version->as_string());
    if (!out.emplace(key, std::move(argv)).second) {
      return InvalidArgument(where + ": duplicate name and version " + key);
    }
  }
  return out;
}

std::function<Result<std::string>(const JobSpec&)> MakeValidatorTokenWriter(
    std::shared_ptr<const auth::JwsSigner> signer, ValidatorTokenOptions options) {
  return [signer = std::move(signer),
          o = std::move(options)](const JobSpec& spec) -> Result<std::string> {
    if (!spec.validator) return InvalidArgument("not a validator job");
    const auto now = UnixNow<std::chrono::seconds>();
    json::object claims{{"iss", o.issuer},
                        {"aud", spec.validator->callback_url},
                        {"sub", o.node_id + "/" + spec.submission_id},
                        {"email", o.service_account},
                        {"email_verified", true},
                        {"iat", now},
                        {"exp", now + spec.walltime_seconds + o.slack.count()}};
    auto token = signer->Sign(json::serialize(claims));
    if (!token) return token.error();
    std::error_code ec;
    std::filesystem::create_directories(o.dir, ec);
    if (ec) return Unavailable("cannot create " + o.dir + ": " + ec.message());
    ::chmod(o.dir.c_str(), 0700);
    const std::string path = o.dir + "/" + BackendTag(spec.submission_id) + ".jwt";
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
    const std::string data = *token + "\n";
    const ssize_t n = ::write(fd, data.data(), data.size());
    const bool ok = n == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return Unavailable("cannot write " + path);
    }
    return path;
  };
}

}  // namespace rtgw::agent
