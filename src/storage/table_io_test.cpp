#include "storage/table_io.hpp"

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

TEST(CanonicalTimeTest, PadsFractionsToMicroseconds) {
  EXPECT_EQ(CanonicalTime("2026-02-18T00:00:00Z"), "2026-02-18T00:00:00.000000Z");
  EXPECT_EQ(CanonicalTime("2026-02-18T00:00:00.5Z"), "2026-02-18T00:00:00.500000Z");
  EXPECT_EQ(CanonicalTime("2026-02-18T00:00:00.123456Z"), "2026-02-18T00:00:00.123456Z");
}

TEST(CanonicalTimeTest, LeavesAnythingElseAlone) {
  for (const char* s : {"", "x", "2026-02-18 00:00:00Z", "2026-02-18T00:00:00.1234567Z",
                        "2026-02-18T00:00:00+01:00", "2026-02-18T00:00:00.12aZ"}) {
    EXPECT_EQ(CanonicalTime(s), s);
  }
}

}  // namespace
}  // namespace rtgw::storage
