#include "storage/projection_update.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

JobRecord Job() {
  JobRecord job;
  job.tenant_id = "t1";
  job.workspace_id = "w1";
  job.job_id = "job-1";
  job.submission_id = "sub-1";
  job.state = jobs::JobState::kCompleted;
  job.projection_version = 4;
  return job;
}

TEST(ProjectionUpdate, FieldsInContractOrder) {
  JobRecord job = Job();
  job.result_ref_json = R"({"output_uri":"file:///o"})";
  EXPECT_EQ(BuildProjectionUpdate(job, "2026-01-01T00:00:00.000000Z", "tr"),
            R"({"tenant_id":"t1","workspace_id":"w1","job_id":"job-1","submission_id":"sub-1",)"
            R"("status":"finished","state":"completed","projection_version":4,)"
            R"("occurred_at":"2026-01-01T00:00:00.000000Z","trace_id":"tr",)"
            R"("result_ref":{"output_uri":"file:///o"}})");
}

TEST(ProjectionUpdate, SameTextAsTheJsonObjectInContractOrder) {
  JobRecord job = Job();
  job.tenant_id = "t \u00e9\"\\/\u2028";
  job.error_json = R"({"code":"E\"1","exit_code":3,"message":"m\u00e9"})";
  job.result_ref_json = R"({"output_uri":"s3://b/o"})";
  boost::json::object o;
  o["tenant_id"] = job.tenant_id;
  o["workspace_id"] = job.workspace_id;
  o["job_id"] = job.job_id;
  o["submission_id"] = job.submission_id;
  o["status"] = "finished";
  o["state"] = "completed";
  o["projection_version"] = job.projection_version;
  o["occurred_at"] = "2026-01-01T00:00:00.000000Z";
  o["trace_id"] = "tr";
  o["result_ref"] = boost::json::parse(*job.result_ref_json);
  o["error"] = boost::json::parse(*job.error_json);
  EXPECT_EQ(BuildProjectionUpdate(job, "2026-01-01T00:00:00.000000Z", "tr"),
            boost::json::serialize(o));
}

TEST(ProjectionUpdate, OptionalPartsOmittedWhenAbsentOrCorrupt) {
  JobRecord job = Job();
  job.state = jobs::JobState::kSubmitted;
  job.projection_version = 1;
  job.error_json = "{not json";
  const std::string body = BuildProjectionUpdate(job, "x", "y");
  EXPECT_NE(body.find(R"("status":"queued","state":"submitted")"), std::string::npos);
  EXPECT_EQ(body.find("result_ref"), std::string::npos);
  EXPECT_EQ(body.find("error"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::storage
