#include "slurm_adapter/catalogue.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace rtgw::slurm_adapter {
namespace {

boost::json::value J(const char* text) { return boost::json::parse(text); }

TEST(CatalogueTest, ParsesAndRoundTripsCanonically) {
  auto c = ParseCatalogue(J(R"({"version": "22.05.8", "cluster": "ci",
      "partitions": [{"name": "debug", "state": "UP", "default": true, "max_time_minutes": 60,
                      "total_nodes": 1, "idle_nodes": 1, "total_cpus": 2, "idle_cpus": 2},
                     {"name": "long", "state": "down", "max_time_minutes": null}],
      "accounts": ["chem"], "qos": [], "extra": 1})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->partitions.size(), 2u);
  EXPECT_EQ(c->partitions[0].state, "up");  // lowercased
  EXPECT_TRUE(c->partitions[0].is_default);
  EXPECT_EQ(c->partitions[0].max_time_minutes, 60);
  EXPECT_FALSE(c->partitions[1].max_time_minutes.has_value());  // UNLIMITED
  EXPECT_EQ(c->FindPartition("long")->state, "down");
  EXPECT_EQ(c->FindPartition("nope"), nullptr);
  const std::string text = CatalogueJson(*c);
  auto back = ParseCatalogueText(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(CatalogueJson(*back), text);
  EXPECT_EQ(text.find("extra"), std::string::npos);  // only known fields are kept
}

TEST(CatalogueTest, RejectsMalformedNamingThePath) {
  struct Case {
    const char* text;
    const char* path;
  };
  const Case cases[] = {
      {R"([])", "slurm: must be an object"},
      {R"({"partitions": []})", "slurm.version"},
      {R"({"version": "1"})", "slurm.partitions"},
      {R"({"version": "1", "partitions": [{"state": "up"}]})", "slurm.partitions[0].name"},
      {R"({"version": "1", "partitions": [{"name": "a"}]})", "slurm.partitions[0].state"},
      {R"({"version": "1", "partitions": [{"name": "a", "state": "up", "max_time_minutes": -5}]})",
       "slurm.partitions[0].max_time_minutes"},
      {R"({"version": "1", "partitions": [{"name": "a", "state": "up"},
                                          {"name": "a", "state": "up"}]})",
       "duplicate"},
      {R"({"version": "1", "partitions": [], "accounts": [1]})", "slurm.accounts[0]"},
  };
  for (const Case& c : cases) {
    auto r = ParseCatalogue(J(c.text));
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.path), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace rtgw::slurm_adapter
