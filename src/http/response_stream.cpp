#include "http/response_stream.hpp"

#include <utility>

namespace rtgw::http {

bool ResponseStream::Write(std::string data) {
  std::unique_lock lock(mu_);
  if (ended_ || close_requested_) return false;
  if (queued_.size() + data.size() > max_buffered_bytes_) {
    EndLocked(lock, /*aborted=*/true);
    return false;
  }
  const bool was_empty = queued_.empty();
  if (was_empty) {
    queued_ = std::move(data);
  } else {
    queued_ += data;
  }
  std::function<void()> wake = was_empty ? wake_ : nullptr;
  lock.unlock();
  if (wake) wake();
  return true;
}

void ResponseStream::Close() {
  std::unique_lock lock(mu_);
  if (ended_ || close_requested_) return;
  close_requested_ = true;
  std::function<void()> wake = wake_;
  lock.unlock();
  if (wake) wake();
}

bool ResponseStream::closed() {
  std::lock_guard lock(mu_);
  return ended_ || close_requested_;
}

std::size_t ResponseStream::queued_bytes() {
  std::lock_guard lock(mu_);
  return queued_.size();
}

void ResponseStream::OnClosed(std::function<void()> callback) {
  std::unique_lock lock(mu_);
  if (!ended_) {
    on_closed_ = std::move(callback);
    return;
  }
  lock.unlock();
  if (callback) callback();
}

ResponseStream::Taken ResponseStream::Take() {
  std::unique_lock lock(mu_);
  Taken taken;
  taken.data = std::move(queued_);
  queued_.clear();
  taken.aborted = aborted_;
  if (aborted_) {
    taken.data.clear();
    taken.ended = true;
    return taken;
  }
  if (close_requested_ && !ended_) {
    taken.ended = true;
    EndLocked(lock, /*aborted=*/false);
    return taken;
  }
  taken.ended = ended_;
  return taken;
}

void ResponseStream::SetWake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

void ResponseStream::Abort() {
  std::unique_lock lock(mu_);
  if (ended_) return;
  EndLocked(lock, /*aborted=*/true);
}

// Ends the stream and runs the OnClosed callback (and the server's wake, so
// that it notices an abort) outside the lock. `lock` is released.
void ResponseStream::EndLocked(std::unique_lock<std::mutex>& lock, bool aborted) {
  ended_ = true;
  aborted_ = aborted_ || aborted;
  if (aborted_) queued_.clear();
  std::function<void()> on_closed = std::move(on_closed_);
  on_closed_ = nullptr;
  std::function<void()> wake = aborted ? wake_ : nullptr;
  lock.unlock();
  if (wake) wake();
  if (on_closed) on_closed();
}

}  // namespace rtgw::http
