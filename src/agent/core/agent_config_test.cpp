#include "agent/core/agent_config.hpp"

#include <map>

#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

Result<AgentConfig> Build(std::vector<std::string> args,
                          std::map<std::string, std::string> env = {}) {
  auto values = config::ParseOptions(args, AgentOptionSpecs(),
                                     [&](const std::string& k) -> std::optional<std::string> {
                                       auto it = env.find(k);
                                       if (it == env.end()) return std::nullopt;
                                       return it->second;
                                     });
  if (!values.ok()) return values.error();
  return BuildAgentConfig(*values);
}

TEST(AgentConfigTest, MinimalAndDefaults) {
  auto c = Build({"--gateway-url", "http://127.0.0.1:1", "--node-id", "n1", "--token", "tok"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->executor, "slurm");
  EXPECT_EQ(c->lease_seconds, 60);
  EXPECT_EQ(c->poll_interval.count(), 2000);
}

TEST(AgentConfigTest, ValidatorOptions) {
  const std::vector<std::string> base = {"--gateway-url", "http://x", "--node-id", "n1",
                                         "--token",       "tok"};
  auto none = Build(base);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->validators_file.empty());
  EXPECT_EQ(none->validator_token_issuer, "urn:rtgw:agent");
  EXPECT_EQ(none->validator_service_account, "validator@rtgw.agent");
  EXPECT_EQ(none->validator_key_id, "rtgw-agent");
  auto args = base;
  args.insert(args.end(), {"--validators-file", "/etc/v.json"});
  auto keyless = Build(args);
  ASSERT_FALSE(keyless.ok());
  EXPECT_NE(keyless.error().message.find("--validator-key"), std::string::npos);
  auto with_key = Build(base, {{"RTGW_AGENT_VALIDATORS_FILE", "/etc/v.json"},
                               {"RTGW_AGENT_VALIDATOR_KEY", "/etc/k.pem"},
                               {"RTGW_AGENT_VALIDATOR_KEY_ID", "node-1-2026"}});
  ASSERT_TRUE(with_key.ok()) << with_key.error().message;
  EXPECT_EQ(with_key->validator_key_file, "/etc/k.pem");
  EXPECT_EQ(with_key->validator_key_id, "node-1-2026");
  args = base;
  args.insert(args.end(), {"--validator-service-account", ""});
  EXPECT_FALSE(Build(args).ok());
}

TEST(AgentConfigTest, EnvironmentKeys) {
  auto c = Build({}, {{"RTGW_AGENT_GATEWAY_URL", "http://x"},
                      {"RTGW_AGENT_NODE_ID", "n"},
                      {"RTGW_AGENT_TOKEN", "t"},
                      {"RTGW_AGENT_EXECUTOR", "local"},
                      {"RTGW_AGENT_PARTITIONS", "debug,long"},
                      {"RTGW_AGENT_PAYLOAD_DIRS", "/a:/b"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->executor, "local");
  EXPECT_EQ(c->partitions, (std::vector<std::string>{"debug", "long"}));
  EXPECT_EQ(c->payload_dirs, (std::vector<std::string>{"/a", "/b"}));
}

TEST(AgentConfigTest, BadValuesNameTheKey) {
  auto no_url = Build({"--node-id", "n", "--token", "t"});
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.error().message.find("gateway-url"), std::string::npos);
  auto bad_exec = Build({"--gateway-url", "http://x", "--node-id", "n", "--token", "t"},
                        {{"RTGW_AGENT_EXECUTOR", "k8s"}});
  ASSERT_FALSE(bad_exec.ok());
  EXPECT_NE(bad_exec.error().message.find("RTGW_AGENT_EXECUTOR"), std::string::npos);
  auto bad_lease = Build(
      {"--gateway-url", "http://x", "--node-id", "n", "--token", "t", "--lease-seconds", "5"});
  ASSERT_FALSE(bad_lease.ok());
  EXPECT_NE(bad_lease.error().message.find("lease-seconds"), std::string::npos);
  auto no_token = Build({"--gateway-url", "http://x", "--node-id", "n"});
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.error().message.find("token"), std::string::npos);
  auto missing_file =
      Build({"--gateway-url", "http://x", "--node-id", "n", "--token-file", "/nonexistent/token"});
  ASSERT_FALSE(missing_file.ok());
  EXPECT_NE(missing_file.error().message.find("token-file"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::agent
