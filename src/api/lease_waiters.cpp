#include "api/lease_waiters.hpp"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "common/logging.hpp"

namespace rtgw::api {
namespace {

void WakeNoThrow(std::function<void(bool)>& wake, bool final) noexcept {
  try {
    wake(final);
  } catch (const std::exception& e) {
    LogError("long-poll wake threw", {{"what", e.what()}});
  } catch (...) {
    LogError("long-poll wake threw", {{"what", "unknown exception"}});
  }
}

}  // namespace

LeaseWaiters::LeaseWaiters(std::chrono::milliseconds recheck, std::size_t max_parked_per_key)
    : recheck_(recheck), max_parked_per_key_(max_parked_per_key), thread_([this] { Loop(); }) {}

LeaseWaiters::~LeaseWaiters() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t LeaseWaiters::Version(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = versions_.find(key);
  return it == versions_.end() ? 0 : it->second;
}

void LeaseWaiters::Park(const std::string& key, std::uint64_t seen, Clock::time_point deadline,
                        std::function<void(bool final)> wake) {
  {
    std::lock_guard lock(mu_);
    // A node polls with one or a few agents; more parked polls than the cap are a client
    // holding the server's memory: answered at once ("nothing to lease") instead.
    const auto count = parked_per_key_.find(key);
    const bool full = count != parked_per_key_.end() && count->second >= max_parked_per_key_;
    if (!stopping_ && !full) {
      const Clock::time_point recheck_at = std::min(deadline, Clock::now() + recheck_);
      waiters_.push_back(Waiter{key, seen, deadline, recheck_at, std::move(wake)});
      ++parked_per_key_[key];
      dirty_ = true;
      cv_.notify_one();
      return;
    }
  }
  WakeNoThrow(wake, true);
}

void LeaseWaiters::Notify(const std::string& key) {
  bool parked_here = false;
  {
    std::lock_guard lock(mu_);
    ++versions_[key];
    // Only a waiter parked on this key has anything to do. One that parks
    // later compares the version it read before its query with the moved one
    // and is woken at once, so skipping the wake-up here loses nothing (and a
    // submit with no agent polling costs no thread switch).
    parked_here = parked_per_key_.contains(key);
    if (parked_here) dirty_ = true;
  }
  if (parked_here) cv_.notify_one();
}

void LeaseWaiters::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  if (!parked_per_key_.contains(key)) versions_.erase(key);
}

void LeaseWaiters::UnparkedLocked(const std::string& key) {
  const auto count = parked_per_key_.find(key);
  if (count != parked_per_key_.end() && --count->second == 0) parked_per_key_.erase(count);
}

void LeaseWaiters::Shutdown() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_one();
}

std::size_t LeaseWaiters::parked() {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void LeaseWaiters::Loop() {
  std::vector<std::pair<std::function<void(bool)>, bool>> ready;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      Clock::time_point next = Clock::time_point::max();
      for (const Waiter& w : waiters_) next = std::min(next, w.recheck_at);
      if (!stopping_ && !dirty_) {
        if (next == Clock::time_point::max()) {
          cv_.wait(lock, [this] { return stopping_ || dirty_; });
        } else {
          cv_.wait_until(lock, next, [this] { return stopping_ || dirty_; });
        }
      }
      dirty_ = false;
      const Clock::time_point now = Clock::now();
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        const auto v = versions_.find(it->key);
        const std::uint64_t version = v == versions_.end() ? 0 : v->second;
        const bool final = stopping_ || now >= it->deadline;
        if (final || version != it->seen || now >= it->recheck_at) {
          ready.emplace_back(std::move(it->wake), final);
          UnparkedLocked(it->key);
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
      if (stopping_ && ready.empty()) return;
    }
    for (auto& [wake, final] : ready) WakeNoThrow(wake, final);
    ready.clear();
  }
}

}  // namespace rtgw::api
