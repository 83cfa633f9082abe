#include "storage/job_cache.hpp"

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

// An applied event reporting `state` at `received_at`.
EventRecord Applied(std::string tenant, std::string job, jobs::JobState state,
                    std::string received_at, std::optional<std::string> result_ref = std::nullopt) {
  EventRecord e;
  e.tenant_id = std::move(tenant);
  e.job_id = std::move(job);
  e.state = state;
  e.received_at = std::move(received_at);
  e.result_ref_json = std::move(result_ref);
  return e;
}

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
  cache.ApplyCommitted(Applied("t", "j", jobs::JobState::kRunning, "t2"), 2);
  cache.ApplyCommitted(
      Applied("t", "j", jobs::JobState::kCompleted, "t3", R"({"output_uri":"s3://x"})"), 3);
  auto hit = cache.Find("t", "j");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->state, jobs::JobState::kCompleted);
  EXPECT_EQ(hit->projection_version, 3);
  EXPECT_EQ(hit->updated_at, "t3");
  EXPECT_EQ(hit->result_ref_json, R"({"output_uri":"s3://x"})");
  EXPECT_FALSE(hit->error_json.has_value());
}

TEST(JobCacheTest, AChangeToARowItDoesNotMatchDropsTheRow) {
  JobCache cache(8);
  cache.PutCommitted(Job("t", "j", 1));
  // The writer says the event left the job at version 5: the cached row
  // (version 1) was not the row it changed, so it must not be served.
  cache.ApplyCommitted(Applied("t", "j", jobs::JobState::kRunning, "t5"), 5);
  EXPECT_EQ(cache.Find("t", "j"), nullptr);
}

TEST(JobCacheTest, ReaderFillRacedByCommitIsDropped) {
  JobCache cache(8);
  // A reader takes the generation, reads version 1 from the database...
  const std::uint64_t generation = cache.Generation();
  // ...meanwhile the writer commits version 2 of that (uncached) job...
  cache.ApplyCommitted(Applied("t", "j", jobs::JobState::kRunning, "t2"), 2);
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
  cache.ApplyCommitted(Applied("t", "j", jobs::JobState::kRunning, "t2"), 2);
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

TEST(JobCacheTest, EraseDropsThatJobAndPendingFillsOnly) {
  JobCache cache(8);
  cache.PutCommitted(Job("t", "a"));
  cache.PutCommitted(Job("t", "b"));
  const std::uint64_t generation = cache.Generation();  // a reader read "a" before the delete
  cache.EraseCommitted("t", "a");
  cache.EraseCommitted("t", "never-cached");
  EXPECT_EQ(cache.Find("t", "a"), nullptr);
  EXPECT_NE(cache.Find("t", "b"), nullptr);  // the rest stays warm
  cache.FillIfUnchanged(generation, Job("t", "a"));
  EXPECT_EQ(cache.Find("t", "a"), nullptr);  // the deleted row does not come back
  EXPECT_EQ(cache.size(), 1u);
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
