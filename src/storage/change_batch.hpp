#ifndef RTGW_STORAGE_CHANGE_BATCH_HPP_
#define RTGW_STORAGE_CHANGE_BATCH_HPP_

// Shared by the SQL backends (storage/sqlite, storage/postgres): the job
// changes (storage/job_feed_store.hpp ChangeRecord) one group-commit
// transaction produces, collected while its writes run and written right
// before its COMMIT. Only the SQL that numbers and inserts them is each
// backend's own.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "storage/job_feed_store.hpp"

namespace rtgw::storage {

// The changes of one open transaction. The batch runner takes a Mark() before
// each write and DropFrom(mark) when that write is rolled back to its
// savepoint; Clear() when the whole transaction is rolled back (or is to be
// run again). Right before COMMIT, Flush() hands the changes to the backend
// grouped by tenant, tenants in ascending order (every transaction locks the
// tenants' head rows in that one order, so two never wait on each other in a
// cycle). After a COMMIT that succeeded, TakeFlushedTenants() names the
// tenants to notify.
//
// Thread-safety: not thread-safe; owned by the one thread running the
// transaction (a writer lane's connection).
class ChangeBatch {
 public:
  // A change of the running write; its seq and created_us are set by Flush.
  void Add(ChangeRecord change) { changes_.push_back(std::move(change)); }

  std::size_t Mark() const { return changes_.size(); }
  // Forgets the changes added since `mark` (that write was rolled back).
  void DropFrom(std::size_t mark) {
    if (mark < changes_.size()) changes_.resize(mark);
  }
  // Forgets everything, flushed tenants included (the transaction is gone).
  void Clear() {
    changes_.clear();
    flushed_tenants_.clear();
  }
  bool empty() const { return changes_.empty(); }

  // Stamps every change with `created_us`, then calls
  // `write_tenant(tenant_id, std::span<ChangeRecord>) -> Status` once per
  // tenant, tenants ascending, each tenant's changes in the order they were
  // added (its writes' order in the transaction). The backend numbers them
  // from the tenant's head row and inserts them (setting `seq` is optional).
  // Stops at the first error and returns it; the transaction must then be
  // rolled back (and Clear() called). On success the changes are gone and
  // their tenants wait in TakeFlushedTenants().
  template <class WriteTenant>
  Status Flush(std::int64_t created_us, WriteTenant&& write_tenant) {
    if (changes_.empty()) return Ok{};
    std::stable_sort(
        changes_.begin(), changes_.end(),
        [](const ChangeRecord& a, const ChangeRecord& b) { return a.tenant_id < b.tenant_id; });
    for (ChangeRecord& c : changes_) c.created_us = created_us;
    std::size_t begin = 0;
    while (begin < changes_.size()) {
      std::size_t end = begin + 1;
      while (end < changes_.size() && changes_[end].tenant_id == changes_[begin].tenant_id) ++end;
      std::span<ChangeRecord> group(changes_.data() + begin, end - begin);
      if (Status s = write_tenant(changes_[begin].tenant_id, group); !s) return s;
      flushed_tenants_.push_back(changes_[begin].tenant_id);
      begin = end;
    }
    changes_.clear();
    return Ok{};
  }

  // The tenants whose changes the last Flush wrote (ascending, each once).
  // Call only once the transaction committed.
  std::vector<std::string> TakeFlushedTenants() { return std::exchange(flushed_tenants_, {}); }

 private:
  std::vector<ChangeRecord> changes_;
  std::vector<std::string> flushed_tenants_;
};

// The change a committed job state change produces: `job` as the write left
// it (projection_version included), `payload_json` its ProjectionUpdate body.
inline ChangeRecord MakeChange(const JobRecord& job, std::string requested_by,
                               std::string payload_json) {
  ChangeRecord c;
  c.tenant_id = job.tenant_id;
  c.job_id = job.job_id;
  c.workspace_id = job.workspace_id;
  c.management_node_id = job.management_node_id;
  c.requested_by = std::move(requested_by);
  c.projection_version = job.projection_version;
  c.payload_json = std::move(payload_json);
  return c;
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_CHANGE_BATCH_HPP_
