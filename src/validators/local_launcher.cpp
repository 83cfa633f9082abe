#include "validators/local_launcher.hpp"

#include <signal.h>

#include <cstdlib>

#include <boost/json.hpp>

#include "common/logging.hpp"
#include "common/time_format.hpp"

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

ExecutionStatus FromExitStatus(const process::ExitStatus& s) {
  if (s.exited()) {
    if (s.exit_code == 0) return {"SUCCEEDED", "exit code 0"};
    return {"FAILED", "exit code " + std::to_string(s.exit_code)};
  }
  if (s.term_signal != 0) return {"FAILED", "killed by signal " + std::to_string(s.term_signal)};
  return {"FAILED", "ended"};
}

}  // namespace

LocalLauncher::~LocalLauncher() {
  // Reap what has ended; leave running children alone (they call back to
  // a restarted worker, or its poller fails them).
  std::lock_guard lock(mu_);
  for (auto& [pid, child] : children_) (void)child.TryWait();
}

Result<std::string> LocalLauncher::MintToken(const std::string& audience,
                                             const std::string& subject,
                                             std::chrono::seconds ttl) const {
  const auto now = UnixNow<std::chrono::seconds>();
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
  auto child = process::Spawn({.argv = spec.command,
                               .env_mode = process::Spec::Env::kReplace,
                               .env = std::move(env),
                               .stdin_stream = process::Stream::Inherit(),
                               .stdout_stream = process::Stream::Inherit(),
                               .stderr_stream = process::Stream::Inherit()});
  if (!child) return child.error();
  const int pid = child->pid();
  {
    std::lock_guard lock(mu_);
    ReapLocked();
    // A reused pid: the new child is not the ended one.
    if (ended_set_.erase(pid) > 0) std::erase(ended_order_, pid);
    children_.insert_or_assign(pid, std::move(*child));
  }
  LogInfo("validator started", {{"run_id", spec.run_id},
                                {"launcher", "local"},
                                {"validator", spec.validator},
                                {"version", spec.version},
                                {"pid", static_cast<long long>(pid)}});
  return "local/" + std::to_string(pid);
}

void LocalLauncher::ReapLocked() {
  // Children that called back are never polled again: reap them here so none
  // stays a zombie, and forget the oldest ended ones beyond kEndedKept.
  for (auto& [pid, child] : children_) {
    auto ended = child.TryWait();
    if (ended && *ended && ended_set_.insert(pid).second) ended_order_.push_back(pid);
  }
  while (ended_order_.size() > kEndedKept) {
    children_.erase(ended_order_.front());
    ended_set_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

Result<ExecutionStatus> LocalLauncher::Poll(const std::string& execution_name) {
  // Not one of our children: another process's (it may still run and call
  // back there), so not observed; the poller waits for its deadline.
  const ExecutionStatus unseen{"FAILED", "execution lost", false};
  const std::optional<int> pid = PidOf(execution_name);
  if (!pid) return unseen;
  std::lock_guard lock(mu_);
  auto it = children_.find(*pid);
  if (it == children_.end()) return unseen;
  const auto ended = it->second.TryWait();
  // Ours, but no longer ours to wait for: it has ended, its exit status is gone.
  if (!ended) return ExecutionStatus{"FAILED", "execution lost (exit status unavailable)"};
  if (!*ended) return ExecutionStatus{"RUNNING", "running"};
  return FromExitStatus(**ended);
}

Status LocalLauncher::Cancel(const std::string& execution_name) {
  const std::optional<int> pid = PidOf(execution_name);
  if (!pid) return NotFound("unknown execution " + execution_name);
  std::lock_guard lock(mu_);
  auto it = children_.find(*pid);
  // Its whole process group; nothing when it is not ours or was reaped already.
  if (it != children_.end()) it->second.Signal(SIGKILL);
  return Ok{};
}

}  // namespace rtgw::validators
