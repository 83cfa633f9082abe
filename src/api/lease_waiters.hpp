#ifndef RTGW_API_LEASE_WAITERS_HPP_
#define RTGW_API_LEASE_WAITERS_HPP_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace rtgw::api {

// Parks long polls without holding an I/O thread: leases:acquire (key: the
// management node) and the projection long poll (key: the job, parked by
// api/job_watch.hpp). A request that found nothing parks here with the change
// counter of its key it read BEFORE querying the store; it is woken when:
//   - Notify(key) moved the counter (for leases a submit, cancel or release
//     for that node): wake(false), the handler queries again;
//   - `recheck` passed: wake(false) (catches lease expiry, which has no event,
//     and changes made by another gateway replica on a shared database);
//   - its deadline passed, or Shutdown(): wake(true), the handler answers.
// A waiter whose counter already moved when it parks is woken at once, so a
// notification between the query and Park is never lost.
//
// `wake` runs on the waiter thread, outside the lock; it must not block (it
// starts a store call). Each parked wake is called exactly once.
// Thread-safety: safe for concurrent use. The destructor calls Shutdown() and
// joins the thread.
class LeaseWaiters {
 public:
  using Clock = std::chrono::steady_clock;

  // Long polls parked per key (management node) at most, by default; Park beyond it wakes at
  // once with final=true (the poll is answered "nothing to lease" without waiting). Every parked
  // poll also holds an HTTP connection, so the total is bounded by --max-connections.
  static constexpr std::size_t kMaxParkedPerKey = 16;

  explicit LeaseWaiters(std::chrono::milliseconds recheck,
                        std::size_t max_parked_per_key = kMaxParkedPerKey);
  ~LeaseWaiters();
  LeaseWaiters(const LeaseWaiters&) = delete;
  LeaseWaiters& operator=(const LeaseWaiters&) = delete;

  std::uint64_t Version(const std::string& key);
  void Park(const std::string& key, std::uint64_t seen, Clock::time_point deadline,
            std::function<void(bool final)> wake);
  void Notify(const std::string& key);
  // Drops `key`'s counter if no waiter is parked on it (its next Version is 0), so that keys
  // that come and go (one per long-polled job) do not accumulate. Only for callers that read
  // Version and Park under one lock of their own that also covers Forget: a Version read before
  // a Forget and used by a Park after it would miss a Notify in between.
  void Forget(const std::string& key);
  // Wakes every parked waiter with final=true; later Park calls too. Idempotent.
  void Shutdown();

  std::size_t parked();

 private:
  struct Waiter {
    std::string key;
    std::uint64_t seen;
    Clock::time_point deadline;
    Clock::time_point recheck_at;
    std::function<void(bool)> wake;
  };
  void Loop();

  void UnparkedLocked(const std::string& key);

  const std::chrono::milliseconds recheck_;
  const std::size_t max_parked_per_key_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, std::uint64_t> versions_;  // GUARDED_BY(mu_)
  std::list<Waiter> waiters_;                                // GUARDED_BY(mu_)
  // Waiters per key, so that Park's cap and Notify's "anyone parked here?" are O(1) with
  // thousands of parked polls. GUARDED_BY(mu_)
  std::unordered_map<std::string, std::size_t> parked_per_key_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool dirty_ = false;     // GUARDED_BY(mu_): a Notify/Park since the loop last looked
  std::thread thread_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_LEASE_WAITERS_HPP_
