#ifndef RTGW_COMMON_CLOCK_HPP_
#define RTGW_COMMON_CLOCK_HPP_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace rtgw {

// Monotonic time and timed waits, as a seam (Envoy's TimeSource, LevelDB's
// Env): code whose behaviour depends on elapsed time asks a Clock, production
// passes SteadyClock, and tests pass FakeClock (common/fake_clock.hpp), which
// moves only when the test advances it.
//
// Thread-safety: implementations are safe for concurrent use.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Blocks on `cv` until `done()` holds or this clock reaches `deadline`.
  // `lock` holds cv's mutex on entry and on return, and `done` is evaluated
  // under it. Returns done().
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline, const std::function<bool()>& done) = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) override {
    return cv.wait_until(lock, deadline, done);
  }
};

}  // namespace rtgw

#endif  // RTGW_COMMON_CLOCK_HPP_
