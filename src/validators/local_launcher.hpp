#ifndef RTGW_VALIDATORS_LOCAL_LAUNCHER_HPP_
#define RTGW_VALIDATORS_LOCAL_LAUNCHER_HPP_

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "auth/jws_signer.hpp"
#include "process/process.hpp"
#include "validators/launcher.hpp"

namespace rtgw::validators {

// Identity of the ID tokens the local launcher mints (and the worker expects
// for runs of that launcher).
struct LocalTokenIdentity {
  std::string issuer = "urn:rtgw:local-launcher";
  std::string service_account = "validator@rtgw.local";
};

// `local`: each execution is a child process (process::Spawn, its own process
// group, our stdin/stdout/stderr) running spec.command with ONLY this environment:
//   INPUT_URI, CALLBACK_URL, CALLBACK_ID, RUN_ID, VALIDATOR_VERSION,
//   VALIDATOR_LABELS=validator=<name>,version=<version>, PATH, and
//   CALLBACK_ID_TOKEN: an RS256 ID token minted with `signer` (iss, aud =
//   CALLBACK_URL, email = the service account, sub, iat, exp = launch +
//   timeout + 5 min) -- the stand-in for what a Cloud Run job gets from its
//   metadata server.
// Execution names are "local/<pid>". Poll reaps the child (Child::TryWait):
// running -> RUNNING, exit 0 -> SUCCEEDED, other exit or signal -> FAILED;
// a pid this process did not start -> FAILED "execution lost", not observed
// (ExecutionStatus::observed: it may be another process's child). Each Launch
// reaps the children that ended (those that called back are never polled), and
// keeps the exit status of the last kEndedKept of them for Poll.
// Thread-safety: safe for concurrent use.
class LocalLauncher final : public Launcher {
 public:
  LocalLauncher(std::shared_ptr<const auth::JwsSigner> signer, LocalTokenIdentity identity)
      : signer_(std::move(signer)), identity_(std::move(identity)) {}
  ~LocalLauncher() override;

  std::string_view name() const override { return "local"; }
  Result<std::string> Launch(const LaunchSpec& spec) override;
  Result<ExecutionStatus> Poll(const std::string& execution_name) override;
  Status Cancel(const std::string& execution_name) override;

  // Mints the callback ID token for `audience` (exposed for tests and docs).
  Result<std::string> MintToken(const std::string& audience, const std::string& subject,
                                std::chrono::seconds ttl) const;

 private:
  std::shared_ptr<const auth::JwsSigner> signer_;
  LocalTokenIdentity identity_;
  static constexpr std::size_t kEndedKept = 1'024;
  // Reaps ended children; forgets the oldest ended ones beyond kEndedKept.
  void ReapLocked();

  std::mutex mu_;
  std::map<int, process::Child> children_;  // by pid
  std::deque<int> ended_order_;             // reaped pids in children_, oldest first
  std::set<int> ended_set_;                 // the same pids
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_LOCAL_LAUNCHER_HPP_
