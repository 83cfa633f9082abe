#include "api/console_assets.hpp"

#include <string>

#include <gtest/gtest.h>

#include "api/routes.hpp"

namespace rtgw::api {
namespace {

std::string ConsoleHeaderValue(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(ConsoleAssetsTest, EveryEmbeddedFileHasAContentTypeAndItsHash) {
  ASSERT_FALSE(EmbeddedConsoleFiles().empty());
  bool has_index = false;
  for (const ConsoleFile& f : EmbeddedConsoleFiles()) {
    EXPECT_FALSE(ConsoleContentType(f.name).empty()) << f.name;
    EXPECT_FALSE(f.bytes.empty()) << f.name;
    EXPECT_EQ(f.sha256.size(), 64U) << f.name;
    EXPECT_EQ(f.sha256.find_first_not_of("0123456789abcdef"), std::string_view::npos) << f.name;
    has_index = has_index || f.name == kConsoleIndex;
  }
  EXPECT_TRUE(has_index);
}

TEST(ConsoleAssetsTest, ContentTypeByExtension) {
  EXPECT_EQ(ConsoleContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("console.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(ConsoleContentType("js"), "");
  EXPECT_EQ(ConsoleContentType("notes.txt"), "");
}

TEST(ConsoleAssetsTest, ServesAFileWithItsHeaders) {
  std::optional<http::Response> r = ConsoleFileResponse(kConsoleIndex, "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("<script type=\"module\" src=\"/console/app.js\"></script>"),
            std::string::npos);
  EXPECT_EQ(ConsoleHeaderValue(*r, "Cache-Control"), "no-cache");
  EXPECT_EQ(ConsoleHeaderValue(*r, "X-Content-Type-Options"), "nosniff");
  const std::string csp = ConsoleHeaderValue(*r, "Content-Security-Policy");
  EXPECT_EQ(csp.rfind("default-src 'none'; ", 0), 0U) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  const std::string etag = ConsoleHeaderValue(*r, "ETag");
  ASSERT_EQ(etag.size(), 34U);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
}

TEST(ConsoleAssetsTest, IfNoneMatchGivesNotModified) {
  const std::string etag = ConsoleHeaderValue(*ConsoleFileResponse("app.js", ""), "ETag");
  for (const std::string& header : {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
    std::optional<http::Response> r = ConsoleFileResponse("app.js", header);
    ASSERT_TRUE(r) << header;
    EXPECT_EQ(r->status, 304) << header;
    EXPECT_TRUE(r->body.empty()) << header;
    EXPECT_EQ(ConsoleHeaderValue(*r, "ETag"), etag);
    EXPECT_FALSE(ConsoleHeaderValue(*r, "Content-Security-Policy").empty());
  }
  EXPECT_EQ(ConsoleFileResponse("app.js", "\"other\"")->status, 200);
}

TEST(ConsoleAssetsTest, UnknownNamesAreNotFound) {
  for (std::string_view name : {"", "nope.js", "../index.html", "INDEX.HTML", "index.html/"}) {
    EXPECT_FALSE(ConsoleFileResponse(name, "")) << name;
  }
}

TEST(ConsoleAssetsTest, RoutesTakeTheAssetName) {
  RouteMatch page = MatchRoute("GET", "/console");
  ASSERT_EQ(page.kind, RouteMatch::Kind::kMatched);
  EXPECT_EQ(page.route->id, RouteId::kConsolePage);
  RouteMatch asset = MatchRoute("GET", "/console/app%2Ejs");
  ASSERT_EQ(asset.kind, RouteMatch::Kind::kMatched);
  EXPECT_EQ(asset.route->id, RouteId::kConsoleAsset);
  EXPECT_EQ(asset.asset, "app.js");
  EXPECT_TRUE(asset.job_id.empty());
  EXPECT_EQ(MatchRoute("POST", "/console").kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("GET", "/console/a/b.js").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/console/").kind, RouteMatch::Kind::kNotFound);
}

}  // namespace
}  // namespace rtgw::api
