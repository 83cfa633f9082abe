#ifndef RTGW_CONFIG_SERVE_CONFIG_HPP_
#define RTGW_CONFIG_SERVE_CONFIG_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "config/options.hpp"
#include "config/relay_config.hpp"
#include "config/validator_config.hpp"

namespace rtgw::config {

// Shortest HS256 secret `rtgw serve` accepts without --allow-weak-secret: RFC 7518
// section 3.2 requires a key at least as long as the hash output (256 bits).
inline constexpr std::size_t kMinHs256SecretBytes = 32;

// --migrate: auto = on for SQLite (embedded), off for PostgreSQL.
enum class MigrateSetting { kAuto, kOn, kOff };

// Everything `rtgw serve` is configured with, validated. Built once at
// start-up by LoadServeConfig; immutable afterwards.
struct ServeConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string port_file;  // write the bound port here once listening

  std::string database_url = "sqlite://rtgw.db";
  std::string database_url_source = "RTGW_DATABASE_URL";  // flag or env name, for errors
  bool postgres = false;                                  // postgresql:// or postgres://
  std::string sqlite_path;                                // derived from a sqlite:// database_url
  MigrateSetting migrate = MigrateSetting::kAuto;
  int db_pool_size = 4;
  std::string sqlite_synchronous = "FULL";
  int sqlite_wal_autocheckpoint = 1000;
  int sqlite_page_size = 2048;
  std::string sqlite_checkpoint = "background";  // or "commit"
  int store_reader_threads = 2;
  std::size_t job_cache_entries = 65'536;
  int max_unapplied_events_per_job = 1'000;  // docs/contracts/limits.md "Stored events"

  std::string jwt_hs256_secret;  // >= kMinHs256SecretBytes unless --allow-weak-secret
  std::string jwks_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::chrono::seconds jwt_leeway{60};
  // docs/contracts/jwt.md "Authorization" and "Revocation".
  std::string authz = "compat";                       // or "strict"
  std::chrono::seconds jwt_max_lifetime{30 * 86400};  // 0: no cap
  // How long a revocation without expires_at is kept: jwt_max_lifetime, or
  // 366 days (the longest --max-token-lifetime) when that is 0 (no cap).
  std::chrono::seconds revocation_ttl{30 * 86400};
  std::chrono::milliseconds revocation_poll{1000};
  std::size_t max_revocations_per_tenant = 10'000;

  std::string proxy_auth_key;
  std::string proxy_auth_secret;
  std::string proxy_auth_key_header = "modal-key";        // lowercased
  std::string proxy_auth_secret_header = "modal-secret";  // lowercased

  LogFormat log_format = LogFormat::kJson;
  LogLevel log_level = LogLevel::kInfo;
  bool access_log = true;

  int io_threads = 1;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_peer = 0;  // 0 = no per-address cap
  std::chrono::milliseconds drain_timeout{10'000};

  bool dev = false;  // generate a secret and print a token when none is configured

  RelayConfig relay;           // projection outbox and relay (config/relay_config.hpp)
  ValidatorConfig validators;  // role and validator runs (config/validator_config.hpp)
  // Slurm adapter boundary and management nodes (docs/contracts/slurm-adapter-boundary.md,
  // agent-protocol.md). The adapter settings are validated by slurm_adapter::BuildAdapterSettings
  // once the policy file has been read.
  std::string slurm_adapter = "passthrough";  // ZPE_SLURM_ADAPTER
  std::string queue_policy_file;              // RTGW_QUEUE_POLICY_FILE
  std::string slurm_adapter_owner;            // ZPE_SLURM_ADAPTER_OWNER
  std::string slurm_adapter_expires_at;       // ZPE_SLURM_ADAPTER_EXPIRES_AT
  std::chrono::seconds slurm_catalogue_max_age{120};
  std::chrono::seconds node_stale_after{60};

  // Watching jobs (docs/contracts/http-api.md "Watching jobs", limits.md): api::WatchOptions.
  std::size_t max_watchers = 10'000;
  std::size_t max_watchers_per_tenant = 2'000;
  std::chrono::seconds watch_heartbeat{15};
  std::size_t watch_buffer_bytes = 256 << 10;
  std::chrono::seconds change_retention{3600};  // 0: keep every change

  // Job retention (docs/contracts/retention.md): storage::RetentionRunner.
  int job_retention_days = 0;  // 0: keep every job
  std::string job_archive;     // file:///dir, gs://bucket/prefix, "none"; required with days > 0
  std::chrono::seconds job_retention_interval{3600};
  bool job_retention_include_undelivered = false;
  int job_retention_busy_percent = 25;  // storage::PruneRun::busy_percent

  // Quotas and rate limits (docs/contracts/limits.md): read and checked by `rtgw serve` at start
  // (a bad file refuses to start) and on SIGHUP. Empty: no limits.
  std::string limits_file;
};

// Option table of `rtgw serve` (flags, env names, defaults, help).
const std::vector<OptionSpec>& ServeOptionSpecs();

// Validates parsed options. kInvalidArgument with a message naming the flag or
// env variable and the accepted values.
Result<ServeConfig> BuildServeConfig(const OptionValues& values);

// "host:port" -> parts; IPv6 as "[::1]:8080".
Result<std::pair<std::string, std::uint16_t>> ParseListenAddress(const std::string& text);

// "sqlite://rtgw.db" -> "rtgw.db", "sqlite:///var/lib/rtgw.db" -> "/var/lib/rtgw.db".
Result<std::string> SqlitePathFromUrl(const std::string& url);

}  // namespace rtgw::config

#endif  // RTGW_CONFIG_SERVE_CONFIG_HPP_
