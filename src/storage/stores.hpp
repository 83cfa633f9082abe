#ifndef RTGW_STORAGE_STORES_HPP_
#define RTGW_STORAGE_STORES_HPP_

#include "storage/job_feed_store.hpp"
#include "storage/job_retention_store.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/revocation_store.hpp"
#include "storage/validator_run_retention_store.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage {

// One open database: it owns the store threads (storage/store_executor.hpp)
// and the connections, and hands out one small store per interface. Both
// backends (sqlite::SqliteDatabase, postgres::PgDatabase) have this shape.
// The stores live as long as this object; Close() (also jobs().Close(), or
// the destructor) drains queued work of every store, answers it, and joins.
//
// Thread-safety: every store is safe for concurrent use.
class Stores {
 public:
  virtual ~Stores() = default;

  virtual JobStore& jobs() = 0;
  virtual OutboxStore& outbox() = 0;
  virtual NodeStore& nodes() = 0;
  virtual ValidatorRunStore& validator_runs() = 0;
  virtual RevocationStore& revocations() = 0;
  virtual JobFeedStore& feed() = 0;
  virtual JobRetentionStore& retention() = 0;
  virtual ValidatorRunRetentionStore& validator_run_retention() = 0;
  virtual void Close() = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_STORES_HPP_
