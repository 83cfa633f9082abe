#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "api/gateway.hpp"
#include "api/job_watch.hpp"
#include "api/rate_limiter.hpp"
#include "api/revocation_poller.hpp"
#include "api/schemas.hpp"
#include "api/tenant_limits.hpp"
#include "app/commands.hpp"
#include "app/job_archive.hpp"
#include "app/relay_wiring.hpp"
#include "app/validator_wiring.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/random.hpp"
#include "common/read_file.hpp"
#include "config/serve_config.hpp"
#include "crypto/crypto.hpp"
#include "http/server.hpp"
#include "relay/projection_relay.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/open_store.hpp"
#include "storage/retention_runner.hpp"

namespace rtgw::app {
namespace {

// Every connection is a file descriptor. Raise the soft RLIMIT_NOFILE to make room for
// `wanted` connections plus a reserve (store files and connections, relay and validator
// sockets, logs); when the hard limit is lower, lower the cap to fit, so the server evicts idle
// connections at the cap instead of accept() failing with EMFILE (which evicts nothing).
std::size_t FitConnectionsToFileLimit(std::size_t wanted) {
  constexpr rlim_t kReserve = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  const rlim_t needed = static_cast<rlim_t>(wanted) + kReserve;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return wanted;
  const std::size_t fitted =
      limit.rlim_cur > kReserve + 1 ? static_cast<std::size_t>(limit.rlim_cur - kReserve) : 1;
  LogWarn(
      "max_connections lowered to fit the open-file limit (raise it with ulimit -n or "
      "LimitNOFILE=)",
      {{"max_connections", wanted},
       {"effective", fitted},
       {"nofile_limit", static_cast<long long>(limit.rlim_cur)}});
  return fitted;
}

constexpr const char* kServeUsage = "rtgw serve [options]";
constexpr const char* kServeDescription =
    "Runs the gateway HTTP API: POST /api/runtime/jobs:submit, POST "
    "/api/runtime/jobs/{id}/events,\n"
    "GET /api/runtime/jobs/{id}[/detail|/projection], GET /api/health, GET /metrics,\n"
    "GET /api/openapi.json, the management-node routes /api/runtime/nodes/{node_id}/...,\n"
    "POST /api/runtime/jobs/{id}:cancel and POST /api/onboarding/dry-run; listing and\n"
    "watching jobs: GET /api/runtime/jobs, GET /api/runtime/jobs:watch (Server-Sent Events);\n"
    "validation runs:\n"
    "POST /api/runtime/validations:launch, GET /api/runtime/validations/{id},\n"
    "POST /api/runtime/validations/{id}:rerun (role web), POST /internal/validations/callback\n"
    "(role worker; docs/contracts/validator-callback.md).\n"
    "Every option can also be set with the environment variable shown: RTGW_<NAME> for most;\n"
    "APP_ROLE, MEDIA_ROOT and ZPE_SLURM_ADAPTER, ZPE_SLURM_ADAPTER_OWNER and\n"
    "ZPE_SLURM_ADAPTER_EXPIRES_AT keep the names the source documents give them.\n"
    "Bearer tokens need tenant_id and sub claims (see docs/contracts/jwt.md); node tokens\n"
    "also carry node_id (docs/contracts/agent-protocol.md). Submits pass the Slurm adapter\n"
    "boundary (docs/contracts/slurm-adapter-boundary.md).";

// Writes the port atomically (temp file + rename) so a watcher never reads a
// half-written number.
Status WritePortFile(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return InvalidArgument("cannot write port file " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return InvalidArgument("cannot rename port file to " + path);
  }
  return Ok{};
}

void ReloadLimits(const std::string& path, api::LiveTenantLimits& limits) {
  auto loaded = api::LoadTenantLimitsFile(path);
  if (!loaded) {
    LogError("limits file not reloaded; the previous limits stay in force",
             {{"limits_file", path}, {"error", loaded.error().message}});
    return;
  }
  LogInfo("limits file reloaded", {{"limits_file", path}, {"tenants", loaded->tenant_count()}});
  limits.Replace(std::move(loaded).value());
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "rtgw serve: %s\n", message.c_str());
  return 2;
}

// The server binds before the store is opened, so a busy port leaves no new database behind;
// the gateway it serves is built after that. Run() accepts nothing before Set().
class DeferredHandler final : public http::Handler {
 public:
  void Set(http::Handler* target) { target_ = target; }
  void Handle(http::Request request, http::Respond respond) override {
    target_->Handle(std::move(request), std::move(respond));
  }
  http::Response MakeProtocolError(int status, std::string_view code, std::string_view message,
                                   const http::Request& partial) override {
    return target_->MakeProtocolError(status, code, message, partial);
  }
  void OnDrain() override { target_->OnDrain(); }

 private:
  http::Handler* target_ = nullptr;
};

}  // namespace

// Order: every setting and file is checked, then the port is bound, and only then is anything
// created (the database, MEDIA_ROOT, the relay's threads). --dev prints its export lines last,
// once everything has started, so a failed start never prints a token for a server that is not
// there.
int RunServe(const std::vector<std::string>& args) {
  if (config::PrintHelpIfAsked(args, kServeUsage, kServeDescription, config::ServeOptionSpecs())) {
    return 0;
  }
  auto values = config::ParseOptionsOrReport("rtgw serve", args, config::ServeOptionSpecs());
  if (!values) return 2;
  auto cfg_or = config::BuildServeConfig(*values);
  if (!cfg_or) return Fail(cfg_or.error().message);
  config::ServeConfig cfg = std::move(cfg_or).value();
  Logger::Configure(cfg.log_format, cfg.log_level);
  // Request threads append log lines to a buffer written out every 5 ms
  // (warn/error at once); flushed on every way out of this function.
  LogBuffering log_buffering(std::chrono::milliseconds(5));

  const bool dev_secret = cfg.dev && cfg.jwt_hs256_secret.empty();
  if (dev_secret) cfg.jwt_hs256_secret = RandomHex(32);

  auth::JwtVerifierOptions vopts;
  vopts.hs256_secret = cfg.jwt_hs256_secret;
  if (!cfg.jwks_file.empty()) {
    auto jwks = ReadFileText(cfg.jwks_file);
    if (!jwks) return Fail("RTGW_JWKS_FILE: cannot read " + cfg.jwks_file);
    vopts.jwks_json = std::move(*jwks);
  }
  vopts.issuer = cfg.jwt_issuer;
  vopts.audience = cfg.jwt_audience;
  vopts.leeway = cfg.jwt_leeway;
  vopts.max_lifetime = cfg.jwt_max_lifetime;
  auto verifier = auth::JwtVerifier::Create(std::move(vopts));
  if (!verifier) return Fail("token verification: " + verifier.error().message);

  // The Slurm adapter boundary: a bad mode, policy or rollback setting
  // refuses to start, naming the setting.
  slurm_adapter::AdapterInputs ainputs;
  ainputs.mode = cfg.slurm_adapter;
  ainputs.policy_path = cfg.queue_policy_file;
  if (!cfg.queue_policy_file.empty()) {
    if (auto text = ReadFileText(cfg.queue_policy_file)) ainputs.policy_text = std::move(*text);
  }
  ainputs.owner = cfg.slurm_adapter_owner;
  ainputs.expires_at = cfg.slurm_adapter_expires_at;
  ainputs.catalogue_max_age = cfg.slurm_catalogue_max_age;
  auto adapter = slurm_adapter::BuildAdapterSettings(ainputs);
  if (!adapter) return Fail(adapter.error().message);
  if (adapter->policy) adapter->policy->sha256 = crypto::Sha256Hex(*ainputs.policy_text);

  // Quotas and rate limits: a bad file refuses to start, naming the path and the field.
  api::LiveTenantLimits limits;
  if (!cfg.limits_file.empty()) {
    auto loaded = api::LoadTenantLimitsFile(cfg.limits_file);
    if (!loaded) return Fail(values->Source("limits-file") + ": " + loaded.error().message);
    LogInfo("limits file loaded",
            {{"limits_file", cfg.limits_file}, {"tenants", loaded->tenant_count()}});
    limits.Replace(std::move(loaded).value());
  }
  SteadyClock steady_clock;
  api::RateLimiter rate_limiter(steady_clock);

  // Validator runs: the registry, keys and trust are checked now; storage and stores attach
  // once the port is bound and the store is open.
  Result<std::unique_ptr<ValidatorStack>> validator_stack = PrepareValidatorStack(cfg.validators);
  if (!validator_stack) return Fail(validator_stack.error().message);

  DeferredHandler handler;
  http::ServerOptions hopts;
  hopts.host = cfg.listen_host;
  hopts.port = cfg.listen_port;
  hopts.io_threads = cfg.io_threads;
  hopts.body_limit_bytes = cfg.max_body_bytes;
  hopts.header_limit_bytes = cfg.max_header_bytes;
  hopts.read_timeout = cfg.read_timeout;
  hopts.idle_timeout = cfg.idle_timeout;
  hopts.max_connections = cfg.max_connections;
  hopts.max_connections_per_peer = cfg.max_connections_per_peer;
  // The API's own single-value fields: the tenant header and the proxy-auth pair.
  hopts.single_value_headers.push_back("x-tenant-id");
  hopts.single_value_headers.push_back(cfg.proxy_auth_key_header);
  hopts.single_value_headers.push_back(cfg.proxy_auth_secret_header);
  hopts.single_value_headers.push_back("last-event-id");  // jobs:watch resumes from one id
  hopts.drain_timeout = cfg.drain_timeout;
  hopts.max_connections = FitConnectionsToFileLimit(hopts.max_connections);
  // The longest long poll (projection timeout_s) answers before the handler timeout; 15 s
  // leave room for its last store read.
  hopts.handler_timeout = std::max<std::chrono::milliseconds>(
      hopts.handler_timeout,
      std::chrono::seconds(api::schema::kTimeoutS.max) + std::chrono::seconds(15));
  // Destroyed explicitly at the end, before the gateway and the store it serves.
  auto server = std::make_unique<http::Server>(hopts, handler);
  if (!cfg.limits_file.empty()) {
    // SIGHUP re-reads the limits file: a good one replaces the limits whole, a bad one keeps
    // those in force.
    server->SetHangupHandler([&limits, path = cfg.limits_file] { ReloadLimits(path, limits); });
  }
  if (auto s = server->Listen(); !s) return Fail(s.error().message);

  const auto rollback =
      slurm_adapter::GetRollbackStatus(*adapter, std::chrono::system_clock::now());
  LogInfo("slurm adapter boundary configured",
          {{"slurm_adapter", slurm_adapter::ToString(adapter->mode)},
           {"slurm_contract_version", slurm_adapter::kContractVersion},
           {"policy_file", adapter->policy_path},
           {"policy_sha256", adapter->policy ? adapter->policy->sha256 : std::string()},
           {"rollback_owner", adapter->rollback_owner},
           {"rollback_expires_at", adapter->rollback_expires_at_text}});
  if (rollback.expired) {
    LogWarn("slurm adapter rollback has expired: reset ZPE_SLURM_ADAPTER or extend the expiry",
            {{"slurm_adapter", slurm_adapter::ToString(adapter->mode)},
             {"rollback_owner", adapter->rollback_owner},
             {"rollback_expires_at", adapter->rollback_expires_at_text}});
  }

  MetricsRegistry metrics;
  storage::StoreOptions sopts;
  sopts.url = cfg.database_url;
  sopts.migrate = cfg.migrate == config::MigrateSetting::kOn    ? storage::MigrateMode::kAlways
                  : cfg.migrate == config::MigrateSetting::kOff ? storage::MigrateMode::kNever
                                                                : storage::MigrateMode::kAuto;
  sopts.sqlite_synchronous = cfg.sqlite_synchronous;
  sopts.sqlite_wal_autocheckpoint_pages = cfg.sqlite_wal_autocheckpoint;
  sopts.sqlite_page_size = cfg.sqlite_page_size;
  sopts.sqlite_background_checkpoint = cfg.sqlite_checkpoint == "background";
  sopts.reader_threads = cfg.store_reader_threads;
  sopts.job_cache_entries = cfg.job_cache_entries;
  sopts.write_outbox = cfg.relay.outbox;
  sopts.pool_size = cfg.db_pool_size;
  const std::string store_name = storage::RedactDatabaseUrl(cfg.database_url);
  auto store = storage::OpenStore(sopts, &metrics);
  if (!store) {
    if (store.error().code == ErrorCode::kInvalidArgument) {
      return Fail(cfg.database_url_source + ": " + store.error().message);
    }
    return Fail("store " + store_name + ": " + store.error().message);
  }

  std::unique_ptr<relay::ProjectionRelay> projection_relay;
  // The relay is worker work: a web-role process never runs it.
  if (cfg.relay.relay_enabled() && cfg.validators.serve_internal()) {
    if (store->outbox == nullptr) return Fail("the " + store->backend + " store has no outbox");
    auto created =
        relay::ProjectionRelay::Create(ToRelayOptions(cfg.relay), *store->outbox, &metrics);
    if (!created) return Fail("RTGW_PROJECTION_URL/--projection-url: " + created.error().message);
    projection_relay = std::move(created).value();
    store->outbox->SetOutboxListener([r = projection_relay.get()] { r->Wake(); });
    if (auto s = projection_relay->Start(); !s) return Fail(s.error().message);
  }

  api::GatewayOptions gopts;
  gopts.version = kVersion;
  gopts.proxy_auth_key = cfg.proxy_auth_key;
  gopts.proxy_auth_secret = cfg.proxy_auth_secret;
  gopts.proxy_auth_key_header = cfg.proxy_auth_key_header;
  gopts.proxy_auth_secret_header = cfg.proxy_auth_secret_header;
  gopts.access_log = cfg.access_log;
  gopts.outbox = store->outbox;
  if (projection_relay) {
    gopts.health_checks.push_back({"projection_relay", RelayHealthCheck(*projection_relay)});
  }
  gopts.serve_public = cfg.validators.serve_public();
  gopts.serve_internal = cfg.validators.serve_internal();
  LateValidatorEndpoints validator_endpoints;
  gopts.validators = &validator_endpoints;
  gopts.nodes.stale_after = cfg.node_stale_after;
  gopts.authz = cfg.authz == "strict" ? auth::AuthzMode::kStrict : auth::AuthzMode::kCompat;
  gopts.revocation_default_ttl = cfg.revocation_ttl;
  gopts.max_revocations_per_tenant = cfg.max_revocations_per_tenant;
  gopts.max_unapplied_events_per_job = cfg.max_unapplied_events_per_job;
  // Revoked token ids: loaded before the first request, reloaded every poll.
  auth::RevocationList revocations;
  api::RevocationPoller revocation_poller(*store->revocations, revocations, cfg.revocation_poll);
  if (auto s = revocation_poller.Start(); !s) {
    return Fail("token revocations: " + s.error().message);
  }
  gopts.revocations = &revocations;
  gopts.revocation_store = store->revocations;
  // Listing and watching jobs: the hub follows the store's change feed (it installs the
  // store's change listener); destroyed before the store (declared after it).
  storage::JobFeedStore& feed = store->db->feed();
  api::WatchOptions wopts;
  wopts.max_watchers = cfg.max_watchers;
  wopts.max_watchers_per_tenant = cfg.max_watchers_per_tenant;
  wopts.heartbeat = cfg.watch_heartbeat;
  wopts.buffer_bytes = cfg.watch_buffer_bytes;
  api::JobWatchHub watch_hub(wopts, feed, metrics);
  // Retention, the one background runner (docs/contracts/retention.md): the change feed
  // (--change-retention) and finished jobs (--job-retention-days, archived first). Stopped
  // before the store closes (declared after it).
  std::unique_ptr<Archive> job_archiver;
  if (cfg.job_retention_days > 0 && cfg.job_archive != "none") {
    ArchiveOptions ao;
    ao.uri = cfg.job_archive;
    ao.gcs_endpoint = cfg.validators.gcs_endpoint;
    ao.metadata_url = cfg.validators.metadata_url;
    ao.gcp_access_token = cfg.validators.gcp_access_token;
    auto opened = OpenJobArchive(ao);
    if (!opened) return Fail("--job-archive: " + opened.error().message);
    job_archiver = std::move(opened).value();
  }
  storage::RetentionOptions ropts;
  ropts.change_retention = cfg.change_retention;
  ropts.job_retention = std::chrono::hours(24) * cfg.job_retention_days;
  ropts.job_interval = cfg.job_retention_interval;
  ropts.keep_undelivered = !cfg.job_retention_include_undelivered;
  ropts.busy_percent = cfg.job_retention_busy_percent;
  // Validator runs and their media go with the jobs, same age, same archive.
  storage::ValidatorRunArchiver* run_archiver = job_archiver.get();
  std::unique_ptr<storage::RunMediaDeleter> run_media = MakeRunMediaDeleter(cfg.validators);
  storage::RetentionRunner retention(feed, store->db->retention(), std::move(job_archiver), ropts);
  if (cfg.job_retention_days > 0) {
    retention.AddValidatorRuns(store->db->validator_run_retention(), run_archiver, *run_media);
  }
  retention.Start();
  gopts.feed = &feed;
  gopts.watch = &watch_hub;
  gopts.limits = &limits;
  gopts.rate_limiter = &rate_limiter;
  api::Gateway gateway(gopts, **verifier, *store->jobs, *store->nodes, *adapter, metrics);
  handler.Set(&gateway);

  // The default callback URL needs the bound port.
  if (*validator_stack) {
    if (auto s = (*validator_stack)
                     ->Start(*store->jobs, *store->nodes, *store->validator_runs,
                             "http://" + cfg.listen_host + ":" + std::to_string(server->Port()) +
                                 "/internal/validations/callback");
        !s) {
      return Fail(s.error().message);
    }
    validator_endpoints.Set((*validator_stack)->endpoints());
  }
  if (dev_secret) {
    const std::string token =
        auth::MintDevToken(cfg.jwt_hs256_secret, "dev-tenant", "dev-user", std::chrono::hours(24),
                           std::chrono::system_clock::now());
    std::fprintf(stderr,
                 "\n--dev: generated an HS256 secret for this run (tokens die with it).\n"
                 "  export RTGW_JWT_HS256_SECRET=%s\n"
                 "  export TOKEN=%s\n"
                 "  (tenant_id=dev-tenant, sub=dev-user, valid 24h; mint more with "
                 "'rtgw dev token --tenant T')\n\n",
                 cfg.jwt_hs256_secret.c_str(), token.c_str());
  } else if (cfg.dev) {
    std::fprintf(stderr,
                 "\n--dev: an HS256 secret is configured (%s), so none was generated and no "
                 "token is printed;\n  mint one with 'rtgw dev token --tenant T' (it reads "
                 "RTGW_JWT_HS256_SECRET).\n\n",
                 values->Source("jwt-hs256-secret").c_str());
  }
  if (!cfg.port_file.empty()) {
    if (auto s = WritePortFile(cfg.port_file, server->Port()); !s) return Fail(s.error().message);
  }
  LogInfo("rtgw serving", {{"version", kVersion},
                           {"listen", cfg.listen_host + ":" + std::to_string(server->Port())},
                           {"store", store_name},
                           {"backend", store->backend},
                           {"sqlite_synchronous", cfg.sqlite_synchronous},
                           {"sqlite_wal_autocheckpoint", cfg.sqlite_wal_autocheckpoint},
                           {"sqlite_page_size", cfg.sqlite_page_size},
                           {"sqlite_checkpoint", cfg.sqlite_checkpoint},
                           {"proxy_auth", cfg.proxy_auth_key.empty() ? "off" : "on"},
                           {"outbox", cfg.relay.outbox ? "on" : "off"},
                           {"projection_relay", projection_relay ? "on" : "off"},
                           {"role", cfg.validators.role},
                           {"validators", *validator_stack ? "on" : "off"},
                           {"io_threads", cfg.io_threads}});
  server->Run(/*handle_signals=*/true);
  if (*validator_stack) (*validator_stack)->Stop();
  if (projection_relay) projection_relay->Stop();
  revocation_poller.Stop();  // before the store closes under its reload
  watch_hub.Shutdown();      // streams ended by the drain already; stops pruning
  store->jobs->Close();
  server.reset();
  LogInfo("rtgw stopped");
  return 0;
}

}  // namespace rtgw::app
