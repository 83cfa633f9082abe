#include "config/serve_config.hpp"

#include <map>

#include <gtest/gtest.h>

namespace rtgw::config {
namespace {

constexpr const char* kSecret = "serve-config-test-secret-0123456789";  // 35 bytes

Result<ServeConfig> Load(std::vector<std::string> args, std::map<std::string, std::string> env) {
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto values = ParseOptions(args, ServeOptionSpecs(), lookup);
  if (!values) return values.error();
  return BuildServeConfig(*values);
}

TEST(ServeConfigTest, DefaultsWithSecret) {
  auto c = Load({}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->sqlite_path, "rtgw.db");
  EXPECT_EQ(c->sqlite_synchronous, "FULL");
  EXPECT_EQ(c->sqlite_checkpoint, "background");
  EXPECT_EQ(c->max_body_bytes, 1u << 20);
  EXPECT_EQ(c->proxy_auth_key_header, "modal-key");
}

// A revocation without expires_at is kept as long as the longest token the verifier accepts:
// --max-token-lifetime, or 366 days when that is 0 (no cap). One value for the gateway.
TEST(ServeConfigTest, RevocationTtlFollowsMaxTokenLifetime) {
  const std::map<std::string, std::string> env = {{"RTGW_JWT_HS256_SECRET", kSecret}};
  EXPECT_EQ(Load({}, env)->revocation_ttl, std::chrono::hours(30 * 24));
  EXPECT_EQ(Load({"--max-token-lifetime", "12h"}, env)->revocation_ttl, std::chrono::hours(12));
  auto uncapped = Load({"--max-token-lifetime", "0"}, env);
  ASSERT_TRUE(uncapped.ok()) << uncapped.error().message;
  EXPECT_EQ(uncapped->jwt_max_lifetime, std::chrono::seconds(0));
  EXPECT_EQ(uncapped->revocation_ttl, std::chrono::hours(366 * 24));
}

// RFC 7518 section 3.2: an HS256 key is at least 256 bits. Shorter refuses to start, naming
// where it came from and never echoing it, unless --allow-weak-secret says it is on purpose.
TEST(ServeConfigTest, RefusesAnHs256SecretShorterThan32Bytes) {
  const std::string short_secret(31, 'k');
  auto c = Load({}, {{"RTGW_JWT_HS256_SECRET", short_secret}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("RTGW_JWT_HS256_SECRET"), std::string::npos);
  EXPECT_NE(c.error().message.find("31 bytes; at least 32"), std::string::npos);
  EXPECT_NE(c.error().message.find("--allow-weak-secret"), std::string::npos);
  EXPECT_EQ(c.error().message.find(short_secret), std::string::npos) << "never echoed";
  auto flag = Load({"--jwt-hs256-secret", "short"}, {});
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.error().message.find("--jwt-hs256-secret"), std::string::npos);
  EXPECT_TRUE(Load({"--allow-weak-secret"}, {{"RTGW_JWT_HS256_SECRET", short_secret}}).ok());
  EXPECT_TRUE(Load({}, {{"RTGW_JWT_HS256_SECRET", "short"}, {"RTGW_ALLOW_WEAK_SECRET", "1"}}).ok());
  EXPECT_TRUE(Load({}, {{"RTGW_JWT_HS256_SECRET", std::string(32, 'k')}}).ok());
}

TEST(ServeConfigTest, FlagWinsOverEnv) {
  auto c = Load({"--listen", "0.0.0.0:9000", "--database-url=sqlite:///tmp/x.db"},
                {{"RTGW_LISTEN", "127.0.0.1:1"}, {"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 9000);
  EXPECT_EQ(c->sqlite_path, "/tmp/x.db");
}

TEST(ServeConfigTest, RejectsBadValuesNamingTheSource) {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string must_mention;
  };
  const std::map<std::string, std::string> ok_env = {{"RTGW_JWT_HS256_SECRET", kSecret}};
  auto with = [&](std::string k, std::string v) {
    auto e = ok_env;
    e[k] = v;
    return e;
  };
  const Case cases[] = {
      {{}, {}, "RTGW_JWT_HS256_SECRET"},
      {{}, with("RTGW_LOG_FORMAT", "xml"), "RTGW_LOG_FORMAT"},
      {{"--listen", "nonsense"}, ok_env, "--listen"},
      {{"--listen", "127.0.0.1:99999"}, ok_env, "--listen"},
      {{}, with("RTGW_DATABASE_URL", "mysql://x"), "RTGW_DATABASE_URL"},
      {{}, with("RTGW_MAX_BODY_BYTES", "-1"), "RTGW_MAX_BODY_BYTES"},
      {{}, with("RTGW_PROXY_AUTH_KEY", "k"), "RTGW_PROXY_AUTH_SECRET"},
      {{"--no-such-flag"}, ok_env, "--no-such-flag"},
      {{"--listen"}, ok_env, "--listen"},
      {{}, with("RTGW_IO_THREADS", "two"), "RTGW_IO_THREADS"},
      {{}, with("RTGW_MIGRATE", "sometimes"), "RTGW_MIGRATE"},
      {{"--db-pool-size", "0"}, ok_env, "--db-pool-size"},
      {{}, with("RTGW_DB_POOL_SIZE", "65"), "RTGW_DB_POOL_SIZE"},
      {{}, with("RTGW_SQLITE_CHECKPOINT", "sometimes"), "RTGW_SQLITE_CHECKPOINT"},
  };
  for (const Case& c : cases) {
    auto r = Load(c.args, c.env);
    ASSERT_FALSE(r.ok()) << c.must_mention;
    EXPECT_NE(r.error().message.find(c.must_mention), std::string::npos) << r.error().message;
  }
}

TEST(ServeConfigTest, PostgresUrlMigrateAndPool) {
  auto c = Load({"--database-url", "postgresql://u:p@db:5432/rtgw", "--migrate", "on"},
                {{"RTGW_JWT_HS256_SECRET", kSecret}, {"RTGW_DB_POOL_SIZE", "8"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->postgres);
  EXPECT_EQ(c->migrate, MigrateSetting::kOn);
  EXPECT_EQ(c->db_pool_size, 8);
  EXPECT_EQ(c->database_url_source, "--database-url");
  auto d = Load({}, {{"RTGW_JWT_HS256_SECRET", kSecret}, {"RTGW_DATABASE_URL", "postgres://h/db"}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->postgres);
  EXPECT_EQ(d->migrate, MigrateSetting::kAuto);
  EXPECT_EQ(d->db_pool_size, 4);
}

TEST(ServeConfigTest, ParsesIpv6Listen) {
  auto r = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, "::1");
  EXPECT_EQ(r->second, 0);
}

}  // namespace
}  // namespace rtgw::config

namespace rtgw::config {
namespace {

TEST(RelayConfigTest, OutboxFollowsTheProjectionUrlUnlessSet) {
  auto off = Load({}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->relay.outbox);
  EXPECT_FALSE(off->relay.relay_enabled());
  auto on =
      Load({"--projection-url", "http://127.0.0.1:9/hook"},
           {{"RTGW_JWT_HS256_SECRET", kSecret}, {"RTGW_PROJECTION_SECRET", "0123456789abcdef"}});
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->relay.outbox);
  EXPECT_TRUE(on->relay.relay_enabled());
  EXPECT_EQ(on->relay.lease, std::chrono::milliseconds(30'000));
  auto writer_only = Load({"--outbox", "on"}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(writer_only.ok());
  EXPECT_TRUE(writer_only->relay.outbox);
  EXPECT_FALSE(writer_only->relay.relay_enabled());
}

TEST(RelayConfigTest, RejectsInconsistentRelaySettingsNamingTheKey) {
  const std::map<std::string, std::string> base = {{"RTGW_JWT_HS256_SECRET", kSecret},
                                                   {"RTGW_PROJECTION_URL", "http://h/x"},
                                                   {"RTGW_PROJECTION_SECRET", "0123456789abcdef"}};
  auto with = [&](std::string k, std::string v) {
    auto e = base;
    e[k] = v;
    return e;
  };
  struct Case {
    std::map<std::string, std::string> env;
    std::string must_mention;
  };
  const Case cases[] = {
      {with("RTGW_PROJECTION_SECRET", ""), "RTGW_PROJECTION_SECRET"},
      {with("RTGW_OUTBOX", "maybe"), "RTGW_OUTBOX"},
      {with("RTGW_OUTBOX", "off"), "RTGW_OUTBOX"},
      {with("RTGW_RELAY", "sometimes"), "RTGW_RELAY"},
      {with("RTGW_RELAY_WORKERS", "0"), "RTGW_RELAY_WORKERS"},
      {with("RTGW_RELAY_LEASE_MS", "15000"), "RTGW_RELAY_LEASE_MS"},
      {with("RTGW_RELAY_BACKOFF_MAX_MS", "10"), "RTGW_RELAY_BACKOFF_MAX_MS"},
  };
  for (const Case& c : cases) {
    auto r = Load({}, c.env);
    ASSERT_FALSE(r.ok()) << c.must_mention;
    EXPECT_NE(r.error().message.find(c.must_mention), std::string::npos) << r.error().message;
  }
}

TEST(ServeConfigTest, SlurmAdapterAndNodeSettings) {
  auto d = Load({}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->slurm_adapter, "passthrough");
  EXPECT_EQ(d->queue_policy_file, "");
  EXPECT_EQ(d->slurm_catalogue_max_age, std::chrono::seconds(120));
  EXPECT_EQ(d->node_stale_after, std::chrono::seconds(60));
  // The seed's operators know the ZPE_* names; they are the env names of these flags.
  auto c = Load({"--node-stale-after-seconds", "30"},
                {{"RTGW_JWT_HS256_SECRET", kSecret},
                 {"ZPE_SLURM_ADAPTER", "stub-policy"},
                 {"RTGW_QUEUE_POLICY_FILE", "/etc/rtgw/policy.json"},
                 {"ZPE_SLURM_ADAPTER_OWNER", "alice"},
                 {"ZPE_SLURM_ADAPTER_EXPIRES_AT", "2026-03-01T00:00:00Z"},
                 {"RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS", "300"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->slurm_adapter, "stub-policy");
  EXPECT_EQ(c->queue_policy_file, "/etc/rtgw/policy.json");
  EXPECT_EQ(c->slurm_adapter_owner, "alice");
  EXPECT_EQ(c->slurm_adapter_expires_at, "2026-03-01T00:00:00Z");
  EXPECT_EQ(c->slurm_catalogue_max_age, std::chrono::seconds(300));
  EXPECT_EQ(c->node_stale_after, std::chrono::seconds(30));
  auto bad = Load({"--node-stale-after-seconds", "1"}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--node-stale-after-seconds"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::config

namespace rtgw::config {
namespace {

TEST(ServeConfigTest, WatchLimits) {
  auto d = Load({}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->max_watchers, 10'000u);
  EXPECT_EQ(d->max_watchers_per_tenant, 2'000u);
  EXPECT_EQ(d->watch_heartbeat, std::chrono::seconds(15));
  EXPECT_EQ(d->watch_buffer_bytes, 262'144u);
  EXPECT_EQ(d->change_retention, std::chrono::hours(1));

  auto c = Load({"--max-watchers", "5", "--watch-heartbeat", "2s", "--change-retention", "0"},
                {{"RTGW_JWT_HS256_SECRET", kSecret},
                 {"RTGW_MAX_WATCHERS_PER_TENANT", "3"},
                 {"RTGW_WATCH_BUFFER_BYTES", "8192"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->max_watchers, 5u);
  EXPECT_EQ(c->max_watchers_per_tenant, 3u);
  EXPECT_EQ(c->watch_heartbeat, std::chrono::seconds(2));
  EXPECT_EQ(c->watch_buffer_bytes, 8192u);
  EXPECT_EQ(c->change_retention, std::chrono::seconds(0));
  EXPECT_EQ(
      Load({"--change-retention", "7d"}, {{"RTGW_JWT_HS256_SECRET", kSecret}})->change_retention,
      std::chrono::hours(7 * 24));

  const char* bad[][3] = {
      {"--watch-heartbeat", "0", "--watch-heartbeat: must be a duration from 1s to 1h"},
      {"--watch-heartbeat", "2h", "--watch-heartbeat: must be a duration from 1s to 1h"},
      {"--change-retention", "1w", "--change-retention: must be a duration up to 366d"},
      {"--change-retention", "367d", "--change-retention: must be a duration up to 366d"},
      {"--max-watchers", "0", "--max-watchers"},
      {"--watch-buffer-bytes", "100", "--watch-buffer-bytes"},
  };
  for (const auto& [flag, value, message] : bad) {
    auto r = Load({flag, value}, {{"RTGW_JWT_HS256_SECRET", kSecret}});
    ASSERT_FALSE(r.ok()) << flag << " " << value;
    EXPECT_EQ(r.error().message.rfind(message, 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace rtgw::config
