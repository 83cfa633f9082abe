#ifndef RTGW_STORAGE_POSTGRES_PG_OUTBOX_OPS_HPP_
#define RTGW_STORAGE_POSTGRES_PG_OUTBOX_OPS_HPP_

// Private to storage/postgres: the OutboxStore operations
// (storage/outbox_store.hpp) as blocking calls, each one autocommit statement.
// "now" is the server's now(), so every replica uses the same clock.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/outbox_store.hpp"

namespace rtgw::storage::postgres {

class PgConn;

// Heads only (no lower projection_version of the same job undelivered), not
// dead, due, and without an unexpired lease; locked with FOR UPDATE SKIP
// LOCKED so concurrent claimers on any replica never get the same row.
Result<std::vector<OutboxItem>> PgClaimOutbox(PgConn& conn, const std::string& owner,
                                              std::chrono::milliseconds lease, int limit);
Result<bool> PgCompleteOutbox(PgConn& conn, const std::string& owner, std::int64_t id);
Result<bool> PgFailOutbox(PgConn& conn, const std::string& owner, std::int64_t id,
                          const std::string& error, std::chrono::milliseconds retry_after,
                          bool dead);
Result<std::vector<OutboxItem>> PgListDeadLetters(PgConn& conn,
                                                  const std::optional<std::string>& tenant_id,
                                                  int limit);
Result<bool> PgReplayDeadLetter(PgConn& conn, const std::optional<std::string>& tenant_id,
                                std::int64_t id);
Result<OutboxStats> PgOutboxStats(PgConn& conn);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_OUTBOX_OPS_HPP_
