#ifndef RTGW_AGENT_EXECUTOR_JOB_SPEC_HPP_
#define RTGW_AGENT_EXECUTOR_JOB_SPEC_HPP_

// The job the agent runs, backend-neutral: what the gateway's lease says
// (docs/contracts/agent-protocol.md) after the agent resolved the partition.
// Plain value; serialized into the journal as JSON (core/lease_json.*).

#include <cstdint>
#include <optional>
#include <string>

namespace rtgw::agent {

// payload_ref.validator: the job is a validator execution
// (docs/contracts/validator-callback.md, docs/agent.md "Validator jobs"). The
// program comes from the agent's own validators file by name@version; these
// strings only reach the job as single-quoted env values.
struct ValidatorCall {
  std::string name;
  std::string version;
  std::string run_id;
  std::string callback_id;
  std::string callback_url;
};

struct JobSpec {
  std::string submission_id;  // UUID; the job's tag in the backend is "rtgw-<submission_id>"
  std::string job_id;
  std::string tenant_id;
  std::string workspace_id;
  std::string trace_id;
  std::int64_t cpu = 1;
  std::int64_t memory_mib = 1024;
  std::int64_t walltime_seconds = 3600;
  std::string input_uri;                             // payload_ref.input_uri
  std::string partition;                             // "" = the cluster's default partition
  std::string account;                               // "" = none
  std::string qos;                                   // "" = none
  std::optional<std::int64_t> max_walltime_minutes;  // from the boundary mapping, if any
  std::optional<ValidatorCall> validator;            // payload_ref.validator, if any
};

// "rtgw-<submission_id>": Slurm --job-name and --comment, the local executor's directory.
inline std::string BackendTag(const std::string& submission_id) { return "rtgw-" + submission_id; }

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_EXECUTOR_JOB_SPEC_HPP_
