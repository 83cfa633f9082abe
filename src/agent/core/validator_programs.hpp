#ifndef RTGW_AGENT_CORE_VALIDATOR_PROGRAMS_HPP_
#define RTGW_AGENT_CORE_VALIDATOR_PROGRAMS_HPP_

// Validator jobs on a management node (docs/agent.md "Validator jobs"): which
// program runs for a validator name@version, and the callback ID token the
// agent mints for each job -- the node's stand-in for Cloud Run's metadata
// server (seed 004: "Callback client mints an ID token via metadata server").

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/executor/job_spec.hpp"
#include "common/error.hpp"

namespace rtgw::auth {
class JwsSigner;
}

namespace rtgw::agent {

// Parses {"validators":[{"name","version","command":[argv...]}, ...]} (the
// gateway's validators file; entries without "command" -- cloud-run, slurm --
// and other fields are ignored). argv[0] must be absolute. Pure.
// kInvalidArgument naming the entry and field.
Result<std::map<std::string, std::vector<std::string>>> ParseValidatorPrograms(
    std::string_view json_text);

struct ValidatorTokenOptions {
  std::string issuer;                // iss
  std::string service_account;       // email
  std::string node_id;               // sub = "<node_id>/<submission_id>"
  std::string dir;                   // token files: <dir>/rtgw-<submission_id>.jwt, mode 0600
  std::chrono::seconds slack{3600};  // exp = now + walltime + slack (queue wait)
};

// Returns the hook RenderOptions::validator_token calls: signs an RS256 ID
// token {iss, aud = the job's callback_url, sub, email, email_verified, iat,
// exp} and writes it to a fresh 0600 file (directory 0700), returning the path.
// Thread-safe (the signer is; each job has its own file).
std::function<Result<std::string>(const JobSpec&)> MakeValidatorTokenWriter(
    std::shared_ptr<const auth::JwsSigner> signer, ValidatorTokenOptions options);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_VALIDATOR_PROGRAMS_HPP_
