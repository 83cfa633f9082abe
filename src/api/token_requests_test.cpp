#include "api/token_requests.hpp"

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

TEST(RevokeRequest, ParsesJtiAndOptionalExpiry) {
  auto r = ParseRevokeRequest(R"({"jti":"abc-1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jti, "abc-1");
  EXPECT_FALSE(r->expires_at.has_value());
  auto t = ParseRevokeRequest(R"({"jti":"abc","expires_at":"2027-01-02T03:04:05Z"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t->expires_at), "2027-01-02T03:04:05.000000Z");
}

TEST(RevokeRequest, RefusesBadBodiesNamingTheField) {
  struct Case {
    const char* body;
    const char* message_start;
  };
  for (const Case& c :
       {Case{"nope", "request body is not valid JSON"},
        Case{"[]", "request body must be a JSON object"}, Case{"{}", "jti: is required"},
        Case{R"({"jti":""})", "jti: must not be empty"}, Case{R"({"jti":7})", "jti: must be"},
        Case{R"({"jti":"a\u0001"})", "jti: must not contain"},
        Case{R"({"jti":"a","expires_at":"tomorrow"})", "expires_at: must be"},
        Case{R"({"jti":"a","expires_at":5})", "expires_at: must be"},
        Case{R"({"jti":"a","other":1})", "other: unknown field"}}) {
    auto r = ParseRevokeRequest(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.body;
    EXPECT_EQ(r.error().message.rfind(c.message_start, 0), 0U) << r.error().message;
  }
  EXPECT_FALSE(ParseRevokeRequest(R"({"jti":")" + std::string(257, 'x') + R"("})").ok());
}

}  // namespace
}  // namespace rtgw::api
