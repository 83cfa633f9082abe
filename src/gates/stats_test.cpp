#include "gates/stats.hpp"

#include <gtest/gtest.h>

namespace rtgw::gates {
namespace {

TEST(Stats, NearestRankPercentile) {
  EXPECT_EQ(Percentile({}, 95), std::nullopt);
  EXPECT_EQ(Percentile({3.0, 1.0, 2.0}, 95), 3.0);  // of 3 runs: the slowest
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(Percentile(hundred, 95), 95.0);
  EXPECT_EQ(Percentile(hundred, 100), 100.0);
  EXPECT_EQ(Percentile({7.0}, 50), 7.0);
  EXPECT_EQ(Percentile({1.0}, 0), std::nullopt);
}

TEST(Stats, Median) {
  EXPECT_EQ(Median({}), std::nullopt);
  EXPECT_EQ(Median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(Median({4.0, 1.0, 3.0, 2.0}), 2.5);
}

}  // namespace
}  // namespace rtgw::gates
