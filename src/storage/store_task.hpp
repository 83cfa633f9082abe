#ifndef RTGW_STORAGE_STORE_TASK_HPP_
#define RTGW_STORAGE_STORE_TASK_HPP_

#include <exception>
#include <utility>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "storage/job_store.hpp"

// Pieces both store backends (SQLite, PostgreSQL) build their queued work
// from: the one-callback task interface, the errors of a store that refuses
// work, and how a callback is invoked on a store thread.
namespace rtgw::storage {

inline Error StoreClosed() { return Unavailable("store closed", "store_unavailable"); }
inline Error StoreOverloaded() { return Unavailable("store overloaded", "store_unavailable"); }

// Calls `done` and swallows whatever it throws: an exception must never
// unwind a store thread.
template <class T>
void InvokeNoThrow(Callback<T>& done, Result<T> result) noexcept {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    LogError("store callback threw", {{"what", e.what()}});
  } catch (...) {
    LogError("store callback threw", {{"what", "unknown exception"}});
  }
}

// Anything that ends in exactly one callback.
class StoreTask {
 public:
  virtual ~StoreTask() = default;
  // Replaces the outcome with `error` (admission refused, batch not durable).
  virtual void Fail(Error error) = 0;
  // Invokes the callback with the outcome. Never throws. Called once.
  virtual void Complete() noexcept = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_STORE_TASK_HPP_
