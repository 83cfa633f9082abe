#ifndef RTGW_STORAGE_JOB_FEED_STORE_HPP_
#define RTGW_STORAGE_JOB_FEED_STORE_HPP_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/job_store.hpp"

// Listing jobs and the change feed behind watching them
// (docs/contracts/http-api.md "Listing and watching jobs").
namespace rtgw::storage {

// One page of a tenant's jobs, newest submission first: ordered by
// (accepted_at DESC, job_id DESC), a total order (accepted_at is fixed-width
// RFC 3339 UTC, so text order is time order). Keyset pagination: `after` is
// the (accepted_at, job_id) of the last row of the previous page; the page
// holds only rows strictly after it in that order. Rows committed while a
// client pages never make a row repeat, and a row that existed when the first
// page was read is never skipped.
struct JobListQuery {
  std::string tenant_id;
  std::optional<std::string> workspace_id;
  std::vector<jobs::JobState> states;  // empty: any state
  std::optional<std::string> management_node_id;
  std::optional<std::string> requested_by;    // requested_by.user_id of the submit
  std::optional<std::string> updated_after;   // FormatRfc3339 text; updated_at > it
  std::optional<std::string> updated_before;  // FormatRfc3339 text; updated_at < it
  struct Key {
    std::string accepted_at;
    std::string job_id;
  };
  std::optional<Key> after;
  int limit = 50;  // 1..500 (the API checks it)
  // Read the tenant's change head BEFORE the page (JobPage::head), so that a
  // watch from it misses no change the page does not show.
  bool with_head = false;
};

// The change feed's position for a tenant. Changes are numbered per tenant
// 1, 2, 3, ... in COMMIT order (see ChangeRecord); `last_seq` is the highest
// committed, `pruned_through` the highest removed by retention (changes
// 1..pruned_through are gone; 0 when none was pruned).
struct ChangeHead {
  std::int64_t last_seq = 0;
  std::int64_t pruned_through = 0;
};

struct JobPage {
  std::vector<JobRecord> jobs;
  bool more = false;               // at least one more row matches after the last one
  std::optional<ChangeHead> head;  // when the query asked with_head
};

// One committed job change: a submit (projection_version 1) or an applied
// event, written in the same transaction as the change itself, with the same
// ProjectionUpdate body the outbox row gets.
//
// `seq` is per tenant, gap-free and ascending in commit order on both
// backends: a reader that has seen seq N has seen every change <= N, and a
// change committed later always gets a higher seq. (The backends number a
// transaction's changes right before COMMIT while holding the tenant's head
// row lock, so two transactions of one tenant, on any replica, number and
// commit one after the other. A PostgreSQL sequence would not do: its values
// are taken in one order and committed in another.)
struct ChangeRecord {
  std::int64_t seq = 0;
  std::string tenant_id;
  std::string job_id;
  std::string workspace_id;
  std::string management_node_id;
  std::string requested_by;  // requested_by.user_id of the submit
  std::int64_t projection_version = 0;
  std::string payload_json;     // the ProjectionUpdate body (projection_update.hpp)
  std::int64_t created_us = 0;  // commit time, microseconds since the epoch
};

struct ChangePage {
  std::vector<ChangeRecord> changes;  // seq ascending, all > after_seq
  ChangeHead head;                    // as of this read
};

// Thread-safety and callbacks: as JobStore (callbacks on a store thread, never
// block in them). Errors: Unavailable(.., "store_unavailable") when the store
// cannot be read or written.
class JobFeedStore {
 public:
  virtual ~JobFeedStore() = default;

  // One page of the tenant's jobs (see JobListQuery). Never another tenant's.
  virtual void ListJobs(JobListQuery query, Callback<JobPage> done) = 0;

  // The tenant's changes with seq > after_seq, ascending, at most `limit`
  // (1..1000), and the head as of the same read. A tenant that never changed
  // has head {0, 0}.
  virtual void ReadChanges(std::string tenant_id, std::int64_t after_seq, int limit,
                           Callback<ChangePage> done) = 0;

  // Retention: deletes changes committed before `older_than_us` (microseconds
  // since the epoch), at most `max_rows` of them, tenant by tenant in
  // ascending order, each tenant's oldest first (a prefix of its feed), and
  // raises each affected tenant's pruned_through to the highest seq it
  // deleted. Value: rows deleted. Safe to run from several replicas at once.
  virtual void PruneChanges(std::int64_t older_than_us, int max_rows,
                            Callback<std::int64_t> done) = 0;

  // `listener(tenant_id)` is called after a commit that added changes of that
  // tenant (on a store or listener thread; it must not block). PostgreSQL:
  // also for commits by other replicas (LISTEN/NOTIFY on channel
  // rtgw_job_changes); after the notification connection was lost and
  // re-established it is called once with "" (any tenant may have changed:
  // re-read). Set once, before writes start; null unsets it.
  virtual void SetChangeListener(std::function<void(const std::string& tenant_id)> listener) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_FEED_STORE_HPP_
