#ifndef RTGW_STORAGE_JOB_CACHE_HPP_
#define RTGW_STORAGE_JOB_CACHE_HPP_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/job_store.hpp"

namespace rtgw::storage {

// The committed current state of recently used jobs, in memory, so that the
// hot reads (GET job, GET projection) are answered without a trip to a store
// thread. A bounded LRU keyed by (tenant_id, job_id).
//
// Coherence: the cache only ever holds rows as committed. The store's writer
// calls PutCommitted / ApplyCommitted after a durable commit; readers that
// missed fill it with FillIfUnchanged, which refuses the fill when any
// committed change happened after the reader took Generation() (the row it
// read may be older than the change). Each key's projection_version therefore
// only grows in the cache, as in the database. Valid only while this process
// is the database's only writer (the SQLite store holds an exclusive lock on
// its file to guarantee that).
//
// Thread-safety: safe for concurrent use; one mutex, held for map operations
// only (never across I/O).
class JobCache {
 public:
  // capacity 0 disables the cache (Find always misses, fills are dropped).
  explicit JobCache(std::size_t capacity);
  JobCache(const JobCache&) = delete;
  JobCache& operator=(const JobCache&) = delete;

  std::shared_ptr<const JobRecord> Find(std::string_view tenant_id, std::string_view job_id);

  // Readers: take the generation BEFORE reading the row from the database.
  std::uint64_t Generation();
  void FillIfUnchanged(std::uint64_t generation, const JobRecord& record);

  // Writer, after a durable commit. A new job:
  void PutCommitted(JobRecord record);
  // An applied event (jobs::ApplyEvent, as the writer committed it) that left
  // the job at `projection_version`.
  void ApplyCommitted(const EventRecord& event, std::int64_t projection_version);

  // Drops every entry and invalidates in-flight fills. Never throws.
  void Clear() noexcept;
  // Writer, after a durable commit that deleted the job (retention): drops its
  // entry and invalidates in-flight fills (they may hold the deleted row).
  // Cheaper than Clear for a few jobs: the rest of the cache stays warm.
  void EraseCommitted(std::string_view tenant_id, std::string_view job_id);

  std::size_t size();
  std::size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const JobRecord>>;
  static std::string Key(std::string_view tenant_id, std::string_view job_id);
  void InsertLocked(std::string key, std::shared_ptr<const JobRecord> record);

  const std::size_t capacity_;
  std::mutex mu_;
  std::list<Entry> lru_;                                               // GUARDED_BY(mu_), MRU first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;  // GUARDED_BY(mu_)
  std::uint64_t generation_ = 0;                                       // GUARDED_BY(mu_)
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_CACHE_HPP_
