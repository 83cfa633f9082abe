#ifndef RTGW_AGENT_EXECUTOR_BATCH_SCRIPT_HPP_
#define RTGW_AGENT_EXECUTOR_BATCH_SCRIPT_HPP_

// Turns a JobSpec into the bash batch script both executors run. Pure
// functions (the file:// check reads the file system); thread-safe.
//
// What a job runs (payload_ref.input_uri), docs/agent.md "Payloads":
//   inline://<name>[?sleep=S&exit=E]  built-in demo: prints who it is, sleeps S seconds
//                                     (0..86400, default 1), exits with E (0..255, default 0)
//   file:///abs/path/script.sh        runs that script with bash, only if its real path is a
//                                     regular file inside one of the configured payload dirs
// Anything else is rejected (error code "unsupported_payload"): the gateway never gets to
// make a management node run an arbitrary command.
//
// Validator jobs (payload_ref.validator set, docs/agent.md "Validator jobs"): the program is
// the node's own `validator_programs` entry for name@version (else "unsupported_payload"); it
// runs under `env -i` with ONLY PATH, INPUT_URI (= payload_ref.input_uri, the envelope),
// CALLBACK_URL, CALLBACK_ID, RUN_ID, VALIDATOR_VERSION and CALLBACK_ID_TOKEN_FILE (the file
// `validator_token` wrote; removed when the program exits), each single-quoted.
//
// Safety: #SBATCH values are validated against a strict character set (never
// quoted into a directive); strings that reach the shell body are
// single-quoted with ShellQuote. Pure, except that the file:// check reads the
// file system and `validator_token` writes the token file.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/executor/job_spec.hpp"
#include "common/error.hpp"

namespace rtgw::agent {

struct RenderOptions {
  std::vector<std::string> payload_dirs;  // allowed roots for file:// payloads (real paths)
  std::string output_path;                // --output file; "" = /dev/null
  bool sbatch_directives = true;          // false for the local executor (comments anyway)
  // Validator programs this node runs: "name@version" -> argv (argv[0] absolute).
  std::map<std::string, std::vector<std::string>> validator_programs;
  // Mints the validator job's callback ID token (aud = its callback_url) into a
  // 0600 file and returns the file's path. Unset: validator jobs are refused.
  std::function<Result<std::string>(const JobSpec&)> validator_token;
};

// 'text' with every ' as '\''; safe for bash in any context.
std::string ShellQuote(const std::string& text);

// The payload part of the script (the commands after the directives), or
// kInvalidArgument with api_code "unsupported_payload" / "payload_not_allowed".
Result<std::string> RenderPayload(const std::string& input_uri, const RenderOptions& options);

// The payload part for a validator job (spec.validator set); see above.
Result<std::string> RenderValidatorPayload(const JobSpec& spec, const RenderOptions& options);

// Whole script. kInvalidArgument (api_code "invalid_job_spec") when a value
// cannot be expressed safely (partition with a space, cpu < 1, ...).
Result<std::string> RenderBatchScript(const JobSpec& spec, const RenderOptions& options);

// ceil(walltime_seconds / 60), at least 1.
std::int64_t WalltimeMinutes(std::int64_t walltime_seconds);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_EXECUTOR_BATCH_SCRIPT_HPP_
