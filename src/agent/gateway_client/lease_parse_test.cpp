#include "agent/gateway_client/lease_parse.hpp"

#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

constexpr const char* kLease =
    R"({"leases":[{"lease_id":"L1","lease_expires_at":"2026-01-01T00:00:00Z",
 "job_id":"job-1","tenant_id":"t1","workspace_id":"w1","submission_id":"S1","trace_id":"tr",
 "execution_profile":{"queue_name":"gpu"},
 "resource_shape":{"cpu":2,"memory_mib":512,"walltime_seconds":120},
 "payload_ref":{"input_uri":"inline://x"},"requested_by":{"user_id":"u"},
 "slurm_adapter":{"adapter":"stub-policy","contract_version":"slurm-adapter-boundary/v1",
   "requested_queue":"gpu","resolved_queue":"gpu","used_fallback":false,
   "mapping":{"queue":"gpu","partition":"long","account":"acct","qos":"hi","max_walltime_minutes":30}}}],
 "cancellations":[{"job_id":"job-2","submission_id":"S2","execution_id":"17"},
                  {"job_id":"job-3","submission_id":"S3","execution_id":null}]})";

TEST(LeaseParseTest, FullLeaseWithMapping) {
  auto r = ParseAcquireResponse(kLease);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->leases.size(), 1u);
  const Lease& l = r->leases[0];
  EXPECT_EQ(l.lease_id, "L1");
  EXPECT_EQ(l.spec.submission_id, "S1");
  EXPECT_EQ(l.spec.cpu, 2);
  EXPECT_EQ(l.spec.memory_mib, 512);
  EXPECT_EQ(l.spec.walltime_seconds, 120);
  EXPECT_EQ(l.spec.partition, "long");
  EXPECT_EQ(l.spec.account, "acct");
  EXPECT_EQ(l.spec.qos, "hi");
  EXPECT_EQ(l.spec.max_walltime_minutes, 30);
  ASSERT_EQ(r->cancellations.size(), 2u);
  EXPECT_EQ(r->cancellations[0].execution_id, "17");
  EXPECT_EQ(r->cancellations[1].execution_id, "");
}

TEST(LeaseParseTest, ValidatorCallFromPayloadRef) {
  auto r = ParseAcquireResponse(R"({"leases":[{"lease_id":"L","job_id":"vr-1-1","tenant_id":"t",
   "workspace_id":"w","submission_id":"S","trace_id":"tr",
   "execution_profile":{"queue_name":"debug"},
   "resource_shape":{"cpu":1,"memory_mib":512,"walltime_seconds":60},
   "payload_ref":{"input_uri":"file:///m/input.json","validator":{"name":"json-rules",
     "version":"1.0.0","run_id":"vr-1","callback_id":"cb-1","callback_url":"http://gw/cb"}},
   "requested_by":{"user_id":"u"},"slurm_adapter":null}],"cancellations":[]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->leases.size(), 1u);
  const JobSpec& s = r->leases[0].spec;
  EXPECT_EQ(s.input_uri, "file:///m/input.json");
  EXPECT_EQ(s.partition, "debug");
  ASSERT_TRUE(s.validator.has_value());
  EXPECT_EQ(s.validator->name, "json-rules");
  EXPECT_EQ(s.validator->callback_id, "cb-1");
  EXPECT_EQ(s.validator->callback_url, "http://gw/cb");
  auto plain = ParseAcquireResponse(kLease);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->leases[0].spec.validator.has_value());
}

TEST(LeaseParseTest, PassthroughUsesTheQueueAsPartitionExceptDefault) {
  auto r = ParseAcquireResponse(R"({"leases":[
    {"lease_id":"A","job_id":"j","submission_id":"s","resource_shape":{"cpu":1.0,"memory_mib":1,"walltime_seconds":1},
     "payload_ref":{"input_uri":"inline://x"},"execution_profile":{"queue_name":"debug"},
     "slurm_adapter":{"adapter":"passthrough","resolved_queue":"debug","mapping":null}},
    {"lease_id":"B","job_id":"j","submission_id":"s2","resource_shape":{"cpu":1,"memory_mib":1,"walltime_seconds":1},
     "payload_ref":{"input_uri":"inline://x"},"execution_profile":{"queue_name":"default"}}],
    "cancellations":[]})");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->leases.size(), 2u);
  EXPECT_EQ(r->leases[0].spec.partition, "debug");
  EXPECT_FALSE(r->leases[0].spec.max_walltime_minutes.has_value());
  EXPECT_EQ(r->leases[1].spec.partition, "");
}

TEST(LeaseParseTest, MalformedLeasesAreReportedForRelease) {
  auto r = ParseAcquireResponse(
      R"({"leases":[{"lease_id":"X","job_id":"j"}, 5, {"job_id":"no-lease"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->leases.empty());
  ASSERT_EQ(r->malformed_lease_ids.size(), 1u);
  EXPECT_EQ(r->malformed_lease_ids[0], "X");
  // What the gateway never sends is malformed too: a submission id that could be a path (it
  // names files on the node), non-positive resources.
  for (const char* bad : {R"("submission_id":"../../etc","resource_shape":{"cpu":1,"memory_mib":1)",
                          R"("submission_id":"S1","resource_shape":{"cpu":-2,"memory_mib":1)",
                          R"("submission_id":"S1","resource_shape":{"cpu":1,"memory_mib":0)"}) {
    auto m =
        ParseAcquireResponse(std::string(R"({"leases":[{"lease_id":"M","job_id":"j",)") + bad +
                             R"(,"walltime_seconds":60},"payload_ref":{"input_uri":"x://"}}]})");
    ASSERT_TRUE(m.ok()) << bad;
    EXPECT_TRUE(m->leases.empty()) << bad;
    ASSERT_EQ(m->malformed_lease_ids.size(), 1u) << bad;
  }
  EXPECT_FALSE(ParseAcquireResponse("[]").ok());
  EXPECT_FALSE(ParseAcquireResponse("{").ok());
  EXPECT_TRUE(ParseAcquireResponse("{}").ok());
}

}  // namespace
}  // namespace rtgw::agent
