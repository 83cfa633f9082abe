#include "storage/job_cache.hpp"

#include <utility>

#include "jobs/job_rules.hpp"

namespace rtgw::storage {

JobCache::JobCache(std::size_t capacity) : capacity_(capacity) {
  if (capacity_ > 0) index_.reserve(capacity_ < (1u << 20) ? capacity_ : (1u << 20));
}

std::string JobCache::Key(std::string_view tenant_id, std::string_view job_id) {
  // "<len(tenant)>:<tenant><job>": the length prefix keeps ("t1","j") and
  // ("t","1j") apart whatever characters the ids hold.
  std::string key;
  key.reserve(tenant_id.size() + job_id.size() + 12);
  key.append(std::to_string(tenant_id.size()));
  key.push_back(':');
  key.append(tenant_id);
  key.append(job_id);
  return key;
}

std::shared_ptr<const JobRecord> JobCache::Find(std::string_view tenant_id,
                                                std::string_view job_id) {
  if (capacity_ == 0) return nullptr;
  const std::string key = Key(tenant_id, job_id);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

std::uint64_t JobCache::Generation() {
  std::lock_guard lock(mu_);
  return generation_;
}

void JobCache::InsertLocked(std::string key, std::shared_ptr<const JobRecord> record) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->second = std::move(record);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (lru_.size() >= capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, std::move(record));
  index_.emplace(std::move(key), lru_.begin());
}

void JobCache::FillIfUnchanged(std::uint64_t generation, const JobRecord& record) {
  if (capacity_ == 0) return;
  auto copy = std::make_shared<const JobRecord>(record);
  std::string key = Key(record.tenant_id, record.job_id);
  std::lock_guard lock(mu_);
  if (generation != generation_) return;  // a commit raced the read: the row may be stale
  auto it = index_.find(key);
  if (it != index_.end() && it->second->second->projection_version >= record.projection_version) {
    return;
  }
  InsertLocked(std::move(key), std::move(copy));
}

void JobCache::PutCommitted(JobRecord record) {
  if (capacity_ == 0) return;
  std::string key = Key(record.tenant_id, record.job_id);
  auto shared = std::make_shared<const JobRecord>(std::move(record));
  std::lock_guard lock(mu_);
  ++generation_;
  InsertLocked(std::move(key), std::move(shared));
}

void JobCache::ApplyCommitted(const EventRecord& event, std::int64_t projection_version) {
  if (capacity_ == 0) return;
  const std::string key = Key(event.tenant_id, event.job_id);
  std::lock_guard lock(mu_);
  ++generation_;
  auto it = index_.find(key);
  if (it == index_.end()) return;  // not cached: nothing to keep coherent
  auto updated = std::make_shared<JobRecord>(*it->second->second);
  jobs::ApplyEvent(*updated, event);
  if (updated->projection_version != projection_version) {
    // The cached row was not the one the event was applied to: drop it.
    lru_.erase(it->second);
    index_.erase(it);
    return;
  }
  it->second->second = std::move(updated);
}

void JobCache::Clear() noexcept {
  std::lock_guard lock(mu_);
  ++generation_;
  index_.clear();
  lru_.clear();
}

void JobCache::EraseCommitted(std::string_view tenant_id, std::string_view job_id) {
  if (capacity_ == 0) return;
  const std::string key = Key(tenant_id, job_id);
  std::lock_guard lock(mu_);
  ++generation_;
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

std::size_t JobCache::size() {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace rtgw::storage
