#include "storage/job_cache.hpp"

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

JobRecord Job(std::string tenant, std::string job, std::int64_t version = 1) {
  JobRecord r;
  r.tenant_id = std::move(tenant);
  r.job_id = std::move(job);
  r.workspace_id = "ws";
  r.submission_id = "sub-" + r.job_id;
  r.projection_version = version;
  r.updated_at = "t" + std::to_string(version);
  return r;
}

TEST(JobCacheTest, FindsWhatWasCommittedScopedByTenant) {
  JobCache cache(8);
  cache.PutCommitted(Job("t1", "j1"));
  auto hit = cache.Find("t1", "j1");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->submission_id, "sub-j1");
  EXPECT_EQ(cache.Find("t2", "j1"), nullptr);
  // The key is unambiguous: ("t1", "j1") is not ("t", "1j1").
  EXPECT_EQ(cache.Find("t", "1j1"), nullptr);
}

TEST(JobCacheTest, AppliedChangeUpdatesCachedRowAndKeepsAbsentRefs) {
  JobCache cache(8);
  cache.PutCommitted(Job("t", "j"));
  cache.ApplyCommitted("t", "j", jobs::JobState::kRunning, 2, "t2", std::nullopt, std::nullopt);
  cache.ApplyCommitted("t", "j", jobs::JobState::kCompleted, 3, "t3",
                       std::string(R"({"output_uri":"s3://x"})"), std::nullopt);
  auto hit = cache.Find("t", "j");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->state, jobs::JobState::kCompleted);
  EXPECT_EQ(hit->projection_version, 3);
  EXPECT_EQ(hit->updated_at, "t3");
  EXPECT_EQ(hit->result_ref_json, R"({"output_uri":"s3://x"})");
  EXPECT_FALSE(hit->error_json.has_value());
}

TEST(JobCacheTest, ReaderFillRacedByCommitIsDropped) {
  JobCache cache(8);
  // A reader takes the generation, reads version 1 from the database...
  const std::uint64_t generation = cache.Generation();
  // ...meanwhile the writer commits version 2 of that (uncached) job...
  cache.ApplyCommitted("t", "j", jobs::JobState::kRunning, 2, "t2", std::nullopt, std::nullopt);
  // ...so the reader's stale row must not enter the cache.
  cache.FillIfUnchanged(generation, Job("t", "j", 1));
  EXPECT_EQ(cache.Find("t", "j"), nullptr);
  // A fill with no commit in between is kept.
  cache.FillIfUnchanged(cache.Generation(), Job("t", "j", 2));
  ASSERT_NE(cache.Find("t", "j"), nullptr);
  EXPECT_EQ(cache.Find("t", "j")->projection_version, 2);
}

TEST(JobCacheTest, FillNeverLowersTheVersion) {
  JobCache cache(8);
  cache.PutCommitted(Job("t", "j", 1));
  cache.ApplyCommitted("t", "j", jobs::JobState::kRunning, 2, "t2", std::nullopt, std::nullopt);
  cache.FillIfUnchanged(cache.Generation(), Job("t", "j", 1));
  EXPECT_EQ(cache.Find("t", "j")->projection_version, 2);
}

TEST(JobCacheTest, EvictsLeastRecentlyUsed) {
  JobCache cache(2);
  cache.PutCommitted(Job("t", "a"));
  cache.PutCommitted(Job("t", "b"));
  ASSERT_NE(cache.Find("t", "a"), nullptr);  // a is now the most recent
  cache.PutCommitted(Job("t", "c"));         // evicts b
  EXPECT_NE(cache.Find("t", "a"), nullptr);
  EXPECT_EQ(cache.Find("t", "b"), nullptr);
  EXPECT_NE(cache.Find("t", "c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(JobCacheTest, ClearDropsEntriesAndPendingFills) {
  JobCache cache(8);
  cache.PutCommitted(Job("t", "a"));
  const std::uint64_t generation = cache.Generation();
  cache.Clear();
  EXPECT_EQ(cache.Find("t", "a"), nullptr);
  cache.FillIfUnchanged(generation, Job("t", "b"));
  EXPECT_EQ(cache.Find("t", "b"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(JobCacheTest, CapacityZeroDisables) {
  JobCache cache(0);
  cache.PutCommitted(Job("t", "a"));
  cache.FillIfUnchanged(cache.Generation(), Job("t", "b"));
  EXPECT_EQ(cache.Find("t", "a"), nullptr);
  EXPECT_EQ(cache.Find("t", "b"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace rtgw::storage
