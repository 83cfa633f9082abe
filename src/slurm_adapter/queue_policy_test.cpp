#include "slurm_adapter/queue_policy.hpp"

#include <gtest/gtest.h>

namespace rtgw::slurm_adapter {
namespace {

constexpr const char* kQueuePolicyText = R"({
  "contract_version": "slurm-adapter-boundary/v1",
  "queues": {
    "default": {"partition": "debug", "max_walltime_minutes": 60},
    "long": {"partition": "batch", "account": "chem", "qos": "normal", "max_walltime_minutes": 1440}
  },
  "fallback_queue": "default",
  "tenants": {"t1": {"allow": ["default"]}, "*": {"deny": ["long"]}},
  "limits": {"max_cpu": 8, "max_memory_mib": 4096, "max_walltime_minutes": 720}
})";

TEST(QueuePolicyTest, ParsesEveryField) {
  auto p = ParseQueuePolicy(kQueuePolicyText);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->queues.size(), 2u);
  const QueueMapping& l = p->queues.at("long");
  EXPECT_EQ(l.queue, "long");
  EXPECT_EQ(l.partition, "batch");
  EXPECT_EQ(l.account, "chem");
  EXPECT_EQ(l.qos, "normal");
  EXPECT_EQ(l.max_walltime_minutes, 1440);
  EXPECT_FALSE(p->queues.at("default").account.has_value());
  EXPECT_EQ(p->fallback_queue, "default");
  EXPECT_EQ(p->limits.max_cpu, 8);
  EXPECT_EQ(p->limits.max_memory_mib, 4096);
  EXPECT_EQ(p->limits.max_walltime_minutes, 720);
  ASSERT_NE(p->RuleFor("t1"), nullptr);
  EXPECT_EQ(p->RuleFor("t1")->key, "t1");
  EXPECT_EQ(p->RuleFor("other")->key, "*");  // the "*" rule applies to every other tenant
  EXPECT_EQ(p->RuleFor("other")->deny, std::vector<std::string>{"long"});
}

TEST(QueuePolicyTest, RefusesBadPoliciesNamingThePath) {
  struct Case {
    const char* text;
    const char* path;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({})", "queues"},
      {R"({"queues": {}})", "queues"},
      {R"({"queues": {"q": {"max_walltime_minutes": 5}}})", "queues.q.partition"},
      {R"({"queues": {"q": {"partition": "p"}}})", "queues.q.max_walltime_minutes"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 0}}})",
       "queues.q.max_walltime_minutes"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5, "prio": 1}}})",
       "queues.q.prio: unknown key"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}}, "fallback": "q"})",
       "fallback: unknown key"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}}, "fallback_queue": "x"})",
       "fallback_queue"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}},
           "tenants": {"t": {"allow": ["nope"]}}})",
       "tenants.t.allow[0]"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}},
           "tenants": {"t": {"deny": "q"}}})",
       "tenants.t.deny"},
      {R"({"queues": {"q": {"partition": "p", "max_walltime_minutes": 5}},
           "limits": {"max_cpu": -1}})",
       "limits.max_cpu"},
      {R"({"contract_version": "v2", "queues": {"q": {"partition": "p", "max_walltime_minutes": 5}}})",
       "contract_version"},
  };
  for (const Case& c : cases) {
    auto p = ParseQueuePolicy(c.text);
    ASSERT_FALSE(p) << c.text;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(p.error().message.find(c.path), std::string::npos)
        << c.text << " -> " << p.error().message;
  }
}

}  // namespace
}  // namespace rtgw::slurm_adapter
