#include "api/query_params.hpp"

#include <array>

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

constexpr std::array<QueryParamSpec, 3> kQpTestAllowed = {{{"a"}, {"n"}, {"id", 3}}};
constexpr schema::StringField kQpTestId{"id", 8, "", false, "._-"};
constexpr schema::IntegerField kQpTestN{"n", 1, 500, "", false};

Result<QueryParams> QpParse(std::string_view query) {
  return QueryParams::Parse(query, kQpTestAllowed);
}

TEST(QueryParamsTest, DecodesFormEncoding) {
  auto p = QpParse("a=x%2By+z&id=j-1&id=j%2D2&&");
  ASSERT_TRUE(p) << p.error().message;
  auto a = p->String({"a", 64, "", false});
  ASSERT_TRUE(a);
  EXPECT_EQ(**a, "x+y z");  // %2B is '+', '+' is a space
  auto ids = p->Strings(kQpTestId);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"j-1", "j-2"}));
  EXPECT_FALSE(p->Has("n"));
  auto n = p->Integer(kQpTestN);
  ASSERT_TRUE(n);
  EXPECT_FALSE(*n);
  EXPECT_TRUE(QpParse(""));
}

TEST(QueryParamsTest, ErrorsStartWithTheParameterName) {
  struct Case {
    const char* query;
    const char* message_start;
  };
  const Case cases[] = {
      {"b=1", "b: unknown query parameter; this route takes a, n, id"},
      {"a=1&a=2", "a: must not repeat"},
      {"id=1&id=2&id=3&id=4", "id: at most 3 values"},
      {"a=%0a", "a: must not contain control characters"},
      {"a=%zz", "query: malformed query string"},
  };
  for (const Case& c : cases) {
    auto p = QpParse(c.query);
    ASSERT_FALSE(p) << c.query;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message.rfind(c.message_start, 0), 0u)
        << c.query << " -> " << p.error().message;
  }
  EXPECT_TRUE(QueryParams::Parse("b=1&a=2", kQpTestAllowed, /*ignore_unknown=*/true));
}

TEST(QueryParamsTest, TypedReadersCheckTheField) {
  struct Case {
    const char* query;
    const char* message;  // "" = valid
  };
  const Case cases[] = {
      {"n=1", ""},
      {"n=500", ""},
      {"n=0", "n: must be an integer from 1 to 500"},
      {"n=501", "n: must be an integer from 1 to 500"},
      {"n=1x", "n: must be an integer from 1 to 500"},
      {"n=", "n: must be an integer from 1 to 500"},
      {"n=99999999999999999999", "n: must be an integer from 1 to 500"},
      {"id=abc", ""},
      {"id=", "id: must not be empty"},
      {"id=123456789", "id: must be at most 8 characters"},
      {"id=a%2Fb", "id: may contain only A-Z a-z 0-9 . _ -"},
  };
  for (const Case& c : cases) {
    auto p = QpParse(c.query);
    ASSERT_TRUE(p) << c.query;
    std::string message;
    if (auto n = p->Integer(kQpTestN); !n) message = n.error().message;
    if (auto id = p->Strings(kQpTestId); !id) message = id.error().message;
    EXPECT_EQ(message, c.message) << c.query;
  }
}

TEST(QueryParamsTest, Flag) {
  for (const char* on : {"a", "a=1", "a=true"}) EXPECT_TRUE(QpParse(on)->Flag("a")) << on;
  for (const char* off : {"", "a=0", "a=no", "n=1"}) EXPECT_FALSE(QpParse(off)->Flag("a")) << off;
}

}  // namespace
}  // namespace rtgw::api

namespace rtgw::api {
namespace {

TEST(SplitCommaListTest, ItemsInOrderWithEmptyOnesKept) {
  EXPECT_EQ(SplitCommaList("queued,running"), (std::vector<std::string_view>{"queued", "running"}));
  EXPECT_EQ(SplitCommaList("a"), (std::vector<std::string_view>{"a"}));
  EXPECT_EQ(SplitCommaList(""), (std::vector<std::string_view>{""}));
  EXPECT_EQ(SplitCommaList("a,,b,"), (std::vector<std::string_view>{"a", "", "b", ""}));
}

}  // namespace
}  // namespace rtgw::api
