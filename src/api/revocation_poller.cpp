#include "api/revocation_poller.hpp"

#include <vector>

#include "common/await.hpp"
#include "common/logging.hpp"

namespace rtgw::api {

RevocationPoller::RevocationPoller(storage::RevocationStore& store, auth::RevocationList& list,
                                   std::chrono::milliseconds interval)
    : store_(store), list_(list), interval_(interval) {}

RevocationPoller::~RevocationPoller() { Stop(); }

Status RevocationPoller::LoadOnce() {
  Result<std::vector<storage::TokenRevocation>> rows =
      Await<std::vector<storage::TokenRevocation>>([this](auto done) {
        store_.ListRevocations(std::chrono::system_clock::now(), std::move(done));
      });
  if (!rows) return std::move(rows).error();
  std::vector<auth::RevocationList::Entry> entries;
  entries.reserve(rows->size());
  for (storage::TokenRevocation& r : *rows) {
    entries.push_back({std::move(r.tenant_id), std::move(r.jti)});
  }
  list_.Replace(entries);
  return Ok{};
}

Status RevocationPoller::Start() {
  if (Status s = LoadOnce(); !s) return s;
  thread_ = std::thread([this] { Loop(); });
  return Ok{};
}

void RevocationPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RevocationPoller::Loop() {
  bool failing = false;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    Status s = LoadOnce();
    // One line when reloads start failing and one when they recover, not one a second.
    if (!s && !failing) {
      LogWarn("token revocations: reload failed; keeping the last list",
              {{"error", s.error().message}});
    } else if (s && failing) {
      LogInfo("token revocations: reloading again");
    }
    failing = !s;
    lock.lock();
  }
}

}  // namespace rtgw::api
