#ifndef RTGW_STORAGE_OUTBOX_STORE_HPP_
#define RTGW_STORAGE_OUTBOX_STORE_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/job_store.hpp"

namespace rtgw::storage {

// Transactional outbox of ProjectionUpdates (docs/contracts/projection-update.md).
//
// Writing: every JobStore backend inserts one outbox row in the SAME transaction
// as each job state change: at submit (projection_version 1) and for every
// applied event (the job's new projection_version). The row's payload is
// BuildProjectionUpdate() of the job row after the change (projection_update.hpp).
// A replayed submit or an idempotent/unapplied event writes no row.
//
// Table `projection_outbox` (both backends):
//   id                 integer, store-assigned, unique, ascending in insert order
//   tenant_id, job_id  text
//   projection_version integer; UNIQUE (tenant_id, job_id, projection_version)
//   payload_json       text: the exact body the relay sends
//   created_at         time of the change (the API shows RFC 3339 UTC with microseconds)
//   attempts           integer, 0 at insert
//   next_attempt_at    time before which the row is not claimable (insert: now)
//   lease_owner        text or null; lease_expires_at: time or null
//   last_error         text or null
//   dead_at            time or null: set when the relay gave up (a dead letter)
// ("time": PostgreSQL timestamptz; SQLite integer microseconds since the epoch,
// columns named *_us, see docs/contracts/storage-schema.md.)
// A delivered row is DELETED, so the table holds exactly the undelivered updates.
//
// Ordering rule the store enforces: the HEAD of a job is its undelivered row with
// the lowest projection_version. Only a head is ever claimable, so two updates of
// one job are never in flight together and a job's updates leave in version
// order. A dead head blocks the rows behind it until it is replayed.
//
// "now" is the store's clock (PostgreSQL: now() of the server, so replicas agree).
struct OutboxItem {
  std::int64_t id = 0;
  std::string tenant_id;
  std::string job_id;
  std::int64_t projection_version = 0;
  std::string payload_json;
  std::string created_at;
  std::int32_t attempts = 0;  // failed attempts so far (not counting the current one)
  std::optional<std::string> last_error;
  std::optional<std::string> dead_at;
};

struct OutboxStats {
  std::int64_t pending = 0;  // undelivered rows that are not dead (includes blocked ones)
  std::int64_t dead = 0;     // dead letters
  std::int64_t leased = 0;   // rows under an unexpired lease right now
  double oldest_pending_age_seconds = 0;  // now - min(created_at) over pending; 0 when none
};

// Thread-safety and callbacks: as JobStore (callbacks on a store thread, never
// block in them). All writes here are durable before their callback, like any
// other store write.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Claims up to `limit` heads that are not dead, whose next_attempt_at <= now and
  // that have no unexpired lease (an expired lease of any owner may be taken over).
  // Sets lease_owner = owner, lease_expires_at = now + lease. Oldest first
  // (by id). Atomic: two owners never hold the same row (PostgreSQL:
  // FOR UPDATE SKIP LOCKED).
  virtual void ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                           Callback<std::vector<OutboxItem>> done) = 0;

  // The sink accepted row `id`: delete it. Value false when `owner` is no longer
  // the row's lease owner, i.e. another owner took the expired lease over (the
  // row is left as it is; that owner delivers it again, the sink dedupes).
  virtual void CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) = 0;

  // Delivery failed: attempts += 1, last_error = error, lease cleared, and
  // either next_attempt_at = now + retry_after, or (dead) dead_at = now.
  // Value false when `owner` is no longer the row's lease owner (nothing changed).
  virtual void FailOutbox(std::string owner, std::int64_t id, std::string error,
                          std::chrono::milliseconds retry_after, bool dead,
                          Callback<bool> done) = 0;

  // Dead letters, oldest first; all tenants when tenant_id is nullopt.
  virtual void ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                               Callback<std::vector<OutboxItem>> done) = 0;

  // Makes dead letter `id` deliverable again now (dead_at, lease cleared;
  // attempts reset to 0). Value false when no dead letter has that id (and, when
  // tenant_id is set, that tenant).
  virtual void ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                                Callback<bool> done) = 0;

  virtual void GetOutboxStats(Callback<OutboxStats> done) = 0;

  // Optional wake-up: `listener` is called after each commit that added outbox
  // rows (on a store thread; it must not block), so a relay claims at once
  // instead of waiting for its next poll. A backend without notifications
  // ignores it (the relay polls anyway). Set once, before writes start.
  virtual void SetOutboxListener(std::function<void()> listener) { (void)listener; }
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_OUTBOX_STORE_HPP_
