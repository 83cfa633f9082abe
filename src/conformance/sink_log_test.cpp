#include "conformance/sink_log.hpp"

#include <gtest/gtest.h>

namespace rtgw::conformance {
namespace {

const std::vector<ProjectionStep> kServed = {
    {1, "submitted", "queued"}, {2, "running", "running"}, {3, "completed", "finished"}};

std::string Line(const std::string& tenant, const std::string& job, int version,
                 const std::string& state, const std::string& status) {
  return R"({"tenant_id":")" + tenant + R"(","workspace_id":"w","job_id":")" + job +
         R"(","submission_id":"s","status":")" + status + R"(","state":")" + state +
         R"(","projection_version":)" + std::to_string(version) +
         R"(,"occurred_at":"2026-02-18T00:00:00.000000Z","trace_id":"t"})" + "\n";
}

TEST(SinkLog, ParsesOnlyTheJobOfTheTenantInFileOrder) {
  const std::string text =
      Line("t1", "j1", 1, "submitted", "queued") + Line("t2", "j1", 1, "submitted", "queued") +
      "\n" + Line("t1", "j2", 1, "submitted", "queued") + Line("t1", "j1", 2, "running", "running");
  auto steps = ParseSinkLog(text, "t1", "j1");
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0], (ProjectionStep{1, "submitted", "queued"}));
  EXPECT_EQ((*steps)[1], (ProjectionStep{2, "running", "running"}));
}

TEST(SinkLog, RejectsANonJsonLineNamingIt) {
  auto steps = ParseSinkLog(Line("t1", "j1", 1, "submitted", "queued") + "not json\n", "t1", "j1");
  ASSERT_FALSE(steps.ok());
  EXPECT_NE(steps.error().message.find("line 2"), std::string::npos);
}

TEST(SinkLog, MissingFileIsNotFound) {
  auto steps = ReadSinkLog("/nonexistent/sink.jsonl", "t", "j");
  ASSERT_FALSE(steps.ok());
  EXPECT_EQ(steps.error().code, ErrorCode::kNotFound);
}

TEST(SinkLog, SameSequenceIsAligned) {
  EXPECT_EQ(CompareProjectionSequences(kServed, kServed), "");
}

TEST(SinkLog, RedeliveryOfAVersionIsAligned) {
  auto got = kServed;
  got.insert(got.begin() + 2, kServed[1]);
  EXPECT_EQ(CompareProjectionSequences(kServed, got), "");
}

TEST(SinkLog, BackwardsVersionIsAMismatch) {
  const std::vector<ProjectionStep> got = {kServed[0], kServed[2], kServed[1]};
  EXPECT_NE(CompareProjectionSequences(kServed, got).find("went backwards"), std::string::npos);
}

TEST(SinkLog, MissingVersionIsAMismatch) {
  const std::vector<ProjectionStep> got = {kServed[0], kServed[1]};
  EXPECT_NE(CompareProjectionSequences(kServed, got).find("never received version 3"),
            std::string::npos);
}

TEST(SinkLog, OtherContentForAVersionIsAMismatch) {
  auto got = kServed;
  got[2].status = "failed";
  EXPECT_NE(CompareProjectionSequences(kServed, got).find("version 3 differs"), std::string::npos);
}

TEST(SinkLog, UnknownVersionIsAMismatch) {
  auto got = kServed;
  got.push_back({4, "completed", "finished"});
  EXPECT_NE(CompareProjectionSequences(kServed, got).find("never served"), std::string::npos);
}

}  // namespace
}  // namespace rtgw::conformance
