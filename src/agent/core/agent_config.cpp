#include "agent/core/agent_config.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace rtgw::agent {
namespace {

Result<long long> ParseInt(const config::OptionValues& v, std::string_view flag, long long min,
                           long long max) {
  std::string text = v.GetOr(flag, "");
  long long out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || out < min ||
      out > max) {
    return InvalidArgument(v.Source(flag) + ": expected an integer from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", got '" + text + "'");
  }
  return out;
}

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
    std::ifstream in(c.token_file);
    if (!in) return InvalidArgument(v.Source("token-file") + ": cannot read " + c.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    c.token = ss.str();
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

  struct IntOpt {
    const char* flag;
    long long min, max;
    long long* out;
  };
  long long slurm_timeout = 0, poll = 0, hb = 0, lease = 0, wait = 0, max_jobs = 0, inflight = 0,
            b0 = 0, bmax = 0, shutdown = 0, retention = 0;
  const IntOpt ints[] = {
      {"slurm-timeout-ms", 1000, 600000, &slurm_timeout},
      {"poll-interval-ms", 100, 600000, &poll},
      {"heartbeat-interval-ms", 500, 600000, &hb},
      {"lease-seconds", 10, 600, &lease},
      {"lease-wait-seconds", 0, 25, &wait},
      {"max-jobs-per-lease", 1, 256, &max_jobs},
      {"max-in-flight", 1, 100000, &inflight},
      {"backoff-initial-ms", 10, 60000, &b0},
      {"backoff-max-ms", 100, 3600000, &bmax},
      {"shutdown-timeout-ms", 0, 600000, &shutdown},
      {"journal-retention-hours", 1, 87600, &retention},
  };
  for (const IntOpt& o : ints) {
    auto r = ParseInt(v, o.flag, o.min, o.max);
    if (!r.ok()) return r.error();
    *o.out = *r;
  }
  if (bmax < b0) {
    return InvalidArgument(v.Source("backoff-max-ms") + ": must be at least --backoff-initial-ms");
  }
  c.slurm_timeout = std::chrono::milliseconds(slurm_timeout);
  c.poll_interval = std::chrono::milliseconds(poll);
  c.heartbeat_interval = std::chrono::milliseconds(hb);
  c.lease_seconds = static_cast<int>(lease);
  c.lease_wait_seconds = static_cast<int>(wait);
  c.max_jobs_per_lease = static_cast<int>(max_jobs);
  c.max_in_flight = static_cast<int>(inflight);
  c.backoff_initial = std::chrono::milliseconds(b0);
  c.backoff_max = std::chrono::milliseconds(bmax);
  c.shutdown_timeout = std::chrono::milliseconds(shutdown);
  c.journal_retention = std::chrono::hours(retention);

  const std::string format = v.GetOr("log-format", "json");
  if (format == "json") {
    c.log_format = LogFormat::kJson;
  } else if (format == "text") {
    c.log_format = LogFormat::kText;
  } else {
    return InvalidArgument(v.Source("log-format") + ": expected json or text");
  }
  const std::string level = v.GetOr("log-level", "info");
  if (level == "debug") {
    c.log_level = LogLevel::kDebug;
  } else if (level == "info") {
    c.log_level = LogLevel::kInfo;
  } else if (level == "warn") {
    c.log_level = LogLevel::kWarn;
  } else if (level == "error") {
    c.log_level = LogLevel::kError;
  } else {
    return InvalidArgument(v.Source("log-level") + ": expected debug, info, warn or error");
  }
  c.test_crash_point = v.GetOr("test-crash-point", "");
  if (!c.test_crash_point.empty() && c.test_crash_point != "after-sbatch") {
    return InvalidArgument(v.Source("test-crash-point") + ": expected after-sbatch or empty");
  }
  return c;
}

}  // namespace rtgw::agent
