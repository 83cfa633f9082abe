#ifndef RTGW_STORAGE_SQLITE_INTEGRITY_CHECK_HPP_
#define RTGW_STORAGE_SQLITE_INTEGRITY_CHECK_HPP_

// Private to storage/sqlite: the single flight and reuse of JobStore::CheckIntegrity.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage::sqlite {

// PRAGMA quick_check reads the whole file, and GET /api/health?deep=1 needs no
// token: so at most one check runs at a time (callers arriving meanwhile get
// its result), and a finished check's result is reused for `reuse_for`. A run
// that ended with an Error (the store refused the task: closed, overloaded)
// is answered ok=false but not reused.
//
// Thread-safety: safe for concurrent use; `done` and `start`'s callback may
// run on any thread. `*clock` must outlive this object.
class IntegrityCheck {
 public:
  static constexpr std::chrono::seconds kReuseFor{30};
  // Starts one check; calls its callback exactly once, on any thread.
  using StartFn = std::function<void(Callback<StoreIntegrity>)>;

  explicit IntegrityCheck(const Clock* clock, Clock::TimePoint::duration reuse_for = kReuseFor)
      : clock_(clock), reuse_for_(reuse_for) {}

  // The last result when younger than reuse_for (inline, on the caller's
  // thread); else joins the running check, or starts one with `start`.
  void Check(const StartFn& start, Callback<StoreIntegrity> done);

 private:
  void Finish(Result<StoreIntegrity> result);

  const Clock* clock_;
  const Clock::TimePoint::duration reuse_for_;
  std::mutex mu_;
  bool running_ = false;                           // GUARDED_BY(mu_)
  std::vector<Callback<StoreIntegrity>> waiting_;  // GUARDED_BY(mu_)
  std::optional<StoreIntegrity> last_;             // GUARDED_BY(mu_)
  Clock::TimePoint last_at_;                       // GUARDED_BY(mu_)
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_INTEGRITY_CHECK_HPP_
