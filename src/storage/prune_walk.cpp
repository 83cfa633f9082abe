#include "storage/prune_walk.hpp"

#include <chrono>
#include <thread>

namespace rtgw::storage {

std::chrono::microseconds PaceAfter(std::chrono::microseconds took, int busy_percent) {
  if (busy_percent >= 100 || busy_percent < 1 || took.count() <= 0) {
    return std::chrono::microseconds(0);
  }
  const auto idle = took * (100 - busy_percent) / busy_percent;
  std::this_thread::sleep_for(idle);
  return idle;
}

}  // namespace rtgw::storage
