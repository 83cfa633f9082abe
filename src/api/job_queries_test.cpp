#include "api/job_queries.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

Call ListCall(std::string query, std::string tenant = "t1") {
  Call c;
  c.tenant_id = std::move(tenant);
  c.sub = "u1";
  c.request.query = std::move(query);
  return c;
}

TEST(JobQueriesTest, ListDefaults) {
  auto r = ParseJobListRequest(ListCall(""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->query.tenant_id, "t1");
  EXPECT_EQ(r->query.limit, 50);
  EXPECT_TRUE(r->query.with_head);
  EXPECT_FALSE(r->query.after);
  EXPECT_FALSE(r->watch_from_seq);
  EXPECT_FALSE(r->query.workspace_id || r->query.management_node_id || r->query.requested_by ||
               r->query.updated_after || r->query.updated_before);
  EXPECT_TRUE(r->query.states.empty());
}

TEST(JobQueriesTest, ListNormalizesFilters) {
  auto a = ParseJobListRequest(
      ListCall("state=running,queued,running&updated_after=2026-02-18T01:00:00%2B01:00&limit=7"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->query.states,
            (std::vector<jobs::JobState>{jobs::JobState::kQueued, jobs::JobState::kRunning}));
  EXPECT_EQ(a->query.updated_after, "2026-02-18T00:00:00.000000Z");
  EXPECT_EQ(a->query.limit, 7);
  // The same filters in another spelling bind cursors the same way; the page size is free.
  auto b = ParseJobListRequest(ListCall("updated_after=2026-02-18T00:00:00Z&state=queued,running"));
  ASSERT_TRUE(b);
  EXPECT_EQ(a->filter_hash, b->filter_hash);
  auto c = ParseJobListRequest(ListCall("state=queued"));
  ASSERT_TRUE(c);
  EXPECT_NE(a->filter_hash, c->filter_hash);
}

TEST(JobQueriesTest, ListErrorsNameTheParameter) {
  const char* cases[][2] = {
      {"limit=0", "limit: must be an integer from 1 to 500"},
      {"limit=501", "limit: must be an integer from 1 to 500"},
      {"limit=ten", "limit: must be an integer from 1 to 500"},
      {"state=lost", "state: 'lost' is not a job state"},
      {"state=running,", "state: '' is not a job state"},
      {"updated_after=yesterday", "updated_after: must be an RFC 3339 date-time"},
      {"updated_before=2026-02-18", "updated_before: must be an RFC 3339 date-time"},
      {"workspace_id=", "workspace_id: must not be empty"},
      {"requested_by=%01", "requested_by: must not contain control characters"},
      {"sort=asc", "sort: unknown query parameter"},
      {"limit=1&limit=2", "limit: must not repeat"},
      {"cursor=abc", "cursor: not a cursor of this list"},
      {"cursor=l1.%21%21", "cursor: not a cursor of this list"},
  };
  for (const auto& [query, start] : cases) {
    auto r = ParseJobListRequest(ListCall(query));
    ASSERT_FALSE(r) << query;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << query;
    EXPECT_EQ(r.error().message.rfind(start, 0), 0u) << query << " -> " << r.error().message;
  }
}

TEST(JobQueriesTest, NodeTokenListsOnlyItsNode) {
  Call c = ListCall("");
  c.token_node_id = "n1";
  auto r = ParseJobListRequest(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->query.management_node_id, "n1");
  c.request.query = "management_node_id=n1";
  EXPECT_TRUE(ParseJobListRequest(c));
  c.request.query = "management_node_id=n2";
  r = ParseJobListRequest(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().api_code, "node_mismatch");
}

TEST(JobQueriesTest, StrictUnscopedTokenListsOnlyItsUser) {
  Call c = ListCall("");
  c.own_jobs_only = true;
  auto r = ParseJobListRequest(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->query.requested_by, "u1");
  c.request.query = "requested_by=u2";
  r = ParseJobListRequest(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().api_code, "subject_mismatch");
}

TEST(JobQueriesTest, CursorIsBoundToTenantAndFilters) {
  auto first = ParseJobListRequest(ListCall("workspace_id=w1&limit=2"));
  ASSERT_TRUE(first);
  const std::string cursor =
      EncodeListCursor("t1", first->filter_hash, {"2026-02-18T00:00:00.000000Z", "job-9"}, 42);
  EXPECT_EQ(cursor.rfind("l1.", 0), 0u);
  auto next = ParseJobListRequest(ListCall("workspace_id=w1&limit=5&cursor=" + cursor));
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_TRUE(next->query.after);
  EXPECT_EQ(next->query.after->accepted_at, "2026-02-18T00:00:00.000000Z");
  EXPECT_EQ(next->query.after->job_id, "job-9");
  EXPECT_EQ(next->watch_from_seq, 42);
  EXPECT_FALSE(next->query.with_head);

  auto other_filters = ParseJobListRequest(ListCall("workspace_id=w2&cursor=" + cursor));
  ASSERT_FALSE(other_filters);
  EXPECT_EQ(other_filters.error().message.rfind("cursor: was made for other filters", 0), 0u);
  auto other_tenant = ParseJobListRequest(ListCall("workspace_id=w1&cursor=" + cursor, "t2"));
  ASSERT_FALSE(other_tenant);
  EXPECT_EQ(other_tenant.error().message.rfind("cursor: was made for another tenant", 0), 0u);
  // A node token's forced filter is part of what the cursor binds.
  Call node = ListCall("workspace_id=w1&cursor=" + cursor);
  node.token_node_id = "n1";
  EXPECT_FALSE(ParseJobListRequest(node));
}

TEST(JobQueriesTest, ListJsonShape) {
  storage::JobRecord job;
  job.tenant_id = "t1";
  job.job_id = "j1";
  job.spec_json = "{}";
  const auto v = boost::json::parse(JobListJson({job}, std::string("l1.x"), "c1.y"));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(v.at("jobs").at(0).at("job_id"), "j1");
  EXPECT_EQ(v.at("next_cursor"), "l1.x");
  EXPECT_EQ(v.at("watch_from"), "c1.y");
  const auto empty = boost::json::parse(JobListJson({}, std::nullopt, "c1.y"));
  EXPECT_TRUE(empty.at("next_cursor").is_null());
  EXPECT_TRUE(empty.at("jobs").as_array().empty());
}

TEST(JobQueriesTest, WatchParameters) {
  Call c = ListCall("workspace_id=w1&job_id=a&job_id=b&after=c1.x");
  auto r = ParseWatchRequest(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->filter.workspace_id, "w1");
  EXPECT_EQ(r->filter.job_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->cursor, "c1.x");
  EXPECT_EQ(r->cursor_source, "after");
  EXPECT_FALSE(r->filter.management_node_id || r->filter.requested_by);

  c.request.headers.emplace_back("last-event-id", "c1.z");
  r = ParseWatchRequest(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cursor, "c1.z");  // the header wins over after
  EXPECT_EQ(r->cursor_source, "Last-Event-ID");

  std::string many;
  for (int i = 0; i <= 100; ++i) many += "job_id=j" + std::to_string(i) + "&";
  for (const auto& [query, start] : std::vector<std::pair<std::string, std::string>>{
           {many, "job_id: at most 100 values"},
           {"job_id=a%2Fb", "job_id: may contain only"},
           {"after=", "after: must not be empty"},
           {"state=running", "state: unknown query parameter"},
           {"workspace_id=a&workspace_id=b", "workspace_id: must not repeat"}}) {
    auto bad = ParseWatchRequest(ListCall(query));
    ASSERT_FALSE(bad) << query;
    EXPECT_EQ(bad.error().message.rfind(start, 0), 0u) << query << " -> " << bad.error().message;
  }
  Call bad_header = ListCall("");
  bad_header.request.headers.emplace_back("last-event-id", std::string(1025, 'x'));
  auto too_long = ParseWatchRequest(bad_header);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message.rfind("Last-Event-ID: must be at most 1024", 0), 0u);
}

TEST(JobQueriesTest, WatchAppliesTheReaderLimits) {
  Call c = ListCall("");
  c.token_node_id = "n1";
  c.own_jobs_only = true;
  auto r = ParseWatchRequest(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->filter.management_node_id, "n1");
  EXPECT_EQ(r->filter.requested_by, "u1");
  c.request.query = "management_node_id=n2";
  r = ParseWatchRequest(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().api_code, "node_mismatch");
}

TEST(JobQueriesTest, ProjectionWait) {
  auto none = ParseProjectionWait("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto dflt = ParseProjectionWait("wait_version_gt=0");
  ASSERT_TRUE(dflt && *dflt);
  EXPECT_EQ((*dflt)->version_gt, 0);
  EXPECT_EQ((*dflt)->timeout, std::chrono::seconds(30));
  auto given = ParseProjectionWait("wait_version_gt=3&timeout_s=60");
  ASSERT_TRUE(given && *given);
  EXPECT_EQ((*given)->version_gt, 3);
  EXPECT_EQ((*given)->timeout, std::chrono::seconds(60));
  const char* cases[][2] = {
      {"timeout_s=5", "timeout_s: only with wait_version_gt"},
      {"wait_version_gt=-1", "wait_version_gt: must be an integer from 0"},
      {"wait_version_gt=1&timeout_s=0", "timeout_s: must be an integer from 1 to 60"},
      {"wait_version_gt=1&timeout_s=61", "timeout_s: must be an integer from 1 to 60"},
      {"wait=1", "wait: unknown query parameter"},
  };
  for (const auto& [query, start] : cases) {
    auto r = ParseProjectionWait(query);
    ASSERT_FALSE(r) << query;
    EXPECT_EQ(r.error().message.rfind(start, 0), 0u) << query << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace rtgw::api
