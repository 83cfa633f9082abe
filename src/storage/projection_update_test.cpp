#include "storage/projection_update.hpp"

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
