#ifndef RTGW_AGENT_CORE_AGENT_CONFIG_HPP_
#define RTGW_AGENT_CORE_AGENT_CONFIG_HPP_

// Configuration of `rtgw agent`, validated once at start-up (docs/agent.md).
// Every option is a flag and an RTGW_AGENT_* environment variable.

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "config/options.hpp"

namespace rtgw::agent {

struct AgentConfig {
  std::string gateway_url;
  std::string node_id;
  std::string token;               // node token (JWT with tenant_id, sub, node_id)
  std::string token_file;          // read at start-up when token is empty
  std::string executor = "slurm";  // slurm | local
  std::string journal_path = "rtgw-agent.db";
  std::string work_dir = "rtgw-agent-work";
  std::vector<std::string> payload_dirs;
  std::vector<std::string> partitions;  // allowed partitions; empty: all
  // Validator jobs (docs/agent.md "Validator jobs").
  std::string validators_file;     // programs by name@version; empty: validator jobs refused
  std::string validator_key_file;  // PEM RSA key signing the jobs' callback ID tokens
  std::string validator_key_id = "rtgw-agent";
  std::string validator_token_issuer = "urn:rtgw:agent";
  std::string validator_service_account = "validator@rtgw.agent";
  std::string slurm_bin_dir;
  std::chrono::milliseconds slurm_timeout{30'000};
  std::chrono::milliseconds poll_interval{2'000};
  std::chrono::milliseconds heartbeat_interval{15'000};
  int lease_seconds = 60;
  int lease_wait_seconds = 20;
  int max_jobs_per_lease = 16;
  int max_in_flight = 1000;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::chrono::hours journal_retention{168};
  LogFormat log_format = LogFormat::kJson;
  LogLevel log_level = LogLevel::kInfo;
  // Test hook (docs/agent.md): "after-sbatch" makes the agent SIGKILL itself right after a
  // successful sbatch, before the journal records the Slurm job id.
  std::string test_crash_point;
};

const std::vector<config::OptionSpec>& AgentOptionSpecs();

// kInvalidArgument naming the flag/env variable on any bad value.
Result<AgentConfig> BuildAgentConfig(const config::OptionValues& values);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_AGENT_CONFIG_HPP_
