#include "agent/core/agent_config.hpp"

#include <cctype>

#include "common/read_file.hpp"

namespace rtgw::agent {
namespace {

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

const std::vector<config::OptionSpec>& AgentOptionSpecs() {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"gateway-url", "RTGW_AGENT_GATEWAY_URL", "",
       "Base URL of the rtgw gateway, e.g. http://127.0.0.1:8080 (required)."},
      {"node-id", "RTGW_AGENT_NODE_ID", "",
       "This management node's id; must equal the node token's node_id claim and the jobs' "
       "management_node_id (required)."},
      {"token", "RTGW_AGENT_TOKEN", "",
       "Node token: a JWT with tenant_id, sub and node_id claims. Prefer --token-file.", false,
       true},
      {"token-file", "RTGW_AGENT_TOKEN_FILE", "",
       "File holding the node token (read at start-up; surrounding whitespace ignored)."},
      {"executor", "RTGW_AGENT_EXECUTOR", "slurm",
       "Where jobs run: slurm (sbatch/scontrol/scancel on this node) or local (child processes "
       "on this machine; development and the README walk-through)."},
      {"journal", "RTGW_AGENT_JOURNAL", "rtgw-agent.db",
       "Local SQLite journal (intents before sbatch, outgoing events). Keep it on local disk; "
       "one agent per file."},
      {"work-dir", "RTGW_AGENT_WORK_DIR", "rtgw-agent-work",
       "Directory for job output (slurm: rtgw-<submission_id>.out, must be visible to the "
       "compute nodes) and, for the local executor, one directory per job."},
      {"payload-dirs", "RTGW_AGENT_PAYLOAD_DIRS", "",
       "Colon-separated directories from which file:// payloads may be run; empty: file:// "
       "payloads are refused (inline:// demo payloads always work)."},
      {"validators-file", "RTGW_AGENT_VALIDATORS_FILE", "",
       "JSON file of the validator programs this node runs for validator jobs "
       "({\"validators\":[{name, version, command: [absolute argv]}]}, the gateway's "
       "validators file format; other fields ignored). Empty: validator jobs are refused."},
      {"validator-key", "RTGW_AGENT_VALIDATOR_KEY", "",
       "PEM RSA private key (>= 2048 bits) that signs validator jobs' callback ID tokens; the "
       "gateway trusts its public JWKS (RTGW_SLURM_VALIDATOR_JWKS). Required with "
       "--validators-file."},
      {"validator-key-id", "RTGW_AGENT_VALIDATOR_KEY_ID", "rtgw-agent",
       "kid of --validator-key in the gateway's JWKS."},
      {"validator-token-issuer", "RTGW_AGENT_VALIDATOR_TOKEN_ISSUER", "urn:rtgw:agent",
       "iss of validator ID tokens (the gateway's RTGW_SLURM_VALIDATOR_TOKEN_ISSUER)."},
      {"validator-service-account", "RTGW_AGENT_VALIDATOR_SERVICE_ACCOUNT", "validator@rtgw.agent",
       "email claim of validator ID tokens (the gateway's RTGW_SLURM_VALIDATOR_SERVICE_ACCOUNT)."},
      {"partitions", "RTGW_AGENT_PARTITIONS", "",
       "Comma-separated Slurm partitions this agent may submit to and reports in its catalogue; "
       "empty: all."},
      {"slurm-bin-dir", "RTGW_AGENT_SLURM_BIN_DIR", "",
       "Directory of sbatch, scontrol, scancel, sinfo; empty: found in PATH."},
      {"slurm-timeout-ms", "RTGW_AGENT_SLURM_TIMEOUT_MS", "30000",
       "Time limit of one Slurm command (1000-600000); a timed-out sbatch is looked up by its "
       "tag before any retry."},
      {"poll-interval-ms", "RTGW_AGENT_POLL_INTERVAL_MS", "2000",
       "How often job states are read from the executor: one batched query per cycle "
       "(100-600000)."},
      {"heartbeat-interval-ms", "RTGW_AGENT_HEARTBEAT_INTERVAL_MS", "15000",
       "How often the heartbeat with the Slurm catalogue is sent (500-600000)."},
      {"lease-seconds", "RTGW_AGENT_LEASE_SECONDS", "60",
       "Lease length asked for at leases:acquire (10-600); held leases are renewed at a third."},
      {"lease-wait-seconds", "RTGW_AGENT_LEASE_WAIT_SECONDS", "20",
       "Long-poll wait of leases:acquire (0-25; the gateway allows at most 25)."},
      {"max-jobs-per-lease", "RTGW_AGENT_MAX_JOBS_PER_LEASE", "16",
       "max_jobs asked for per leases:acquire (1-256)."},
      {"max-in-flight", "RTGW_AGENT_MAX_IN_FLIGHT", "1000",
       "Stop leasing new work while this many jobs are unfinished (1-100000)."},
      {"backoff-initial-ms", "RTGW_AGENT_BACKOFF_INITIAL_MS", "500",
       "First retry delay for events and gateway calls; doubles per attempt, with jitter "
       "(10-60000)."},
      {"backoff-max-ms", "RTGW_AGENT_BACKOFF_MAX_MS", "30000",
       "Largest retry delay (100-3600000). Events are retried until delivered, never dropped."},
      {"shutdown-timeout-ms", "RTGW_AGENT_SHUTDOWN_TIMEOUT_MS", "10000",
       "On SIGTERM: time allowed to flush pending events before exiting (0-600000); what is "
       "left stays journaled and is sent after the next start."},
      {"journal-retention-hours", "RTGW_AGENT_JOURNAL_RETENTION_HOURS", "168",
       "Finished jobs whose events were all delivered this long ago are removed from the "
       "journal (checked hourly; 1-87600)."},
      {"log-format", "RTGW_AGENT_LOG_FORMAT", "json", "Log format on stderr: json or text."},
      {"log-level", "RTGW_AGENT_LOG_LEVEL", "info", "Minimum log level: debug, info, warn, error."},
      {"test-crash-point", "RTGW_AGENT_TEST_CRASH_POINT", "",
       "Test hook, never in production: 'after-sbatch' makes the agent kill itself (SIGKILL) "
       "right after a successful sbatch, before the journal records the Slurm job id."},
  };
  return kSpecs;
}

Result<AgentConfig> BuildAgentConfig(const config::OptionValues& v) {
  AgentConfig c;
  c.gateway_url = v.GetOr("gateway-url", "");
  if (c.gateway_url.rfind("http://", 0) != 0 && c.gateway_url.rfind("https://", 0) != 0) {
    return InvalidArgument(v.Source("gateway-url") +
                           ": required, an http:// or https:// URL (e.g. http://127.0.0.1:8080)");
  }
  c.node_id = v.GetOr("node-id", "");
  if (c.node_id.empty() || c.node_id.size() > 256) {
    return InvalidArgument(v.Source("node-id") + ": required, 1-256 characters");
  }
  c.token = v.GetOr("token", "");
  c.token_file = v.GetOr("token-file", "");
  if (c.token.empty() && !c.token_file.empty()) {
    std::optional<std::string> text = ReadFileText(c.token_file);
    if (!text) return InvalidArgument(v.Source("token-file") + ": cannot read " + c.token_file);
    c.token = std::move(*text);
    while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.back())))
      c.token.pop_back();
    while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.front()))) {
      c.token.erase(c.token.begin());
    }
  }
  if (c.token.empty()) {
    return InvalidArgument(
        "--token / RTGW_AGENT_TOKEN or --token-file / RTGW_AGENT_TOKEN_FILE: "
        "a node token is required");
  }
  c.executor = v.GetOr("executor", "slurm");
  if (c.executor != "slurm" && c.executor != "local") {
    return InvalidArgument(v.Source("executor") + ": expected slurm or local, got '" + c.executor +
                           "'");
  }
  c.journal_path = v.GetOr("journal", "rtgw-agent.db");
  if (c.journal_path.empty()) return InvalidArgument(v.Source("journal") + ": must not be empty");
  c.work_dir = v.GetOr("work-dir", "rtgw-agent-work");
  if (c.work_dir.empty()) return InvalidArgument(v.Source("work-dir") + ": must not be empty");
  c.payload_dirs = SplitList(v.GetOr("payload-dirs", ""), ':');
  c.validators_file = v.GetOr("validators-file", "");
  c.validator_key_file = v.GetOr("validator-key", "");
  c.validator_key_id = v.GetOr("validator-key-id", c.validator_key_id);
  c.validator_token_issuer = v.GetOr("validator-token-issuer", c.validator_token_issuer);
  c.validator_service_account = v.GetOr("validator-service-account", c.validator_service_account);
  if (!c.validators_file.empty() && c.validator_key_file.empty()) {
    return InvalidArgument(v.Source("validator-key") +
                           ": required when --validators-file / RTGW_AGENT_VALIDATORS_FILE is set");
  }
  if (c.validator_key_id.empty() || c.validator_token_issuer.empty() ||
      c.validator_service_account.empty()) {
    return InvalidArgument(v.Source("validator-key-id") + ", " +
                           v.Source("validator-token-issuer") + " and " +
                           v.Source("validator-service-account") + ": must not be empty");
  }
  c.partitions = SplitList(v.GetOr("partitions", ""), ',');
  c.slurm_bin_dir = v.GetOr("slurm-bin-dir", "");

  if (Status st =
          config::ParseIntOptions(v, {{"slurm-timeout-ms", 1000, 600000, &c.slurm_timeout},
                                      {"poll-interval-ms", 100, 600000, &c.poll_interval},
                                      {"heartbeat-interval-ms", 500, 600000, &c.heartbeat_interval},
                                      {"lease-seconds", 10, 600, &c.lease_seconds},
                                      {"lease-wait-seconds", 0, 25, &c.lease_wait_seconds},
                                      {"max-jobs-per-lease", 1, 256, &c.max_jobs_per_lease},
                                      {"max-in-flight", 1, 100000, &c.max_in_flight},
                                      {"backoff-initial-ms", 10, 60000, &c.backoff_initial},
                                      {"backoff-max-ms", 100, 3600000, &c.backoff_max},
                                      {"shutdown-timeout-ms", 0, 600000, &c.shutdown_timeout},
                                      {"journal-retention-hours", 1, 87600, &c.journal_retention}});
      !st.ok()) {
    return st.error();
  }
  if (c.backoff_max < c.backoff_initial) {
    return InvalidArgument(v.Source("backoff-max-ms") + ": must be at least --backoff-initial-ms");
  }

  if (Status st = config::ParseLogOptions(v, &c.log_format, &c.log_level); !st.ok()) {
    return st.error();
  }
  c.test_crash_point = v.GetOr("test-crash-point", "");
  if (!c.test_crash_point.empty() && c.test_crash_point != "after-sbatch") {
    return InvalidArgument(v.Source("test-crash-point") + ": expected after-sbatch or empty");
  }
  return c;
}

}  // namespace rtgw::agent
