#include "config/serve_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/env_file.hpp"

namespace rtgw::config {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A duration option (ParseDurationSeconds: 3600, 90s, 30m, 12h, 7d) from `min` to `max`; "0"
// too when `zero_ok`. The error names the flag or env variable.
Result<std::chrono::seconds> DurationOption(const OptionValues& v, std::string_view flag,
                                            const std::string& fallback, std::chrono::seconds min,
                                            std::chrono::seconds max, bool zero_ok,
                                            std::string_view example) {
  const std::string text = v.GetOr(flag, fallback);
  const std::optional<long long> seconds =
      zero_ok && text == "0" ? std::optional<long long>(0) : ParseDurationSeconds(text);
  if (!seconds || (*seconds < min.count() && !(zero_ok && *seconds == 0)) ||
      *seconds > max.count()) {
    return InvalidArgument(v.Source(flag) + ": must be a duration " + std::string(example) +
                           (zero_ok ? " or 0" : ""));
  }
  return std::chrono::seconds(*seconds);
}

constexpr std::chrono::seconds k366Days{366LL * 86400};

}  // namespace

// The options of `rtgw serve` itself, before the shared relay options.
const std::vector<OptionSpec>& ServeOnlyOptionSpecs();

const std::vector<OptionSpec>& ServeOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = [] {
    std::vector<OptionSpec> specs = ServeOnlyOptionSpecs();
    const std::vector<OptionSpec>& relay = RelayOptionSpecs();
    specs.insert(specs.end(), relay.begin(), relay.end());
    const std::vector<OptionSpec>& validators = ValidatorOptionSpecs();
    specs.insert(specs.end(), validators.begin(), validators.end());
    return specs;
  }();
  return kSpecs;
}

const std::vector<OptionSpec>& ServeOnlyOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = {
      {"listen", "RTGW_LISTEN", "127.0.0.1:8080",
       "Address to listen on, host:port ([::1]:port for IPv6; port 0 picks a free port)."},
      {"port-file", "RTGW_PORT_FILE", "",
       "Write the bound port to this file once listening (for scripts using port 0)."},
      {"database-url", "RTGW_DATABASE_URL", "sqlite://rtgw.db",
       "Store: sqlite://relative/path.db or sqlite:///absolute/path.db (embedded SQLite, WAL, "
       "one process per file), or postgresql://user:password@host:port/dbname (also "
       "postgres://; several rtgw serve replicas may share it)."},
      {"migrate", "RTGW_MIGRATE", "auto",
       "Apply pending schema migrations at start: on, off (refuse to start on a schema that is "
       "behind; run 'rtgw migrate'), or auto (on for sqlite://, off for postgresql://). A "
       "schema newer than this build is always refused."},
      {"db-pool-size", "RTGW_DB_POOL_SIZE", "4",
       "PostgreSQL: connections (= store threads) of this process (1-64)."},
      {"sqlite-synchronous", "RTGW_SQLITE_SYNCHRONOUS", "FULL",
       "SQLite PRAGMA synchronous: FULL (durable acks, default), EXTRA, or NORMAL (faster, "
       "may lose the last acknowledged writes on power loss)."},
      {"sqlite-wal-autocheckpoint", "RTGW_SQLITE_WAL_AUTOCHECKPOINT", "1000",
       "SQLite: WAL pages (of --sqlite-page-size each) after which the WAL is copied back into "
       "the database file (0-1000000, 0 = only at shutdown; the -wal file then grows until "
       "then)."},
      {"sqlite-page-size", "RTGW_SQLITE_PAGE_SIZE", "2048",
       "SQLite: page size in bytes of a NEW database file (512-65536, a power of two); an "
       "existing file keeps its own. Smaller pages mean fewer WAL bytes per commit (each "
       "commit rewrites the last leaf page of every index it appends to)."},
      {"sqlite-checkpoint", "RTGW_SQLITE_CHECKPOINT", "background",
       "SQLite: who copies the WAL back. background (default): a thread of its own, beside "
       "the writer; the writer only rewinds the WAL every 4x the pages above, so the -wal file "
       "stays near 8 MiB by default (16 MiB on 4 KiB pages). commit: SQLite's PRAGMA "
       "wal_autocheckpoint, run by the "
       "commit that crosses the mark (that batch waits for the copy and its fsync)."},
      {"store-reader-threads", "RTGW_STORE_READER_THREADS", "2",
       "Threads serving reads, each with its own connection (1-64)."},
      {"job-cache-entries", "RTGW_JOB_CACHE_ENTRIES", "65536",
       "SQLite: jobs whose committed state is kept in memory (LRU) so GET job/projection are "
       "answered without a database read; 0 disables (0-10000000). Not used with PostgreSQL "
       "(other replicas change rows; every read goes to the database)."},
      {"max-unapplied-events-per-job", "RTGW_MAX_UNAPPLIED_EVENTS_PER_JOB", "1000",
       "Events a job may hold that were never applied (late or duplicate states, 1-1000000); one "
       "more is refused (409 event_limit). Applied events and replays are never refused."},
      {"jwt-hs256-secret", "RTGW_JWT_HS256_SECRET", "",
       "Shared secret for HS256 bearer tokens: at least 32 bytes (RFC 7518 section 3.2 asks for a "
       "key as long as the hash, 256 bits); a shorter one refuses to start. 'rtgw dev secrets' "
       "makes one.",
       false, true},
      {"allow-weak-secret", "RTGW_ALLOW_WEAK_SECRET", "",
       "Accept an HS256 secret shorter than 32 bytes (tests and throwaway set-ups only: a short "
       "secret can be brute-forced from one token).",
       true},
      {"jwks-file", "RTGW_JWKS_FILE", "",
       "JWKS file with RS256/ES256 public keys (selected by kid) for bearer tokens."},
      {"jwt-issuer", "RTGW_JWT_ISSUER", "", "Required 'iss' claim, checked when set."},
      {"jwt-audience", "RTGW_JWT_AUDIENCE", "", "Required 'aud' claim, checked when set."},
      {"jwt-leeway-seconds", "RTGW_JWT_LEEWAY_SECONDS", "60",
       "Clock skew allowed on exp/nbf/iat, seconds (0-300)."},
      {"authz", "RTGW_AUTHZ", "compat",
       "What a product token without a 'scope' claim may do: compat (submit, read, events, "
       "cancel, validate in its tenant) or strict (submit, read and cancel of its own user's "
       "jobs). Subject and node binding apply in both (docs/contracts/jwt.md)."},
      {"max-token-lifetime", "RTGW_JWT_MAX_LIFETIME", "30d",
       "Longest token lifetime accepted: a token whose exp is further away is refused; also how "
       "long a revocation without expires_at is kept (e.g. 12h, 30d; 0 = no cap, then such "
       "revocations are kept 366d)."},
      {"revocation-poll-ms", "RTGW_REVOCATION_POLL_MS", "1000",
       "How often each replica reloads token revocations from the store (100-5000)."},
      {"max-revocations-per-tenant", "RTGW_MAX_REVOCATIONS_PER_TENANT", "10000",
       "Live token revocations a tenant may hold (1-1000000); one more is refused (422)."},
      {"proxy-auth-key", "RTGW_PROXY_AUTH_KEY", "",
       "When set with --proxy-auth-secret, every request but /api/health must carry the proxy "
       "key and secret headers.",
       false, true},
      {"proxy-auth-secret", "RTGW_PROXY_AUTH_SECRET", "", "Proxy-auth secret (see above).", false,
       true},
      {"proxy-auth-key-header", "RTGW_PROXY_AUTH_KEY_HEADER", "Modal-Key",
       "Header carrying the proxy-auth key."},
      {"proxy-auth-secret-header", "RTGW_PROXY_AUTH_SECRET_HEADER", "Modal-Secret",
       "Header carrying the proxy-auth secret."},
      {"log-format", "RTGW_LOG_FORMAT", "json", "Log format on stderr: json or text."},
      {"log-level", "RTGW_LOG_LEVEL", "info", "Minimum log level: debug, info, warn, error."},
      {"access-log", "RTGW_ACCESS_LOG", "on", "One log line per request: on or off."},
      {"io-threads", "RTGW_IO_THREADS", "1",
       "HTTP I/O threads (1-64). Store work runs on its own threads, never on these."},
      {"max-body-bytes", "RTGW_MAX_BODY_BYTES", "1048576",
       "Largest request body accepted; larger gets 413 (1 KiB - 64 MiB)."},
      {"max-header-bytes", "RTGW_MAX_HEADER_BYTES", "16384",
       "Largest request line plus header fields accepted; larger gets 431 (1 KiB - 1 MiB)."},
      {"read-timeout-ms", "RTGW_READ_TIMEOUT_MS", "10000",
       "A request must be fully received within this time, else 408; a new connection's first "
       "byte must arrive within it too (50-600000)."},
      {"idle-timeout-ms", "RTGW_IDLE_TIMEOUT_MS", "60000",
       "A keep-alive connection waiting for its next request is closed after this (100-3600000)."},
      {"max-connections", "RTGW_MAX_CONNECTIONS", "10000",
       "Open connections (1-1000000). At the cap a new connection closes the longest-idle one "
       "(no request in progress); it is refused only when none is idle."},
      {"max-connections-per-peer", "RTGW_MAX_CONNECTIONS_PER_PEER", "0",
       "Open connections per client IP address, 0 = no cap (0-1000000); at it, the same "
       "eviction applies among that address's connections."},
      {"drain-timeout-ms", "RTGW_DRAIN_TIMEOUT_MS", "10000",
       "On SIGTERM, wait at most this long for in-flight requests (0-600000)."},
      {"slurm-adapter", "ZPE_SLURM_ADAPTER", "passthrough",
       "Slurm adapter boundary mode: passthrough (queue as requested), stub-policy (queue policy "
       "file) or real-policy (policy file + the node's live Slurm catalogue)."},
      {"queue-policy-file", "RTGW_QUEUE_POLICY_FILE", "",
       "Queue policy (JSON: queues -> {partition, account, qos, max_walltime_minutes}, "
       "fallback_queue, tenants allow/deny, limits); required by stub-policy and real-policy."},
      {"slurm-adapter-owner", "ZPE_SLURM_ADAPTER_OWNER", "",
       "Rollback owner: who switched the adapter away from real-policy (set with the expiry)."},
      {"slurm-adapter-expires-at", "ZPE_SLURM_ADAPTER_EXPIRES_AT", "",
       "Rollback expiry (RFC 3339); /api/health turns degraded once it has passed."},
      {"slurm-catalogue-max-age-seconds", "RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS", "120",
       "real-policy: a node's Slurm catalogue older than this gets 503 slurm_unavailable "
       "(1-86400)."},
      {"node-stale-after-seconds", "RTGW_NODE_STALE_AFTER_SECONDS", "60",
       "A management node whose last heartbeat is older than this is shown stale (5-86400)."},
      {"max-watchers", "RTGW_MAX_WATCHERS", "10000",
       "Watch streams (GET /api/runtime/jobs:watch) and projection long polls open at once in "
       "this process (1-1000000); one more gets 429 too_many_watchers."},
      {"max-watchers-per-tenant", "RTGW_MAX_WATCHERS_PER_TENANT", "2000",
       "The same, per tenant (1-1000000)."},
      {"watch-heartbeat", "RTGW_WATCH_HEARTBEAT", "15s",
       "A ': keepalive' comment on every watch stream this often, so proxies and clients see a "
       "live connection (1s-1h; e.g. 15s, 1m)."},
      {"watch-buffer-bytes", "RTGW_WATCH_BUFFER_BYTES", "262144",
       "Bytes queued for one watch stream whose client reads slower than its events arrive "
       "(4096-67108864); beyond, the stream is closed and the client resumes with "
       "Last-Event-ID."},
      {"change-retention", "RTGW_CHANGE_RETENTION", "1h",
       "How long job changes are kept for watches to resume from (e.g. 10m, 1h, 7d; up to 366d; "
       "0 = forever). A cursor older than this gets 410 cursor_expired."},
      {"job-retention-days", "RTGW_JOB_RETENTION_DAYS", "0",
       "Finished jobs (completed, failed, cancelled) whose last change is older than this many "
       "days, and whose projection was delivered, are archived (--job-archive) and deleted with "
       "their events by a background runner (0-36500; 0 = keep forever; "
       "docs/contracts/retention.md)."},
      {"job-archive", "RTGW_JOB_ARCHIVE", "",
       "Where --job-retention-days writes pruned jobs before deleting them: file:///abs/dir, "
       "gs://bucket/prefix (with the --gcs-endpoint / Google token flags of validator storage), "
       "or none (delete without an archive). Required with --job-retention-days."},
      {"job-retention-interval", "RTGW_JOB_RETENTION_INTERVAL", "1h",
       "How often the retention runner walks the jobs (1s-7d; e.g. 10m, 1h)."},
      {"job-retention-busy-percent", "RTGW_JOB_RETENTION_BUSY_PERCENT", "25",
       "Pacing of a job walk: after each read, archive write and delete write it sleeps so "
       "that it is busy at most this share of the time (1-100; 100 = no pacing; "
       "docs/contracts/retention.md \"Pacing\")."},
      {"job-retention-include-undelivered", "RTGW_JOB_RETENTION_INCLUDE_UNDELIVERED", "",
       "Also prune jobs whose ProjectionUpdate is undelivered or dead-lettered, deleting their "
       "outbox rows: for a deployment without a relay (PostgreSQL writes outbox rows always).",
       true},
      {"limits-file", "RTGW_LIMITS_FILE", "",
       "Per-tenant quotas and request rates (JSON: default and tenants -> max_active_jobs, "
       "max_active_jobs_per_user, requests_per_second, burst; docs/contracts/limits.md). A bad "
       "file refuses to start; SIGHUP re-reads it (a bad file then keeps the limits in force). "
       "Empty: no limits."},
      {"dev", "RTGW_DEV", "",
       "Development mode: without a configured secret, generate one and print it with a "
       "ready-to-use token for tenant 'dev-tenant'.",
       true},
  };
  return kSpecs;
}

Result<std::pair<std::string, std::uint16_t>> ParseListenAddress(const std::string& text) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("listen address '" + text + "' is not [ipv6]:port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgument("listen address '" + text + "' is not host:port");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    return InvalidArgument("listen address '" + text + "' has an invalid port");
  }
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

Result<std::string> SqlitePathFromUrl(const std::string& url) {
  static constexpr std::string_view kPrefix = "sqlite://";
  if (url.rfind(kPrefix, 0) != 0) {
    return InvalidArgument(
        "database URL is not supported; use sqlite://relative.db, "
        "sqlite:///abs.db or postgresql://user:password@host:port/dbname");
  }
  std::string path = url.substr(kPrefix.size());
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  if (path.empty() || path == ":memory:") {
    return InvalidArgument("database URL '" + url + "' needs a file path");
  }
  return path;
}

Result<ServeConfig> BuildServeConfig(const OptionValues& v) {
  ServeConfig c;
  auto listen = ParseListenAddress(v.GetOr("listen", ""));
  if (!listen) return InvalidArgument(v.Source("listen") + ": " + listen.error().message);
  c.listen_host = listen->first;
  c.listen_port = listen->second;
  c.port_file = v.GetOr("port-file", "");

  c.database_url = v.GetOr("database-url", "");
  c.database_url_source = v.Source("database-url");
  if (c.database_url.starts_with("postgresql://") || c.database_url.starts_with("postgres://")) {
    c.postgres = true;  // the store factory checks the rest of the URL (libpq's parser)
  } else {
    auto path = SqlitePathFromUrl(c.database_url);
    if (!path) return InvalidArgument(v.Source("database-url") + ": " + path.error().message);
    c.sqlite_path = *path;
  }
  const std::string migrate = Lower(v.GetOr("migrate", "auto"));
  if (migrate == "on" || migrate == "true" || migrate == "1") {
    c.migrate = MigrateSetting::kOn;
  } else if (migrate == "off" || migrate == "false" || migrate == "0") {
    c.migrate = MigrateSetting::kOff;
  } else if (migrate == "auto") {
    c.migrate = MigrateSetting::kAuto;
  } else {
    return InvalidArgument(v.Source("migrate") + ": expected on, off or auto, got '" + migrate +
                           "'");
  }
  if (Status st = ParseIntOptions(v, {{"db-pool-size", 1, 64, &c.db_pool_size}}); !st.ok()) {
    return st.error();
  }
  c.sqlite_synchronous = v.GetOr("sqlite-synchronous", "FULL");
  std::transform(c.sqlite_synchronous.begin(), c.sqlite_synchronous.end(),
                 c.sqlite_synchronous.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (c.sqlite_synchronous != "FULL" && c.sqlite_synchronous != "EXTRA" &&
      c.sqlite_synchronous != "NORMAL") {
    return InvalidArgument(v.Source("sqlite-synchronous") + ": expected FULL, EXTRA or NORMAL");
  }
  if (Status st = ParseIntOptions(
          v, {{"sqlite-wal-autocheckpoint", 0, 1'000'000, &c.sqlite_wal_autocheckpoint},
              {"sqlite-page-size", 512, 65'536, &c.sqlite_page_size}});
      !st.ok()) {
    return st.error();
  }
  if ((c.sqlite_page_size & (c.sqlite_page_size - 1)) != 0) {
    return InvalidArgument(v.Source("sqlite-page-size") + ": expected a power of two");
  }
  c.sqlite_checkpoint = v.GetOr("sqlite-checkpoint", "background");
  if (c.sqlite_checkpoint != "background" && c.sqlite_checkpoint != "commit") {
    return InvalidArgument(v.Source("sqlite-checkpoint") + ": expected background or commit");
  }
  if (Status st = ParseIntOptions(
          v, {{"store-reader-threads", 1, 64, &c.store_reader_threads},
              {"job-cache-entries", 0, 10'000'000, &c.job_cache_entries},
              {"max-unapplied-events-per-job", 1, 1'000'000, &c.max_unapplied_events_per_job}});
      !st.ok()) {
    return st.error();
  }

  c.jwt_hs256_secret = v.GetOr("jwt-hs256-secret", "");
  c.jwks_file = v.GetOr("jwks-file", "");
  c.jwt_issuer = v.GetOr("jwt-issuer", "");
  c.jwt_audience = v.GetOr("jwt-audience", "");
  if (Status st = ParseIntOptions(
          v, {{"jwt-leeway-seconds", 0, 300, &c.jwt_leeway},
              {"revocation-poll-ms", 100, 5000, &c.revocation_poll},
              {"max-revocations-per-tenant", 1, 1'000'000, &c.max_revocations_per_tenant}});
      !st.ok()) {
    return st.error();
  }
  c.authz = v.GetOr("authz", "compat");
  if (c.authz != "compat" && c.authz != "strict") {
    return InvalidArgument(v.Source("authz") + ": must be compat or strict");
  }
  {
    auto lifetime = DurationOption(v, "max-token-lifetime", "30d", std::chrono::seconds(0),
                                   k366Days, true, "up to 366d (e.g. 3600, 12h, 30d)");
    if (!lifetime) return lifetime.error();
    c.jwt_max_lifetime = *lifetime;
    c.revocation_ttl = lifetime->count() > 0 ? *lifetime : k366Days;
  }
  c.dev = v.Switch("dev");
  if (!c.jwt_hs256_secret.empty() && c.jwt_hs256_secret.size() < kMinHs256SecretBytes &&
      !v.Switch("allow-weak-secret")) {
    return InvalidArgument(
        v.Source("jwt-hs256-secret") + ": the HS256 secret is " +
        std::to_string(c.jwt_hs256_secret.size()) + " bytes; at least " +
        std::to_string(kMinHs256SecretBytes) +
        " are needed (RFC 7518 section 3.2: a key as long as the SHA-256 output), since anyone "
        "with one token can try short secrets offline. Make one with 'rtgw dev secrets' (or 32 "
        "bytes from /dev/urandom); --allow-weak-secret (RTGW_ALLOW_WEAK_SECRET=1) accepts it for "
        "tests.");
  }
  if (c.jwt_hs256_secret.empty() && c.jwks_file.empty() && !c.dev) {
    return InvalidArgument(
        "no token verification configured: set RTGW_JWT_HS256_SECRET (--jwt-hs256-secret) "
        "and/or RTGW_JWKS_FILE (--jwks-file), or run with --dev to generate a dev secret");
  }

  c.proxy_auth_key = v.GetOr("proxy-auth-key", "");
  c.proxy_auth_secret = v.GetOr("proxy-auth-secret", "");
  if (c.proxy_auth_key.empty() != c.proxy_auth_secret.empty()) {
    return InvalidArgument(
        "proxy auth needs both RTGW_PROXY_AUTH_KEY and RTGW_PROXY_AUTH_SECRET (only one is set)");
  }
  c.proxy_auth_key_header = Lower(v.GetOr("proxy-auth-key-header", "Modal-Key"));
  c.proxy_auth_secret_header = Lower(v.GetOr("proxy-auth-secret-header", "Modal-Secret"));
  if (c.proxy_auth_key_header.empty() || c.proxy_auth_secret_header.empty()) {
    return InvalidArgument("proxy-auth header names must not be empty");
  }

  if (Status st = ParseLogOptions(v, &c.log_format, &c.log_level); !st.ok()) return st.error();
  const std::string access = v.GetOr("access-log", "on");
  if (access != "on" && access != "off") {
    return InvalidArgument(v.Source("access-log") + ": expected on or off");
  }
  c.access_log = access == "on";

  if (Status st = ParseIntOptions(
          v, {{"io-threads", 1, 64, &c.io_threads},
              {"max-body-bytes", 1024, 64LL << 20, &c.max_body_bytes},
              {"max-header-bytes", 1024, 1 << 20, &c.max_header_bytes},
              {"read-timeout-ms", 50, 600'000, &c.read_timeout},
              {"idle-timeout-ms", 100, 3'600'000, &c.idle_timeout},
              {"max-connections", 1, 1'000'000, &c.max_connections},
              {"max-connections-per-peer", 0, 1'000'000, &c.max_connections_per_peer},
              {"drain-timeout-ms", 0, 600'000, &c.drain_timeout}});
      !st.ok()) {
    return st.error();
  }
  auto relay = BuildRelayConfig(v);
  if (!relay) return relay.error();
  c.relay = std::move(relay).value();
  auto validators = BuildValidatorConfig(v);
  if (!validators) return validators.error();
  c.validators = std::move(validators).value();

  c.slurm_adapter = v.GetOr("slurm-adapter", "passthrough");
  c.queue_policy_file = v.GetOr("queue-policy-file", "");
  c.slurm_adapter_owner = v.GetOr("slurm-adapter-owner", "");
  c.slurm_adapter_expires_at = v.GetOr("slurm-adapter-expires-at", "");
  if (Status st = ParseIntOptions(
          v, {{"slurm-catalogue-max-age-seconds", 1, 86'400, &c.slurm_catalogue_max_age},
              {"node-stale-after-seconds", 5, 86'400, &c.node_stale_after}});
      !st.ok()) {
    return st.error();
  }

  if (Status st =
          ParseIntOptions(v, {{"max-watchers", 1, 1'000'000, &c.max_watchers},
                              {"max-watchers-per-tenant", 1, 1'000'000, &c.max_watchers_per_tenant},
                              {"watch-buffer-bytes", 4096, 64LL << 20, &c.watch_buffer_bytes}});
      !st.ok()) {
    return st.error();
  }
  auto heartbeat = DurationOption(v, "watch-heartbeat", "15s", std::chrono::seconds(1),
                                  std::chrono::seconds(3600), false, "from 1s to 1h (e.g. 15s)");
  if (!heartbeat) return heartbeat.error();
  c.watch_heartbeat = *heartbeat;
  auto retention = DurationOption(v, "change-retention", "1h", std::chrono::seconds(1), k366Days,
                                  true, "up to 366d (e.g. 10m, 1h, 7d)");
  if (!retention) return retention.error();
  c.change_retention = *retention;
  if (Status st = ParseIntOptions(v, {{"job-retention-days", 0, 36'500, &c.job_retention_days}});
      !st.ok()) {
    return st.error();
  }
  c.job_archive = v.GetOr("job-archive", "");
  if (c.job_retention_days > 0 && c.job_archive.empty()) {
    return InvalidArgument(v.Source("job-retention-days") +
                           " needs --job-archive (file:///abs/dir, gs://bucket/prefix, or none to "
                           "delete pruned jobs without an archive)");
  }
  if (!c.job_archive.empty() && c.job_archive != "none" &&
      c.job_archive.rfind("file:///", 0) != 0 && c.job_archive.rfind("gs://", 0) != 0) {
    return InvalidArgument(v.Source("job-archive") +
                           ": expected file:///abs/dir, gs://bucket/prefix or none");
  }
  auto job_interval =
      DurationOption(v, "job-retention-interval", "1h", std::chrono::seconds(1),
                     std::chrono::seconds(7 * 86'400), false, "from 1s to 7d (e.g. 10m, 1h)");
  if (!job_interval) return job_interval.error();
  c.job_retention_interval = *job_interval;
  c.job_retention_include_undelivered = v.Switch("job-retention-include-undelivered");
  if (Status st = ParseIntOptions(
          v, {{"job-retention-busy-percent", 1, 100, &c.job_retention_busy_percent}});
      !st.ok()) {
    return st.error();
  }
  c.limits_file = v.GetOr("limits-file", "");
  return c;
}

}  // namespace rtgw::config
