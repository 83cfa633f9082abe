#include "agent/core/event_body.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::agent {
namespace {

namespace json = boost::json;

JobSpec Spec() {
  JobSpec s;
  s.submission_id = "S";
  s.job_id = "job-1";
  s.tenant_id = "t1";
  s.workspace_id = "w1";
  s.trace_id = "tr";
  return s;
}

TEST(EventBodyTest, DeterministicIdAndFields) {
  const std::string a = BuildEventBody(Spec(), "queued", "42", "2026-01-01T00:00:00Z", nullptr, "");
  json::object o = json::parse(a).as_object();
  EXPECT_EQ(o["event_id"].as_string(), "S:queued");
  EXPECT_EQ(o["execution_id"].as_string(), "42");
  EXPECT_EQ(o["state"].as_string(), "queued");
  EXPECT_EQ(o["tenant_id"].as_string(), "t1");
  EXPECT_EQ(o["workspace_id"].as_string(), "w1");
  EXPECT_EQ(o["trace_id"].as_string(), "tr");
  EXPECT_FALSE(o.contains("error"));
  EXPECT_EQ(a, BuildEventBody(Spec(), "queued", "42", "2026-01-01T00:00:00Z", nullptr, ""));
}

TEST(EventBodyTest, FailedCarriesExitCodeAndSignal) {
  JobObservation obs;
  obs.phase = JobPhase::kFailed;
  obs.error_code = "exit_code";
  obs.exit_code = 3;
  obs.signal = 0;
  obs.message = "JobState=FAILED";
  json::object o =
      json::parse(BuildEventBody(Spec(), "failed", "42", "2026-01-01T00:00:00Z", &obs, ""))
          .as_object();
  EXPECT_EQ(o["error"].as_object()["code"].as_string(), "exit_code");
  EXPECT_EQ(o["error"].as_object()["exit_code"].as_int64(), 3);
  EXPECT_EQ(o["error"].as_object()["signal"].as_int64(), 0);
}

TEST(EventBodyTest, RejectedBeforeSubmissionHasNoExecutionId) {
  JobObservation obs;
  obs.error_code = "walltime_exceeds_limit";
  json::object o =
      json::parse(BuildEventBody(Spec(), "failed", "", "2026-01-01T00:00:00Z", &obs, ""))
          .as_object();
  EXPECT_EQ(o["execution_id"].as_string(), "none");
  EXPECT_EQ(o["error"].as_object()["code"].as_string(), "walltime_exceeds_limit");
}

TEST(EventBodyTest, CompletedCarriesOutputUri) {
  json::object o = json::parse(BuildEventBody(Spec(), "completed", "42", "2026-01-01T00:00:00Z",
                                              nullptr, "file:///w/rtgw-S.out"))
                       .as_object();
  EXPECT_EQ(o["result_ref"].as_object()["output_uri"].as_string(), "file:///w/rtgw-S.out");
}

TEST(EventBodyTest, HeartbeatCatalogue) {
  slurm::ClusterInfo info;
  info.config.version = "22.05.8";
  info.config.cluster = "c";
  slurm::SlurmPartition debug;
  debug.name = "debug";
  debug.state = "up";
  debug.is_default = true;
  debug.max_time_minutes = 60;
  slurm::SlurmPartition big;
  big.name = "big";
  info.partitions = {debug, big};
  json::object o = json::parse(BuildHeartbeatBody("0.1", "slurm", info, {}, 3)).as_object();
  EXPECT_EQ(o["slurm"].as_object()["version"].as_string(), "22.05.8");
  auto& parts = o["slurm"].as_object()["partitions"].as_array();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].as_object().at("max_time_minutes").as_int64(), 60);
  EXPECT_TRUE(parts[1].as_object().at("max_time_minutes").is_null());
  EXPECT_EQ(o["in_flight"].as_int64(), 3);
  json::object filtered =
      json::parse(BuildHeartbeatBody("0.1", "slurm", info, {"debug"}, 0)).as_object();
  EXPECT_EQ(filtered["slurm"].as_object()["partitions"].as_array().size(), 1u);
  json::object local =
      json::parse(BuildHeartbeatBody("0.1", "local", std::nullopt, {}, 0)).as_object();
  EXPECT_TRUE(local["slurm"].is_null());
}

TEST(EventBodyTest, BackoffIsBoundedExponentialWithJitter) {
  std::mt19937_64 rng(1);
  const auto initial = std::chrono::milliseconds(100), max = std::chrono::milliseconds(2000);
  for (int attempt = 1; attempt <= 30; ++attempt) {
    long long expected = std::min<long long>(2000, 100LL << std::min(attempt - 1, 20));
    for (int i = 0; i < 20; ++i) {
      const auto d = BackoffDelay(attempt, initial, max, rng).count();
      EXPECT_GE(d, expected / 2) << attempt;
      EXPECT_LE(d, expected) << attempt;
    }
  }
}

}  // namespace
}  // namespace rtgw::agent
