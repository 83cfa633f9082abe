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

TEST(TimeFormatTest, EveryAcceptedInstantFormatsBackAsSent) {
  const char* exact[] = {"1970-01-01T00:00:00.000000Z", "2000-02-29T12:34:56.000001Z",
                         "2262-04-11T23:47:16.854775Z", "2262-04-11T23:47:16.000000Z",
                         "2100-12-31T23:59:59.999999Z", "2024-02-29T00:00:00.000000Z"};
  for (const char* s : exact) {
    auto t = ParseRfc3339(s);
    ASSERT_TRUE(t.has_value()) << s;
    EXPECT_EQ(FormatRfc3339(*t), s);
  }
}

TEST(TimeFormatTest, FormatsInstantsBeforeTheEpoch) {
  // Not accepted from clients (ParseRfc3339), but a clock may say so.
  EXPECT_EQ(FormatRfc3339(SystemTime{} - std::chrono::microseconds(1)),
            "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(SystemTime{} - std::chrono::hours(24 * 366)),
            "1968-12-31T00:00:00.000000Z");
}

TEST(TimeFormatTest, RefusesInstantsOutsideTheRangeInsteadOfWrapping) {
  // 9999-12-31 used to be stored as 1816-03-30T05:56:07.066278Z (nanosecond overflow).
  const char* out[] = {"9999-12-31T23:59:59Z",      "2262-04-11T23:47:16.854776Z",
                       "2262-04-11T23:47:17Z",      "2263-01-01T00:00:00Z",
                       "2262-04-11T23:00:00-01:00", "1969-12-31T23:59:59Z",
                       "1970-01-01T00:00:00+00:01", "2026-06-30T23:59:60Z"};
  for (const char* s : out) EXPECT_FALSE(ParseRfc3339(s).has_value()) << s;
  auto edge = ParseRfc3339("2262-04-12T00:47:16.854775+01:00");
  ASSERT_TRUE(edge.has_value());
  EXPECT_EQ(FormatRfc3339(*edge), "2262-04-11T23:47:16.854775Z");
}

}  // namespace
}  // namespace rtgw
