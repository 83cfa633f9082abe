#ifndef RTGW_STORAGE_POSTGRES_PG_OUTBOX_STORE_HPP_
#define RTGW_STORAGE_POSTGRES_PG_OUTBOX_STORE_HPP_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/outbox_store.hpp"

namespace rtgw::storage::postgres {

class PgDatabase;

// OutboxStore of a PgDatabase: each call is one task on its own statements
// (claims take rows with FOR UPDATE SKIP LOCKED, so relays on several replicas
// never claim one row twice). The rows are inserted by the job writes
// themselves (pg_job_ops.cpp). Thread-safety: safe for concurrent use.
class PgOutboxStore final : public OutboxStore {
 public:
  explicit PgOutboxStore(PgDatabase& db) : db_(db) {}

  void ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                   Callback<std::vector<OutboxItem>> done) override;
  void CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) override;
  void FailOutbox(std::string owner, std::int64_t id, std::string error,
                  std::chrono::milliseconds retry_after, bool dead, Callback<bool> done) override;
  void ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                       Callback<std::vector<OutboxItem>> done) override;
  void ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                        Callback<bool> done) override;
  void GetOutboxStats(Callback<OutboxStats> done) override;

 private:
  PgDatabase& db_;
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_OUTBOX_STORE_HPP_
