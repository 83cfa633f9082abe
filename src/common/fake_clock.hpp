#ifndef RTGW_COMMON_FAKE_CLOCK_HPP_
#define RTGW_COMMON_FAKE_CLOCK_HPP_

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/clock.hpp"

namespace rtgw {

// A Clock for tests: Now() moves only by Advance(), and WaitUntil() returns
// when the awaited condition holds or an Advance() reached its deadline, never
// because real time passed.
//
// Thread-safety: safe for concurrent use. Advance() notifies each waiting
// condition variable under its own mutex (so no wake-up is lost): call it
// while the objects waiting on this clock are alive, and without holding
// their mutexes.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::hours(1))) : now_(start) {}

  TimePoint Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }

  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) override {
    const Waiter self{lock.mutex(), &cv};
    {
      std::lock_guard guard(mu_);
      waiters_.push_back(self);
      ++waits_started_;
    }
    while (!done() && Now() < deadline) cv.wait(lock);
    {
      std::lock_guard guard(mu_);
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), self));
    }
    return done();
  }

  void Advance(std::chrono::nanoseconds by) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mu_);
      now_ += by;
      waiters = waiters_;
    }
    for (const Waiter& w : waiters) {
      std::lock_guard lock(*w.mutex);
      w.cv->notify_all();
    }
  }

  // How many times a thread entered WaitUntil: a thread that loops "work, then
  // wait" has finished the work an Advance() caused once this count grows.
  std::uint64_t waits_started() const {
    std::lock_guard lock(mu_);
    return waits_started_;
  }

  // Blocks (on real time, up to `limit`) until waits_started() > `seen`.
  bool AwaitWaitAfter(std::uint64_t seen,
                      std::chrono::milliseconds limit = std::chrono::seconds(15)) const {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (waits_started() <= seen) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* cv;
    bool operator==(const Waiter&) const = default;
  };

  mutable std::mutex mu_;
  TimePoint now_;                    // GUARDED_BY(mu_)
  std::vector<Waiter> waiters_;      // GUARDED_BY(mu_)
  std::uint64_t waits_started_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace rtgw

#endif  // RTGW_COMMON_FAKE_CLOCK_HPP_
