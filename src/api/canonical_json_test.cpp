#include "api/canonical_json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

TEST(CanonicalJsonTest, SortsKeysAtEveryDepthWithoutWhitespace) {
  auto v = boost::json::parse(R"({ "b": {"z": 1, "a": [3, {"y": 2, "x": 1}]}, "a": "s" })");
  EXPECT_EQ(CanonicalJson(v), R"({"a":"s","b":{"a":[3,{"x":1,"y":2}],"z":1}})");
}

TEST(CanonicalJsonTest, SameMeaningSameFingerprint) {
  auto a = boost::json::parse(R"({"x": 1, "y": "é", "z": null})");
  auto b = boost::json::parse(R"({"z":null,"y":"\u00e9","x":1})");
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  auto c = boost::json::parse(R"({"x": 2, "y": "é", "z": null})");
  EXPECT_NE(Fingerprint(a), Fingerprint(c));
  EXPECT_EQ(Fingerprint(a).size(), 64u);
}

TEST(CanonicalJsonTest, EscapesStrings) {
  auto v = boost::json::parse(R"({"k\"ey": "line\nbreak"})");
  EXPECT_EQ(CanonicalJson(v), R"({"k\"ey":"line\nbreak"})");
}

}  // namespace
}  // namespace rtgw::api
