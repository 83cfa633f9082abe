#include "net/http_client.hpp"

#include <gtest/gtest.h>

namespace rtgw::net {
namespace {

TEST(UrlEncodeTest, KeepsUnreservedAndEncodesTheRest) {
  const struct {
    std::string_view in;
    std::string_view out;
  } cases[] = {
      {"", ""},
      {"job-1.a_b~Z9", "job-1.a_b~Z9"},
      {"a/b c:d", "a%2Fb%20c%3Ad"},
      {"t?x=1&y#", "t%3Fx%3D1%26y%23"},
      {"\xc3\xa9", "%C3%A9"},
  };
  for (const auto& c : cases) EXPECT_EQ(UrlEncode(c.in), c.out) << c.in;
}

TEST(HttpResponseTest, HeaderIsTheFirstWithThatName) {
  HttpResponse r;
  r.headers = {{"cache-control", "max-age=60"}, {"x", "1"}, {"x", "2"}};
  EXPECT_EQ(r.Header("x"), "1");
  EXPECT_EQ(r.Header("cache-control"), "max-age=60");
  EXPECT_EQ(r.Header("absent"), "");
}

}  // namespace
}  // namespace rtgw::net
