#include "api/node_requests.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

namespace json = boost::json;

constexpr const char* kHeartbeat = R"({"agent_version": "0.3.0", "executor": "slurm",
  "slurm": {"version": "22.05.8", "cluster": "ci",
            "partitions": [{"name": "debug", "state": "up", "default": true,
                            "max_time_minutes": 60, "total_nodes": 1, "idle_nodes": 1,
                            "total_cpus": 2, "idle_cpus": 2}],
            "accounts": [], "qos": []},
  "in_flight": 3})";

TEST(NodeRequestsTest, ParsesHeartbeat) {
  auto hb = ParseHeartbeat(kHeartbeat);
  ASSERT_TRUE(hb) << hb.error().message;
  EXPECT_EQ(hb->agent_version, "0.3.0");
  EXPECT_EQ(hb->executor, "slurm");
  EXPECT_EQ(hb->in_flight, 3);
  ASSERT_TRUE(hb->catalogue);
  EXPECT_EQ(hb->catalogue->partitions[0].max_time_minutes, 60);
  auto local = ParseHeartbeat(R"({"agent_version": "1", "executor": "local", "slurm": null})");
  ASSERT_TRUE(local);
  EXPECT_FALSE(local->catalogue);
}

TEST(NodeRequestsTest, RejectsBadHeartbeatsNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {"[]", "JSON object"},
      {R"({"executor": "slurm"})", "agent_version"},
      {R"({"agent_version": "1", "executor": "pbs"})", "executor"},
      {R"({"agent_version": "1", "executor": "slurm"})", "slurm"},
      {R"({"agent_version": "1", "executor": "local", "in_flight": -1})", "in_flight"},
      {R"({"agent_version": "1", "executor": "slurm", "slurm": {"version": "1",
          "partitions": [{"name": "p"}]}})",
       "slurm.partitions[0].state"},
  };
  for (const Case& c : cases) {
    auto r = ParseHeartbeat(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.field), std::string::npos) << r.error().message;
  }
}

TEST(NodeRequestsTest, AcquireAndRenewBounds) {
  auto d = ParseAcquire("");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_jobs, 16);
  EXPECT_EQ(d->wait_seconds, 20);
  EXPECT_EQ(d->lease_seconds, 60);
  auto a = ParseAcquire(R"({"max_jobs": 256, "wait_seconds": 0, "lease_seconds": 10})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->max_jobs, 256);
  EXPECT_FALSE(ParseAcquire(R"({"max_jobs": 0})"));
  EXPECT_FALSE(ParseAcquire(R"({"wait_seconds": 26})"));
  EXPECT_FALSE(ParseAcquire(R"({"lease_seconds": 9})"));
  EXPECT_FALSE(ParseAcquire(R"({"lease_seconds": "60"})"));
  EXPECT_EQ(*ParseRenew(""), 60);
  EXPECT_EQ(*ParseRenew(R"({"lease_seconds": 600})"), 600);
  EXPECT_FALSE(ParseRenew(R"({"lease_seconds": 601})"));
}

TEST(NodeRequestsTest, AcquireResponseCarriesTheSpecAndBoundary) {
  storage::AcquireResult r;
  storage::Lease l;
  l.lease_id = "L1";
  l.expires_at = SystemTime(std::chrono::seconds(1'800'000'000));
  l.job.job_id = "j1";
  l.job.tenant_id = "t";
  l.job.workspace_id = "w";
  l.job.submission_id = "s";
  l.job.trace_id = "tr";
  l.job.spec_json = R"({"execution_profile":{"queue_name":"q"},"payload_ref":{"input_uri":"x:y"},)"
                    R"("requested_by":{"user_id":"u"},"resource_shape":{"cpu":1},)"
                    R"("slurm_adapter":{"adapter":"stub-policy"}})";
  r.leases.push_back(l);
  r.cancellations.push_back({"j2", "s2", std::nullopt});
  json::value v = json::parse(AcquireResponseJson(r));
  const json::object& lease = v.at("leases").at(0).get_object();
  EXPECT_EQ(lease.at("lease_id"), "L1");
  EXPECT_EQ(lease.at("lease_expires_at"), "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(lease.at("execution_profile").at("queue_name"), "q");
  EXPECT_EQ(lease.at("slurm_adapter").at("adapter"), "stub-policy");
  EXPECT_EQ(v.at("cancellations").at(0).at("execution_id"), nullptr);
}

TEST(NodeRequestsTest, ManagedRuntimeMarksStaleNodesAndHidesThemFromAnonymousCallers) {
  const SystemTime now(std::chrono::seconds(1'800'000'000));
  storage::NodeRecord fresh{.tenant_id = "t",
                            .node_id = "a",
                            .executor = "slurm",
                            .catalogue_json = R"({"partitions":[],"version":"22"})",
                            .last_seen = now - std::chrono::seconds(10)};
  storage::NodeRecord stale = fresh;
  stale.node_id = "b";
  stale.last_seen = now - std::chrono::seconds(61);
  json::value listed =
      json::parse(ManagedRuntimeJson({fresh, stale}, true, now, std::chrono::seconds(60)));
  EXPECT_EQ(listed.at("status"), "degraded");
  EXPECT_EQ(listed.at("nodes_stale"), 1);
  EXPECT_EQ(listed.at("nodes").at(0).at("stale"), false);
  EXPECT_EQ(listed.at("nodes").at(0).at("slurm_version"), "22");
  EXPECT_EQ(listed.at("nodes").at(1).at("stale"), true);
  json::value anonymous =
      json::parse(ManagedRuntimeJson({fresh}, false, now, std::chrono::seconds(60)));
  EXPECT_EQ(anonymous.at("status"), "ok");
  EXPECT_TRUE(anonymous.at("nodes").get_array().empty());
  EXPECT_EQ(json::parse(ManagedRuntimeJson({}, true, now, std::chrono::seconds(60))).at("status"),
            "empty");
}

}  // namespace
}  // namespace rtgw::api
