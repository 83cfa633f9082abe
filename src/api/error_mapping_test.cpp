#include "api/error_mapping.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

bool HasHeader(const http::Response& r, const std::string& name, const std::string& value) {
  return std::find(r.headers.begin(), r.headers.end(), std::pair(name, value)) != r.headers.end();
}

TEST(ErrorMappingTest, RendersTheCodeWithItsKindsStatus) {
  const http::Response r =
      MakeErrorResponse(ApiCode::kNodeMismatch, "the token's \"node\" differs", "tr-1");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"error":{"code":"node_mismatch","message":"the token's \"node\" differs",)"
                    R"("trace_id":"tr-1"}})");
  EXPECT_TRUE(r.headers.empty());
}

TEST(ErrorMappingTest, UnauthenticatedCodesAskForABearerToken) {
  for (ApiCode code : {ApiCode::kUnauthenticated, ApiCode::kProxyUnauthorized}) {
    const http::Response r = MakeErrorResponse(code, "no", "tr");
    EXPECT_EQ(r.status, 401);
    EXPECT_TRUE(HasHeader(r, "WWW-Authenticate", "Bearer")) << WireName(code);
  }
}

TEST(ErrorMappingTest, OverloadedSaysWhenToRetry) {
  const http::Response r = MakeErrorResponse(Unavailable("queue full", "overloaded"), "tr");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(HasHeader(r, "Retry-After", "1"));
  EXPECT_NE(r.body.find("queue full"), std::string::npos);
  EXPECT_FALSE(HasHeader(MakeErrorResponse(ApiCode::kDraining, "bye", "tr"), "Retry-After", "1"));
}

TEST(ErrorMappingTest, StoreAndInternalDetailsAreWithheld) {
  const http::Response store =
      MakeErrorResponse(Unavailable("/var/db: disk image is malformed", "store_unavailable"), "t");
  EXPECT_EQ(store.status, 503);
  EXPECT_EQ(store.body.find("malformed"), std::string::npos);
  EXPECT_NE(store.body.find("\"code\":\"store_unavailable\""), std::string::npos);
  const http::Response internal = MakeErrorResponse(Internal("SELECT 1 failed"), "t");
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body.find("SELECT"), std::string::npos);
}

TEST(ErrorMappingTest, ACodeOutsideTheSetIsAnsweredAsInternal) {
  for (const Error& bug : {Conflict("made up", "made_up_code"), Conflict("no code"),
                           Conflict("kind differs", "not_found")}) {
    const http::Response r = MakeErrorResponse(bug, "tr");
    EXPECT_EQ(r.status, 500) << bug.message;
    EXPECT_NE(r.body.find("\"code\":\"internal\""), std::string::npos);
    EXPECT_EQ(r.body.find(bug.message), std::string::npos);
  }
}

}  // namespace
}  // namespace rtgw::api
