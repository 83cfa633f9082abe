#include "api/validator_requests.hpp"

#include <string>

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

}  // namespace
}  // namespace rtgw::api
