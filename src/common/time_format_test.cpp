#include "common/time_format.hpp"

#include <gtest/gtest.h>

namespace rtgw {
namespace {

TEST(TimeFormatTest, RoundTripsMicroseconds) {
  auto t = ParseRfc3339("2026-02-18T01:02:03.123456Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-02-18T01:02:03.123456Z");
}

TEST(TimeFormatTest, AcceptsRunbookFormsAndOffsets) {
  EXPECT_TRUE(ParseRfc3339("2026-02-18T00:00:00Z").has_value());
  auto a = ParseRfc3339("2026-02-18T02:00:00+02:00");
  auto b = ParseRfc3339("2026-02-18T00:00:00Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

TEST(TimeFormatTest, RejectsMalformed) {
  const char* bad[] = {"",
                       "2026-02-18",
                       "2026-02-18 00:00:00Z",
                       "2026-02-30T00:00:00Z",
                       "2026-13-01T00:00:00Z",
                       "2026-02-18T24:00:00Z",
                       "2026-02-18T00:00:00",
                       "2026-02-18T00:00:00.Z",
                       "2026-02-18T00:00:00Zjunk",
                       "2026-02-18T00:00:00+2:00"};
  for (const char* s : bad) EXPECT_FALSE(ParseRfc3339(s).has_value()) << s;
}

}  // namespace
}  // namespace rtgw
