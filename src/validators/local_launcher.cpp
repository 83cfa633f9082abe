#include "validators/local_launcher.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <boost/json.hpp>

#include "common/logging.hpp"

namespace rtgw::validators {
namespace json = boost::json;

namespace {

std::optional<int> PidOf(const std::string& execution_name) {
  static constexpr std::string_view kPrefix = "local/";
  if (execution_name.rfind(kPrefix, 0) != 0) return std::nullopt;
  try {
    std::size_t used = 0;
    const int pid = std::stoi(execution_name.substr(kPrefix.size()), &used);
    if (used + kPrefix.size() != execution_name.size() || pid <= 0) return std::nullopt;
    return pid;
  } catch (...) {
    return std::nullopt;
  }
}

ExecutionStatus FromWaitStatus(int ws) {
  if (WIFEXITED(ws)) {
    const int code = WEXITSTATUS(ws);
    if (code == 0) return {"SUCCEEDED", "exit code 0"};
    return {"FAILED", "exit code " + std::to_string(code)};
  }
  if (WIFSIGNALED(ws)) return {"FAILED", "killed by signal " + std::to_string(WTERMSIG(ws))};
  return {"FAILED", "ended"};
}

}  // namespace

LocalLauncher::~LocalLauncher() {
  // Reap what has ended; leave running children alone (they call back to
  // a restarted worker, or its poller fails them).
  std::lock_guard lock(mu_);
  for (auto& [pid, status] : children_) {
    int ws = 0;
    if (!status) (void)::waitpid(pid, &ws, WNOHANG);
  }
}

Result<std::string> LocalLauncher::MintToken(const std::string& audience,
                                             const std::string& subject,
                                             std::chrono::seconds ttl) const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  json::object claims{{"iss", identity_.issuer}, {"aud", audience},
                      {"sub", subject},          {"email", identity_.service_account},
                      {"email_verified", true},  {"iat", now},
                      {"exp", now + ttl.count()}};
  return signer_->Sign(json::serialize(claims));
}

Result<std::string> LocalLauncher::Launch(const LaunchSpec& spec) {
  if (spec.command.empty()) return InvalidArgument("local validator has no command");
  auto token = MintToken(spec.callback_url, spec.validator + "/" + spec.run_id,
                         spec.timeout + std::chrono::minutes(5));
  if (!token) return token.error();
  const char* path = std::getenv("PATH");
  std::vector<std::string> env = {
      "INPUT_URI=" + spec.input_uri,
      "CALLBACK_URL=" + spec.callback_url,
      "CALLBACK_ID=" + spec.callback_id,
      "RUN_ID=" + spec.run_id,
      "VALIDATOR_VERSION=" + spec.version,
      "VALIDATOR_LABELS=validator=" + spec.validator + ",version=" + spec.version,
      "CALLBACK_ID_TOKEN=" + *token,
      std::string("PATH=") + (path != nullptr ? path : "/usr/bin:/bin"),
  };
  std::vector<char*> argv;
  for (const std::string& a : spec.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Unavailable("cannot start " + spec.command[0] + ": " + std::strerror(rc));
  }
  {
    std::lock_guard lock(mu_);
    children_[pid] = std::nullopt;
  }
  LogInfo("validator started", {{"run_id", spec.run_id},
                                {"launcher", "local"},
                                {"validator", spec.validator},
                                {"version", spec.version},
                                {"pid", static_cast<long long>(pid)}});
  return "local/" + std::to_string(pid);
}

Result<ExecutionStatus> LocalLauncher::Poll(const std::string& execution_name) {
  const std::optional<int> pid = PidOf(execution_name);
  if (!pid) return ExecutionStatus{"FAILED", "execution lost"};
  std::lock_guard lock(mu_);
  auto it = children_.find(*pid);
  if (it == children_.end()) return ExecutionStatus{"FAILED", "execution lost"};
  if (!it->second) {
    int ws = 0;
    const pid_t got = ::waitpid(*pid, &ws, WNOHANG);
    if (got == 0) return ExecutionStatus{"RUNNING", "running"};
    if (got < 0) return ExecutionStatus{"FAILED", "execution lost"};
    it->second = ws;
  }
  return FromWaitStatus(*it->second);
}

Status LocalLauncher::Cancel(const std::string& execution_name) {
  const std::optional<int> pid = PidOf(execution_name);
  if (!pid) return NotFound("unknown execution " + execution_name);
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(*pid);
    if (it == children_.end() || it->second) return Ok{};  // not ours, or already ended
  }
  ::kill(-*pid, SIGKILL);  // its whole process group
  return Ok{};
}

}  // namespace rtgw::validators
