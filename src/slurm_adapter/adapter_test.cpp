#include "slurm_adapter/adapter.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::slurm_adapter {
namespace {

using std::chrono::seconds;

constexpr const char* kPolicy = R"({
  "queues": {
    "default": {"partition": "debug", "max_walltime_minutes": 60},
    "long": {"partition": "batch", "account": "chem", "qos": "normal", "max_walltime_minutes": 1440},
    "gpu": {"partition": "gpu", "max_walltime_minutes": 120}
  },
  "fallback_queue": "default",
  "tenants": {"t-allow": {"allow": ["default"]}, "t-deny": {"deny": ["gpu"]}},
  "limits": {"max_cpu": 8, "max_memory_mib": 4096}
})";

AdapterSettings Settings(const std::string& mode, const char* policy = kPolicy) {
  AdapterInputs in;
  in.mode = mode;
  if (policy != nullptr) {
    in.policy_path = "/etc/rtgw/policy.json";
    in.policy_text = policy;
  }
  auto s = BuildAdapterSettings(in);
  EXPECT_TRUE(s) << s.error().message;
  return std::move(s).value();
}

Catalogue TestCatalogue() {
  auto c = ParseCatalogue(boost::json::parse(R"({"version": "22.05.8", "cluster": "ci",
      "partitions": [{"name": "debug", "state": "up", "max_time_minutes": 30},
                     {"name": "batch", "state": "up", "max_time_minutes": null},
                     {"name": "gpu", "state": "down", "max_time_minutes": 120}],
      "accounts": ["chem"], "qos": ["normal"]})"));
  EXPECT_TRUE(c);
  return std::move(c).value();
}

ResolveInput Input(std::string_view tenant, std::string_view queue, std::int64_t walltime_s = 600) {
  ResolveInput in;
  in.tenant_id = tenant;
  in.management_node_id = "node-1";
  in.queue_name = queue;
  in.walltime_seconds = walltime_s;
  in.cpu = 1;
  in.memory_mib = 1024;
  in.now = SystemTime(seconds(1'800'000'000));
  return in;
}

TEST(AdapterTest, PassthroughResolvesToTheRequestedQueueWithoutMapping) {
  AdapterSettings s = Settings("passthrough", nullptr);
  auto r = Resolve(s, Input("t", "anything", 10'000'000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resolved_queue, "anything");
  EXPECT_FALSE(r->used_fallback);
  EXPECT_FALSE(r->mapping.has_value());
  EXPECT_EQ(BoundaryJson(*r),
            R"({"adapter":"passthrough","contract_version":"slurm-adapter-boundary/v1",)"
            R"("requested_queue":"anything","resolved_queue":"anything","used_fallback":false,)"
            R"("mapping":null})");
}

TEST(AdapterTest, StubPolicyMapsKnownQueuesAndFallsBackForUnknownOnes) {
  AdapterSettings s = Settings("stub-policy");
  auto known = Resolve(s, Input("t", "long"));
  ASSERT_TRUE(known);
  EXPECT_EQ(known->resolved_queue, "long");
  EXPECT_FALSE(known->used_fallback);
  ASSERT_TRUE(known->mapping);
  EXPECT_EQ(BoundaryJson(*known),
            R"({"adapter":"stub-policy","contract_version":"slurm-adapter-boundary/v1",)"
            R"("requested_queue":"long","resolved_queue":"long","used_fallback":false,)"
            R"("mapping":{"queue":"long","partition":"batch","account":"chem","qos":"normal",)"
            R"("max_walltime_minutes":1440}})");
  auto unknown = Resolve(s, Input("t", "whatever"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->requested_queue, "whatever");
  EXPECT_EQ(unknown->resolved_queue, "default");
  EXPECT_TRUE(unknown->used_fallback);
  EXPECT_EQ(unknown->mapping->partition, "debug");
}

TEST(AdapterTest, DenialsNameTheQueueAndTheRule) {
  AdapterSettings s = Settings("stub-policy");
  auto denied = Resolve(s, Input("t-deny", "gpu"));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().api_code, "queue_denied");
  EXPECT_NE(denied.error().message.find("'gpu'"), std::string::npos);
  EXPECT_NE(denied.error().message.find("tenants.t-deny.deny"), std::string::npos);

  auto not_allowed = Resolve(s, Input("t-allow", "long"));
  ASSERT_FALSE(not_allowed);
  EXPECT_EQ(not_allowed.error().api_code, "queue_denied");
  EXPECT_NE(not_allowed.error().message.find("tenants.t-allow.allow"), std::string::npos);
  // ... while the allowed queue and the fallback (which is on the allow list) pass.
  EXPECT_TRUE(Resolve(s, Input("t-allow", "default")));
  EXPECT_TRUE(Resolve(s, Input("t-allow", "unknown-queue")));

  AdapterSettings no_fallback = Settings(
      "stub-policy", R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}}})");
  auto undefined = Resolve(no_fallback, Input("t", "other"));
  ASSERT_FALSE(undefined);
  EXPECT_EQ(undefined.error().api_code, "queue_denied");
  EXPECT_NE(undefined.error().message.find("'other'"), std::string::npos);
  EXPECT_NE(undefined.error().message.find("fallback_queue"), std::string::npos);
}

TEST(AdapterTest, LimitsAreUnprocessable) {
  AdapterSettings s = Settings("stub-policy");
  // 60 minutes exactly fits; one second more rounds up to 61 and does not.
  EXPECT_TRUE(Resolve(s, Input("t", "default", 3600)));
  auto over = Resolve(s, Input("t", "default", 3601));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(over.error().api_code, "walltime_exceeded");
  EXPECT_NE(over.error().message.find("max_walltime_minutes 60"), std::string::npos);
  ResolveInput cpu = Input("t", "default");
  cpu.cpu = 9;
  auto cpu_over = Resolve(s, cpu);
  ASSERT_FALSE(cpu_over);
  EXPECT_EQ(cpu_over.error().api_code, "resource_limit_exceeded");
  ResolveInput mem = Input("t", "default");
  mem.memory_mib = 4097;
  EXPECT_EQ(Resolve(s, mem).error().api_code, "resource_limit_exceeded");
}

TEST(AdapterTest, RealPolicyNeedsAFreshCatalogue) {
  AdapterSettings s = Settings("real-policy");
  ResolveInput in = Input("t", "default");
  auto none = Resolve(s, in);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(none.error().api_code, "slurm_unavailable");

  CatalogueSnapshot snap{
      .node_id = "node-1", .reported_at = in.now - seconds(121), .catalogue = TestCatalogue()};
  in.catalogue = &snap;
  auto stale = Resolve(s, in);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().api_code, "slurm_unavailable");
  EXPECT_NE(stale.error().message.find("121 s old"), std::string::npos);

  snap.reported_at = in.now - seconds(120);  // exactly at the bound: still usable
  auto fresh = Resolve(s, in);
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(fresh->adapter, AdapterMode::kRealPolicy);
  EXPECT_EQ(fresh->mapping->partition, "debug");
}

TEST(AdapterTest, RealPolicyChecksThePartition) {
  AdapterSettings s = Settings("real-policy");
  CatalogueSnapshot snap{.node_id = "node-1",
                         .reported_at = SystemTime(seconds(1'800'000'000)),
                         .catalogue = TestCatalogue()};
  // Queue "default" allows 60 min but partition debug's MaxTime is 30.
  ResolveInput ok = Input("t", "default", 30 * 60);
  ok.catalogue = &snap;
  EXPECT_TRUE(Resolve(s, ok));
  ResolveInput over = Input("t", "default", 31 * 60);
  over.catalogue = &snap;
  auto r = Resolve(s, over);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().api_code, "walltime_exceeded");
  EXPECT_NE(r.error().message.find("partition 'debug' MaxTime 30"), std::string::npos);
  // Partition down: unavailable, never a silent fallback to another queue.
  ResolveInput gpu = Input("t", "gpu");
  gpu.catalogue = &snap;
  auto down = Resolve(s, gpu);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().api_code, "slurm_unavailable");
  EXPECT_NE(down.error().message.find("down"), std::string::npos);
  // The same policy in stub-policy ignores the catalogue: parity of field semantics.
  EXPECT_TRUE(Resolve(Settings("stub-policy"), gpu));
  auto stub = Resolve(Settings("stub-policy"), ok);
  auto real = Resolve(s, ok);
  ASSERT_TRUE(stub && real);
  EXPECT_EQ(stub->resolved_queue, real->resolved_queue);
  EXPECT_EQ(stub->used_fallback, real->used_fallback);
  EXPECT_EQ(stub->mapping->partition, real->mapping->partition);
}

TEST(AdapterTest, CheckMappingListsEveryProblem) {
  Catalogue c = TestCatalogue();
  c.accounts = {"other"};
  QueueMapping m{.queue = "long",
                 .partition = "batch",
                 .account = "chem",
                 .qos = "gold",
                 .max_walltime_minutes = 100};
  auto problems = CheckMapping(m, c);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].kind, MappingProblem::Kind::kAccountUnknown);
  EXPECT_EQ(problems[1].kind, MappingProblem::Kind::kQosUnknown);
  m.partition = "debug";
  m.account.reset();
  m.qos.reset();
  problems = CheckMapping(m, c);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, MappingProblem::Kind::kWalltimeAboveMaxTime);
  m.partition = "missing";
  EXPECT_EQ(CheckMapping(m, c)[0].kind, MappingProblem::Kind::kPartitionMissing);
}

TEST(AdapterTest, SettingsValidation) {
  auto bad_mode = BuildAdapterSettings({.mode = "real"});
  ASSERT_FALSE(bad_mode);
  EXPECT_NE(bad_mode.error().message.find("ZPE_SLURM_ADAPTER"), std::string::npos);
  auto no_policy = BuildAdapterSettings({.mode = "stub-policy"});
  ASSERT_FALSE(no_policy);
  EXPECT_NE(no_policy.error().message.find("RTGW_QUEUE_POLICY_FILE"), std::string::npos);
  auto unreadable = BuildAdapterSettings({.mode = "passthrough", .policy_path = "/nope"});
  ASSERT_FALSE(unreadable);
  auto invalid = BuildAdapterSettings(
      {.mode = "stub-policy", .policy_path = "p.json", .policy_text = R"({"queues": 1})"});
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message.find("queues"), std::string::npos);
  auto half = BuildAdapterSettings({.mode = "passthrough", .owner = "alice"});
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("ZPE_SLURM_ADAPTER_EXPIRES_AT"), std::string::npos);
  auto bad_time =
      BuildAdapterSettings({.mode = "passthrough", .owner = "alice", .expires_at = "tomorrow"});
  ASSERT_FALSE(bad_time);
  // Past what a SystemTime holds: refused, not wrapped into 1816 (and so never "expired").
  auto far = BuildAdapterSettings(
      {.mode = "passthrough", .owner = "alice", .expires_at = "9999-12-31T23:59:59Z"});
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("2262-04-11T23:47:16Z"), std::string::npos);
  auto real_rollback = BuildAdapterSettings({.mode = "real-policy",
                                             .policy_path = "p.json",
                                             .policy_text = kPolicy,
                                             .owner = "alice",
                                             .expires_at = "2026-01-01T00:00:00Z"});
  ASSERT_FALSE(real_rollback);

  auto rollback = BuildAdapterSettings(
      {.mode = "passthrough", .owner = "alice", .expires_at = "2026-01-01T00:00:00+01:00"});
  ASSERT_TRUE(rollback) << rollback.error().message;
  EXPECT_EQ(rollback->rollback_expires_at_text, "2025-12-31T23:00:00.000000Z");
  const SystemTime expiry = *rollback->rollback_expires_at;
  EXPECT_TRUE(GetRollbackStatus(*rollback, expiry - seconds(1)).active);
  EXPECT_FALSE(GetRollbackStatus(*rollback, expiry - seconds(1)).expired);
  EXPECT_TRUE(GetRollbackStatus(*rollback, expiry).expired);
  EXPECT_FALSE(GetRollbackStatus(Settings("stub-policy"), expiry).active);
}

}  // namespace
}  // namespace rtgw::slurm_adapter
