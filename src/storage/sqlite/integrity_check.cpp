#include "storage/sqlite/integrity_check.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "storage/store_executor.hpp"

namespace rtgw::storage::sqlite {

void IntegrityCheck::Check(const StartFn& start, Callback<StoreIntegrity> done) {
  std::optional<StoreIntegrity> reused;
  {
    std::lock_guard lock(mu_);
    if (!running_ && last_ && clock_->Now() - last_at_ < reuse_for_) {
      reused = *last_;
    } else {
      waiting_.push_back(std::move(done));
      if (running_) return;
      running_ = true;
    }
  }
  // Callbacks run outside the lock: they may call Check again.
  if (reused) return InvokeNoThrow<StoreIntegrity>(done, std::move(*reused));
  start([this](Result<StoreIntegrity> result) { Finish(std::move(result)); });
}

void IntegrityCheck::Finish(Result<StoreIntegrity> result) {
  const bool ran = result.ok();
  StoreIntegrity outcome =
      ran ? std::move(result).value()
          : StoreIntegrity{.ok = false,
                           .detail = "integrity check did not run: " + result.error().message};
  std::vector<Callback<StoreIntegrity>> waiting;
  {
    std::lock_guard lock(mu_);
    if (ran) {
      last_ = outcome;
      last_at_ = clock_->Now();
    }
    running_ = false;
    waiting.swap(waiting_);
  }
  for (Callback<StoreIntegrity>& done : waiting) {
    InvokeNoThrow<StoreIntegrity>(done, StoreIntegrity(outcome));
  }
}

}  // namespace rtgw::storage::sqlite
