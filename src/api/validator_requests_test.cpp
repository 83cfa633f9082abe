#include "api/validator_requests.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

TEST(CallbackBodyTest, RequiresResultUriOnSuccessAndTerminalStatus) {
  EXPECT_TRUE(ParseCallbackBody(
                  R"({"run_id":"vr-1","callback_id":"cb-1","status":"SUCCEEDED",
                  "result_uri":"file:///m/r.json","findings":[{"a":1}]})")
                  .ok());
  EXPECT_FALSE(
      ParseCallbackBody(R"({"run_id":"vr-1","callback_id":"cb-1","status":"SUCCEEDED"})").ok());
  EXPECT_FALSE(ParseCallbackBody(
                   R"({"run_id":"vr-1","callback_id":"cb-1","status":"RUNNING",
                   "result_uri":"file:///m"})")
                   .ok());
  EXPECT_FALSE(ParseCallbackBody(
                   R"({"run_id":"vr-1","callback_id":"cb-1","status":"FAILED",
                   "result_uri":"http://x"})")
                   .ok());
}

// Found by fuzz/validator_callback (corpus: callback_error_cut_in_character): the message was
// cut at byte 4096 inside a two-byte character, and the stored run served invalid UTF-8.
TEST(CallbackBodyTest, CutsLongErrorMessagesBetweenCharacters) {
  const std::string message = std::string(4095, 'a') + "\u00e9tail";  // e-acute: 2 bytes of UTF-8
  auto r = ParseCallbackBody(R"({"run_id":"vr-1","callback_id":"cb-1","status":"FAILED",)"
                             R"("error":{"message":")" +
                             message + R"("}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->error_message, std::string(4095, 'a'));
  auto fits = ParseCallbackBody(R"({"run_id":"vr-1","callback_id":"cb-1","status":"FAILED",)"
                                R"("error":")" +
                                std::string(4094, 'a') + R"(\u00e9tail"})");
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(*fits->error_message, std::string(4094, 'a') + "\xc3\xa9");
}

TEST(LaunchBodyTest, RefusesControlCharactersInWorkspaceAndResultUri) {
  for (const char* ws : {R"(w\u009bs)", R"(w\u0085s)", R"(w\u001bs)"}) {
    auto r = ParseLaunchBody(std::string(R"({"validator":"v","workspace_id":")") + ws +
                             R"(","input":{"document":1}})");
    ASSERT_FALSE(r.ok()) << ws;
    EXPECT_NE(r.error().message.find("workspace_id"), std::string::npos);
  }
  auto cb = ParseCallbackBody(R"({"run_id":"vr-1","callback_id":"cb-1","status":"SUCCEEDED",)"
                              R"("result_uri":"file:///m/r\u009b.json"})");
  ASSERT_FALSE(cb.ok());
  EXPECT_NE(cb.error().message.find("result_uri"), std::string::npos);
}

TEST(LaunchBodyTest, DecodesFilesAndRefusesBadNames) {
  auto ok = ParseLaunchBody(
      R"({"validator":"v","workspace_id":"ws","input":{"document":{"a":1},
      "files":[{"name":"a.txt","content":"hi"},{"name":"b.bin","content_base64":"AAE="}]}})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->document_json, R"({"a":1})");
  EXPECT_EQ(ok->files[1].bytes, std::string("\0\1", 2));
  EXPECT_FALSE(ParseLaunchBody(R"({"validator":"v","workspace_id":"ws","input":{"document":1,
      "files":[{"name":"../x","content":""}]}})")
                   .ok());
}

TEST(LaunchBodyTest, OptionalIdempotencyKey) {
  auto none = ParseLaunchBody(R"({"validator":"v","workspace_id":"ws","input":{"document":1}})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->idempotency_key.has_value());
  auto keyed = ParseLaunchBody(
      R"({"validator":"v","workspace_id":"ws","idempotency_key":"up:7f.3_a-1",
      "input":{"document":1}})");
  ASSERT_TRUE(keyed.ok()) << keyed.error().message;
  EXPECT_EQ(keyed->idempotency_key, "up:7f.3_a-1");
  for (const char* bad : {R"("")", R"("a b")", R"(7)", R"(null)"}) {
    auto r =
        ParseLaunchBody(std::string(R"({"validator":"v","workspace_id":"ws","idempotency_key":)") +
                        bad + R"(,"input":{"document":1}})");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("idempotency_key"), std::string::npos);
  }
  EXPECT_FALSE(ParseLaunchBody(R"({"validator":"v","workspace_id":"ws","idempotency_key":")" +
                               std::string(129, 'k') + R"(","input":{"document":1}})")
                   .ok());
}

TEST(RunListRequestTest, ReadsFiltersAndDefaults) {
  auto r = ParseRunListRequest("", "t1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->query.tenant_id, "t1");
  EXPECT_TRUE(r->query.statuses.empty());
  EXPECT_FALSE(r->query.validator);
  EXPECT_FALSE(r->query.after);
  EXPECT_EQ(r->query.limit, 50);
  // Statuses once each, in one order whatever the spelling; the hash follows.
  auto a = ParseRunListRequest("status=FAILED,PENDING,FAILED&validator=json-rules&limit=7", "t1");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->query.statuses, (std::vector<std::string>{"PENDING", "FAILED"}));
  EXPECT_EQ(a->query.validator, "json-rules");
  EXPECT_EQ(a->query.limit, 7);
  auto b = ParseRunListRequest("validator=json-rules&status=PENDING%2CFAILED", "t1");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->filter_hash, b->filter_hash);
  EXPECT_NE(a->filter_hash, r->filter_hash);
}

TEST(RunListRequestTest, RefusesBadParametersNamingThem) {
  const struct {
    const char* query;
    const char* message_start;
  } cases[] = {
      {"status=DONE", "status: 'DONE' is not a run status"},
      {"status=running", "status: 'running' is not a run status"},
      {"status=", "status:"},
      {"limit=0", "limit: must be an integer from 1 to 500"},
      {"limit=501", "limit: must be an integer from 1 to 500"},
      {"limit=x", "limit:"},
      {"validator=a/b", "validator:"},
      {"sort=created_at", "sort: unknown query parameter"},
      {"limit=1&limit=2", "limit:"},
      {"cursor=l1.e30", "cursor: not a cursor of this list"},
      {"cursor=r1.%21", "cursor: not a cursor of this list"},
  };
  for (const auto& c : cases) {
    auto r = ParseRunListRequest(c.query, "t1");
    ASSERT_FALSE(r) << c.query;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.query;
    EXPECT_EQ(r.error().message.rfind(c.message_start, 0), 0u)
        << c.query << ": " << r.error().message;
  }
}

TEST(RunListRequestTest, CursorIsBoundToTenantAndFilters) {
  auto first = ParseRunListRequest("status=FAILED&limit=2", "t1");
  ASSERT_TRUE(first);
  storage::ValidatorRun last;
  last.created_at = "2026-02-18T00:00:00.000000Z";
  last.run_id = "vr-9";
  const std::string cursor = EncodeRunListCursor("t1", first->filter_hash, last);
  EXPECT_EQ(cursor.rfind("r1.", 0), 0u);
  auto next = ParseRunListRequest("status=FAILED&limit=5&cursor=" + cursor, "t1");
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_TRUE(next->query.after);
  EXPECT_EQ(next->query.after->created_at, last.created_at);
  EXPECT_EQ(next->query.after->run_id, "vr-9");
  auto other_filters = ParseRunListRequest("status=PENDING&cursor=" + cursor, "t1");
  ASSERT_FALSE(other_filters);
  EXPECT_EQ(other_filters.error().message.rfind("cursor: was made for other filters", 0), 0u);
  auto other_tenant = ParseRunListRequest("status=FAILED&cursor=" + cursor, "t2");
  ASSERT_FALSE(other_tenant);
  EXPECT_EQ(other_tenant.error().message.rfind("cursor: was made for another tenant", 0), 0u);
}

TEST(RunListRequestTest, ListJsonShape) {
  storage::ValidatorRun run;
  run.run_id = "vr-1";
  run.current.findings_json = "[]";
  const auto v = boost::json::parse(RunListJson({run}, std::string("r1.x")));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("runs").as_array().size(), 1u);
  EXPECT_EQ(v.at("runs").as_array()[0].at("run_id").as_string(), "vr-1");
  EXPECT_EQ(v.at("next_cursor").as_string(), "r1.x");
  EXPECT_TRUE(boost::json::parse(RunListJson({}, std::nullopt)).at("next_cursor").is_null());
}

}  // namespace
}  // namespace rtgw::api
