#include "api/schemas.hpp"

#include <gtest/gtest.h>

namespace rtgw::api::schema {
namespace {

TEST(SchemasTest, MatchesChecksLengthAndCharset) {
  EXPECT_TRUE(Matches(kJobId, "job-1.a_b@c~d"));
  EXPECT_TRUE(Matches(kJobId, std::string(128, 'j')));
  EXPECT_FALSE(Matches(kJobId, std::string(129, 'j')));
  EXPECT_FALSE(Matches(kJobId, ""));
  EXPECT_FALSE(Matches(kJobId, "a/b"));
  EXPECT_FALSE(Matches(kValidator, "v@1"));  // '@' is a job id character only
  EXPECT_TRUE(Matches(kValidationIdempotencyKey, "up:7f.3_a-1"));
  EXPECT_TRUE(Matches(kValidationWorkspaceId, "any chars but length"));
  EXPECT_FALSE(Matches(kValidationWorkspaceId, std::string(129, 'w')));
}

TEST(SchemasTest, CharsetTextAndPatternSayTheSameCharacters) {
  EXPECT_EQ(CharsetText(kJobId), "A-Z a-z 0-9 . _ - @ ~");
  EXPECT_EQ(Pattern(kJobId), "^[A-Za-z0-9._@~-]{1,128}$");
  EXPECT_EQ(CharsetText(kValidationIdempotencyKey), "A-Z a-z 0-9 . _ - :");
  EXPECT_EQ(Pattern(kValidationIdempotencyKey), "^[A-Za-z0-9._:-]{1,128}$");
  EXPECT_EQ(Pattern(kRunId), "^[A-Za-z0-9._-]{1,128}$");
}

}  // namespace
}  // namespace rtgw::api::schema
