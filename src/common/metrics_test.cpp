#include "common/metrics.hpp"

#include <gtest/gtest.h>

namespace rtgw {
namespace {

TEST(MetricsRegistryTest, RendersCountersAndHistograms) {
  MetricsRegistry reg;
  reg.GetCounter("rtgw_x_total", "X.", {{"route", "/a"}, {"status", "200"}})->Add(3);
  Histogram* h = reg.GetHistogram("rtgw_lat_seconds", "Latency.", {{"route", "/a"}}, {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  const std::string text = reg.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE rtgw_x_total counter"), std::string::npos);
  EXPECT_NE(text.find("rtgw_x_total{route=\"/a\",status=\"200\"} 3"), std::string::npos);
  EXPECT_NE(text.find("rtgw_lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("rtgw_lat_seconds_bucket{route=\"/a\",le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("rtgw_lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("rtgw_lat_seconds_count{route=\"/a\"} 3"), std::string::npos);
}

TEST(MetricsRegistryTest, SameSeriesReturnsSamePointer) {
  MetricsRegistry reg;
  Counter* a = reg.GetCounter("c", "h", {{"k", "v"}});
  Counter* b = reg.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, reg.GetCounter("c", "h", {{"k", "w"}}));
}

}  // namespace
}  // namespace rtgw
