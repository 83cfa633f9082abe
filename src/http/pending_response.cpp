#include "http/pending_response.hpp"

#include <utility>

namespace rtgw::http {

bool PendingResponse::Complete(Response response) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (completed_ || abandoned_) return false;
    completed_ = true;
    response_ = std::move(response);
    wake = std::move(wake_);
    wake_ = nullptr;
  }
  // Outside the lock: `wake` posts to the session's strand, and the strand may
  // run the session (which takes mu_) on another thread right away.
  if (wake) wake();
  return true;
}

std::optional<Response> PendingResponse::TakeOrWait(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (abandoned_) return std::nullopt;
  if (response_) {
    std::optional<Response> out = std::move(response_);
    response_.reset();
    return out;
  }
  wake_ = std::move(wake);
  return std::nullopt;
}

std::optional<Response> PendingResponse::Abandon() {
  std::function<void()> wake;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
  wake = std::move(wake_);
  wake_ = nullptr;
  std::optional<Response> out = std::move(response_);
  response_.reset();
  return out;
}

}  // namespace rtgw::http
