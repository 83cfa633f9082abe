#ifndef RTGW_GATES_STATS_HPP_
#define RTGW_GATES_STATS_HPP_

#include <optional>
#include <vector>

namespace rtgw::gates {

// Nearest-rank percentile (p in (0, 100]) of `values`; nullopt when empty.
// p95 of 3 runs is the slowest run, as an operator expects.
std::optional<double> Percentile(std::vector<double> values, double p);

// Median (mean of the two middle values for an even count); nullopt when empty.
std::optional<double> Median(std::vector<double> values);

}  // namespace rtgw::gates

#endif  // RTGW_GATES_STATS_HPP_
