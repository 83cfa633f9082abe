// WithSlurmAdapter (submit_boundary.hpp) against the slow way it replaces:
// parse the spec, add "slurm_adapter", canonicalize the whole object.

#include "api/submit_boundary.hpp"

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/canonical_json.hpp"
#include "api/job_requests.hpp"
#include "slurm_adapter/adapter.hpp"

namespace rtgw::api {
namespace {
namespace json = boost::json;

std::string SlowWay(const std::string& spec_json, const json::value& boundary) {
  json::value spec = json::parse(spec_json);
  spec.as_object()["slurm_adapter"] = json::parse(json::serialize(boundary));
  return CanonicalJson(spec);
}

json::value BoundaryFor(const std::string& queue, bool fallback, bool mapped) {
  slurm_adapter::BoundaryRecord b;
  b.adapter = slurm_adapter::AdapterMode::kStubPolicy;
  b.requested_queue = queue;
  b.resolved_queue = fallback ? "default" : queue;
  b.used_fallback = fallback;
  if (mapped) {
    b.mapping.emplace();
    b.mapping->partition = "part-\"x\"\u00e9";
  }
  return slurm_adapter::BoundaryValue(b);
}

TEST(SubmitBoundaryTest, AddingTheBoundaryEqualsCanonicalizingTheMergedSpec) {
  for (const char* queue : {"default", "gpu", "q\\\"uoted", "\xc3\xa9t\xc3\xa9"}) {
    json::object body{
        {"tenant_id", "t1"},
        {"workspace_id", "ws"},
        {"job_id", "job-1"},
        {"idempotency_key", "k"},
        {"management_node_id", "mn-1"},
        {"execution_profile", {{"queue_name", queue}}},
        {"resource_shape", {{"cpu", 2}, {"memory_mib", 4096}, {"walltime_seconds", 60}}},
        {"payload_ref", {{"input_uri", "s3://b/in"}}},
        {"requested_by", {{"user_id", "u"}}}};
    auto record = ParseSubmitRequest(json::serialize(body), {"t1", "sub", "now", "tr"});
    ASSERT_TRUE(record.ok()) << record.error().message;
    for (bool fallback : {false, true}) {
      for (bool mapped : {false, true}) {
        const json::value boundary = BoundaryFor(queue, fallback, mapped);
        EXPECT_EQ(WithSlurmAdapter(record->spec_json, boundary),
                  SlowWay(record->spec_json, boundary))
            << queue << " " << fallback << " " << mapped;
      }
    }
  }
}

TEST(SubmitBoundaryTest, EdgeShapesFallBackToTheSlowWayOrStayValid) {
  const json::value boundary = BoundaryFor("q", false, false);
  EXPECT_EQ(WithSlurmAdapter("{}", boundary), SlowWay("{}", boundary));
  EXPECT_EQ(WithSlurmAdapter(" {\"a\":1} ", boundary), SlowWay("{\"a\":1}", boundary));
}

}  // namespace
}  // namespace rtgw::api
