#include "common/text.hpp"

#include <string>

#include <gtest/gtest.h>

namespace rtgw {
namespace {

TEST(TextTest, AcceptsPrintableAsciiAndWellFormedUtf8) {
  for (const char* ok :
       {"alice", "job-1.a_b@c~d", "Zürich", "μ-opt", "日本語", "😀 emoji", "\u00a0nbsp", "\u00ff"}) {
    EXPECT_FALSE(HasControlChars(ok)) << ok;
  }
}

TEST(TextTest, RefusesC0DelAndC1Controls) {
  EXPECT_TRUE(HasControlChars(std::string("a\0b", 3)));
  EXPECT_TRUE(HasControlChars("a\nb"));
  EXPECT_TRUE(HasControlChars("a\x1b[31mb"));
  EXPECT_TRUE(HasControlChars("a\x7f"));
  EXPECT_TRUE(HasControlChars("a\u0080b"));
  EXPECT_TRUE(HasControlChars("csi\u009b31m"));
  EXPECT_TRUE(HasControlChars("a\u009f"));
}

TEST(TextTest, RefusesBytesThatAreNotUtf8) {
  for (const char* bad : {"\x9b", "a\x80", "\xc0\xaf", "\xc2", "\xe0\x80\x80", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xe2\x28\xa1"}) {
    EXPECT_TRUE(HasControlChars(bad)) << testing::PrintToString(std::string(bad));
  }
}

}  // namespace
}  // namespace rtgw
