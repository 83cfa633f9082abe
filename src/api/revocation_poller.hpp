#ifndef RTGW_API_REVOCATION_POLLER_HPP_
#define RTGW_API_REVOCATION_POLLER_HPP_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "auth/revocation_list.hpp"
#include "common/error.hpp"
#include "storage/revocation_store.hpp"

namespace rtgw::api {

// Keeps an auth::RevocationList equal to the store's live token revocations:
// one load at Start (a restarted replica refuses revoked tokens from its first
// request), then a reload every `interval` on a thread of its own, so a
// revocation taken by any replica holds here within one interval. A failed
// reload keeps the last list and logs (docs/contracts/jwt.md "Revocation").
//
// Thread-safety: Start and Stop from one thread; the list is safe for
// concurrent readers throughout. `store` and `list` must outlive this object.
class RevocationPoller {
 public:
  RevocationPoller(storage::RevocationStore& store, auth::RevocationList& list,
                   std::chrono::milliseconds interval);
  ~RevocationPoller();  // Stop()

  // The first load; its error (the store is unreachable) fails start-up.
  Status Start();
  void Stop();
  // One reload now (tests; also what the thread runs).
  Status LoadOnce();

 private:
  void Loop();

  storage::RevocationStore& store_;
  auth::RevocationList& list_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_REVOCATION_POLLER_HPP_
