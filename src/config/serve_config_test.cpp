#include "config/serve_config.hpp"

#include <map>

#include <gtest/gtest.h>

namespace rtgw::config {
namespace {

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
  auto c = Load({}, {{"RTGW_JWT_HS256_SECRET", "s"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->sqlite_path, "rtgw.db");
  EXPECT_EQ(c->sqlite_synchronous, "FULL");
  EXPECT_EQ(c->max_body_bytes, 1u << 20);
  EXPECT_EQ(c->proxy_auth_key_header, "modal-key");
}

TEST(ServeConfigTest, FlagWinsOverEnv) {
  auto c = Load({"--listen", "0.0.0.0:9000", "--database-url=sqlite:///tmp/x.db"},
                {{"RTGW_LISTEN", "127.0.0.1:1"}, {"RTGW_JWT_HS256_SECRET", "s"}});
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
  const std::map<std::string, std::string> ok_env = {{"RTGW_JWT_HS256_SECRET", "s"}};
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
  };
  for (const Case& c : cases) {
    auto r = Load(c.args, c.env);
    ASSERT_FALSE(r.ok()) << c.must_mention;
    EXPECT_NE(r.error().message.find(c.must_mention), std::string::npos) << r.error().message;
  }
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

TEST(ServeConfigTest, SlurmAdapterAndNodeSettings) {
  auto d = Load({}, {{"RTGW_JWT_HS256_SECRET", "s"}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->slurm_adapter, "passthrough");
  EXPECT_EQ(d->queue_policy_file, "");
  EXPECT_EQ(d->slurm_catalogue_max_age, std::chrono::seconds(120));
  EXPECT_EQ(d->node_stale_after, std::chrono::seconds(60));
  // The seed's operators know the ZPE_* names; they are the env names of these flags.
  auto c = Load({"--node-stale-after-seconds", "30"},
                {{"RTGW_JWT_HS256_SECRET", "s"},
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
  auto bad = Load({"--node-stale-after-seconds", "1"}, {{"RTGW_JWT_HS256_SECRET", "s"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--node-stale-after-seconds"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::config
