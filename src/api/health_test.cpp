#include "api/health.hpp"

#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::api {
namespace {
namespace json = boost::json;
namespace sa = slurm_adapter;
using std::chrono::seconds;

const SystemTime kNow = SystemTime(seconds(1'800'000'000));

constexpr const char* kHealthPolicy = R"({
  "queues": {
    "default": {"partition": "debug", "max_walltime_minutes": 60},
    "gpu": {"partition": "gpu", "max_walltime_minutes": 120}
  }
})";

// debug up, gpu as given.
std::string CatalogueJson(const char* gpu_state) {
  return std::string(R"({"version":"22.05.8","cluster":"ci","partitions":[)") +
         R"({"name":"debug","state":"up","max_time_minutes":30},)" + R"({"name":"gpu","state":")" +
         gpu_state + R"(","max_time_minutes":120}]})";
}

sa::AdapterSettings HealthSettings(const std::string& mode, std::string owner = {},
                                   std::string expires_at = {}) {
  sa::AdapterInputs in;
  in.mode = mode;
  in.policy_path = "/etc/rtgw/policy.json";
  in.policy_text = kHealthPolicy;
  in.owner = std::move(owner);
  in.expires_at = std::move(expires_at);
  in.catalogue_max_age = seconds(120);
  auto s = sa::BuildAdapterSettings(in);
  EXPECT_TRUE(s) << s.error().message;
  return std::move(s).value();
}

storage::NodeRecord HealthNode(std::string tenant, std::string node, seconds age,
                               std::optional<std::string> catalogue) {
  storage::NodeRecord n;
  n.tenant_id = std::move(tenant);
  n.node_id = std::move(node);
  n.executor = catalogue ? "slurm" : "local";
  n.catalogue_json = std::move(catalogue);
  n.first_seen = kNow - age;
  n.last_seen = kNow - age;
  return n;
}

storage::StoreHealth Healthy() {
  return {.reachable = true, .writable = true, .backend = "sqlite", .detail = {}};
}

HealthFacts BaseFacts(const sa::AdapterSettings& adapter) {
  HealthFacts f;
  f.version = "1.2.3";
  f.trace_id = "0123456789abcdef0123456789abcdef";
  f.now = kNow;
  f.store = Healthy();
  f.adapter = &adapter;
  return f;
}

json::object Body(const HealthAnswer& a) { return json::parse(a.body).as_object(); }

TEST(HealthTest, OkWhenTheStoreServesAndNothingRefuses) {
  const sa::AdapterSettings passthrough;
  HealthAnswer a = BuildHealth(BaseFacts(passthrough));
  EXPECT_EQ(a.status, 200);
  json::object b = Body(a);
  EXPECT_EQ(b.at("status"), "ok");
  EXPECT_EQ(b.at("version"), "1.2.3");
  EXPECT_EQ(b.at("checks").at("store"),
            json::parse(R"({"status":"ok","backend":"sqlite","reachable":true,"writable":true})"));
  EXPECT_EQ(b.at("checks").at("slurm_adapter").at("status"), "ok");
  EXPECT_FALSE(b.at("checks").as_object().contains("submit_admission"));  // passthrough
  EXPECT_TRUE(a.withheld.empty());
}

TEST(HealthTest, StoreThatCannotReadOrWriteIsUnavailableAndItsTextIsWithheld) {
  const sa::AdapterSettings passthrough;
  struct Case {
    const char* name;
    Result<storage::StoreHealth> store;
    bool reachable;
  };
  const std::vector<Case> cases = {
      {"read failed",
       storage::StoreHealth{.reachable = false,
                            .writable = false,
                            .backend = "sqlite",
                            .detail = "read check failed: database disk image is malformed"},
       false},
      {"write failed",
       storage::StoreHealth{.reachable = true,
                            .writable = false,
                            .backend = "postgresql",
                            .detail = "write check failed: connection refused"},
       true},
      {"call failed", Unavailable("store closed: /var/lib/rtgw/x.db"), false},
  };
  for (const Case& c : cases) {
    HealthFacts f = BaseFacts(passthrough);
    f.store = c.store;
    HealthCheckResult relay{.degraded = true, .json = R"({"status":"degraded"})"};
    f.extra.emplace_back("projection_relay", relay);
    HealthAnswer a = BuildHealth(f);
    EXPECT_EQ(a.status, 503) << c.name;
    json::object b = Body(a);
    EXPECT_EQ(b.at("status"), "unavailable") << c.name;  // worse than the relay's degraded
    const json::object& store = b.at("checks").at("store").as_object();
    EXPECT_EQ(store.at("status"), "unavailable") << c.name;
    EXPECT_EQ(store.at("reachable"), c.reachable) << c.name;
    EXPECT_EQ(store.at("writable"), false) << c.name;
    const std::string detail(store.at("detail").as_string());
    EXPECT_NE(detail.find(f.trace_id), std::string::npos) << c.name;
    ASSERT_EQ(a.withheld.size(), 1U) << c.name;
    EXPECT_EQ(a.body.find(a.withheld[0]), std::string::npos) << c.name << ": leaked";
  }
}

TEST(HealthTest, FailedIntegrityCheckOnDeepIsUnavailable) {
  const sa::AdapterSettings passthrough;
  HealthFacts f = BaseFacts(passthrough);
  f.deep = true;
  f.integrity = StoreIntegrity{.ok = true, .detail = {}};
  HealthAnswer ok = BuildHealth(f);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Body(ok).at("checks").at("store").at("integrity"), "ok");

  f.integrity = StoreIntegrity{.ok = false, .detail = "*** in database main *** Page 7: bad"};
  HealthAnswer bad = BuildHealth(f);
  EXPECT_EQ(bad.status, 503);
  json::object b = Body(bad);
  EXPECT_EQ(b.at("status"), "unavailable");
  EXPECT_EQ(b.at("checks").at("store").at("integrity"), "failed");
  EXPECT_EQ(b.at("checks").at("store").at("reachable"), true);
  EXPECT_NE(std::string(b.at("checks").at("store").at("detail").as_string()).find("integrity"),
            std::string::npos);
  ASSERT_EQ(bad.withheld.size(), 1U);
  EXPECT_EQ(bad.body.find("Page 7"), std::string::npos);
}

TEST(HealthTest, ExtraChecksDegradeButNeverFail) {
  const sa::AdapterSettings passthrough;
  HealthFacts f = BaseFacts(passthrough);
  f.extra.emplace_back(
      "projection_relay",
      HealthCheckResult{.degraded = true, .json = R"({"status":"degraded","reason":"sink down"})"});
  HealthAnswer a = BuildHealth(f);
  EXPECT_EQ(a.status, 200);
  json::object b = Body(a);
  EXPECT_EQ(b.at("status"), "degraded");
  EXPECT_EQ(b.at("checks").at("projection_relay").at("reason"), "sink down");
}

TEST(HealthTest, ExpiredRollbackDegradesAndSaysWhy) {
  const sa::AdapterSettings live =
      HealthSettings("stub-policy", "alice@ops", "2099-01-01T00:00:00Z");
  json::object b = Body(BuildHealth(BaseFacts(live)));
  EXPECT_EQ(b.at("status"), "ok");
  EXPECT_EQ(b.at("checks").at("slurm_adapter").at("rollback").at("expired"), false);

  const sa::AdapterSettings expired =
      HealthSettings("passthrough", "alice@ops", "2020-01-01T00:00:00Z");
  HealthAnswer a = BuildHealth(BaseFacts(expired));
  EXPECT_EQ(a.status, 200);
  b = Body(a);
  EXPECT_EQ(b.at("status"), "degraded");
  const json::object& check = b.at("checks").at("slurm_adapter").as_object();
  EXPECT_EQ(check.at("status"), "degraded");
  EXPECT_NE(std::string(check.at("reason").as_string()).find("alice@ops"), std::string::npos);
}

TEST(HealthTest, RealPolicyNamesTheCallersNodesThatRefuseAndWhy) {
  const sa::AdapterSettings real = HealthSettings("real-policy");
  HealthFacts f = BaseFacts(real);
  f.tenant_id = "t1";
  f.nodes = std::vector<storage::NodeRecord>{
      HealthNode("t1", "fresh", seconds(5), CatalogueJson("up")),
      HealthNode("t1", "gpu-down", seconds(5), CatalogueJson("down")),
      HealthNode("t1", "local", seconds(5), std::nullopt),
      HealthNode("t1", "stale", seconds(600), CatalogueJson("up")),
      HealthNode("t2", "other-stale", seconds(600), CatalogueJson("up")),
  };
  HealthAnswer a = BuildHealth(f);
  EXPECT_EQ(a.status, 200);
  json::object b = Body(a);
  EXPECT_EQ(b.at("status"), "degraded");
  const json::object& check = b.at("checks").at("submit_admission").as_object();
  EXPECT_EQ(check.at("status"), "degraded");
  EXPECT_EQ(check.at("scope"), "tenant");
  EXPECT_EQ(check.at("catalogue_max_age_seconds"), 120);
  EXPECT_EQ(check.at("nodes_total"), 5);
  EXPECT_EQ(check.at("nodes_refusing"), 4);  // t2's node counts, it is not listed
  EXPECT_TRUE(check.contains("reason"));
  std::map<std::string, json::object> by_node;
  for (const json::value& n : check.at("nodes").as_array()) {
    by_node[std::string(n.at("node_id").as_string())] = n.as_object();
  }
  ASSERT_EQ(by_node.size(), 3U);
  EXPECT_EQ(by_node["gpu-down"].at("queues_refused"), json::parse(R"(["gpu"])"));
  EXPECT_NE(json::serialize(by_node["gpu-down"].at("reasons")).find("gpu"), std::string::npos);
  EXPECT_EQ(by_node["local"].at("queues_refused"), json::parse(R"(["default","gpu"])"));
  EXPECT_NE(json::serialize(by_node["local"].at("reasons")).find("no Slurm"), std::string::npos);
  // One reason however many queues it stops.
  ASSERT_EQ(by_node["stale"].at("reasons").as_array().size(), 1U);
  EXPECT_NE(json::serialize(by_node["stale"].at("reasons")).find("600 s old (bound 120 s)"),
            std::string::npos);
}

TEST(HealthTest, RealPolicyAnonymousCallersGetCountsOnly) {
  const sa::AdapterSettings real = HealthSettings("real-policy");
  HealthFacts f = BaseFacts(real);
  f.nodes = std::vector<storage::NodeRecord>{
      HealthNode("t1", "stale-node", seconds(600), CatalogueJson("up")),
      HealthNode("t2", "fresh", seconds(1), CatalogueJson("up"))};
  HealthAnswer a = BuildHealth(f);
  const json::object b = Body(a);
  const json::object& check = b.at("checks").at("submit_admission").as_object();
  EXPECT_EQ(check.at("scope"), "summary");
  EXPECT_EQ(check.at("nodes_refusing"), 1);
  EXPECT_TRUE(check.at("nodes").as_array().empty());
  EXPECT_EQ(a.body.find("stale-node"), std::string::npos);
  EXPECT_EQ(a.body.find("t1"), std::string::npos);
}

TEST(HealthTest, RealPolicyIsOkWhenEveryNodeServesAndDegradedWithNoNode) {
  const sa::AdapterSettings real = HealthSettings("real-policy");
  HealthFacts f = BaseFacts(real);
  f.tenant_id = "t1";
  f.nodes = std::vector<storage::NodeRecord>{
      HealthNode("t1", "fresh", seconds(119), CatalogueJson("up"))};
  json::object b = Body(BuildHealth(f));
  EXPECT_EQ(b.at("status"), "ok");
  EXPECT_EQ(b.at("checks").at("submit_admission").at("status"), "ok");
  EXPECT_EQ(b.at("checks").at("submit_admission").at("nodes_refusing"), 0);
  EXPECT_FALSE(b.at("checks").at("submit_admission").as_object().contains("reason"));

  f.nodes = std::vector<storage::NodeRecord>{};
  b = Body(BuildHealth(f));
  EXPECT_EQ(b.at("status"), "degraded");
  EXPECT_NE(std::string(b.at("checks").at("submit_admission").at("reason").as_string())
                .find("no management node"),
            std::string::npos);
}

TEST(HealthTest, DeepListsOnlyTheCallersNodesInManagedRuntime) {
  const sa::AdapterSettings passthrough;
  HealthFacts f = BaseFacts(passthrough);
  f.deep = true;
  f.nodes =
      std::vector<storage::NodeRecord>{HealthNode("t1", "a", seconds(5), CatalogueJson("up")),
                                       HealthNode("t2", "b", seconds(5), CatalogueJson("up"))};
  f.tenant_id = "t1";
  json::object mine = Body(BuildHealth(f)).at("checks").at("managed_aiida_runtime").as_object();
  EXPECT_EQ(mine.at("scope"), "tenant");
  EXPECT_EQ(mine.at("nodes_total"), 1);
  ASSERT_EQ(mine.at("nodes").as_array().size(), 1U);
  EXPECT_EQ(mine.at("nodes").at(0).at("node_id"), "a");

  f.tenant_id.reset();
  json::object anon = Body(BuildHealth(f)).at("checks").at("managed_aiida_runtime").as_object();
  EXPECT_EQ(anon.at("scope"), "summary");
  EXPECT_EQ(anon.at("nodes_total"), 2);
  EXPECT_TRUE(anon.at("nodes").as_array().empty());

  f.nodes = Result<std::vector<storage::NodeRecord>>(Unavailable("libpq: server closed"));
  HealthAnswer failed = BuildHealth(f);
  EXPECT_EQ(Body(failed).at("checks").at("managed_aiida_runtime").at("status"), "unavailable");
  EXPECT_EQ(failed.body.find("libpq"), std::string::npos);
}

TEST(HealthTest, VerdictAndNodeCountsCoverEveryTenantForTheGauges) {
  const sa::AdapterSettings passthrough;
  HealthFacts f = BaseFacts(passthrough);
  HealthAnswer plain = BuildHealth(f);
  EXPECT_EQ(plain.verdict, "ok");
  EXPECT_EQ(Body(plain).at("status").as_string(), plain.verdict);
  EXPECT_FALSE(plain.nodes) << "nodes were not read";

  f.deep = true;
  f.tenant_id = "t1";  // the counts still cover t2's nodes: they are never shown to the caller
  f.node_stale_after = seconds(60);
  f.nodes = std::vector<storage::NodeRecord>{HealthNode("t1", "a", seconds(5), std::nullopt),
                                             HealthNode("t2", "b", seconds(61), std::nullopt),
                                             HealthNode("t2", "c", seconds(600), std::nullopt)};
  HealthAnswer deep = BuildHealth(f);
  ASSERT_TRUE(deep.nodes);
  EXPECT_EQ(deep.nodes->total, 3);
  EXPECT_EQ(deep.nodes->stale, 2);

  f.nodes = Result<std::vector<storage::NodeRecord>>(Unavailable("libpq: server closed"));
  EXPECT_FALSE(BuildHealth(f).nodes) << "no counts when the nodes could not be read";

  f.extra.emplace_back("projection_relay", HealthCheckResult{.degraded = true, .json = "{}"});
  EXPECT_EQ(BuildHealth(f).verdict, "degraded");
  f.store =
      storage::StoreHealth{.reachable = true, .writable = false, .backend = "sqlite", .detail = {}};
  HealthAnswer down = BuildHealth(f);
  EXPECT_EQ(down.verdict, "unavailable");
  EXPECT_EQ(Body(down).at("status"), "unavailable");
}

}  // namespace
}  // namespace rtgw::api
