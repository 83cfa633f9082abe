// OutboxStore of a PgDatabase (db_stores.hpp): each call is one task on its
// own statements (claims take rows with FOR UPDATE SKIP LOCKED, so relays on
// several replicas never claim one row twice). The rows are inserted by the job
// writes themselves (pg_job_ops.cpp).
#include <utility>

#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_outbox_ops.hpp"

namespace rtgw::storage {

using postgres::PgConn;
using postgres::PgDatabase;

template <>
void DbOutboxStore<PgDatabase>::ClaimOutbox(std::string owner, std::chrono::milliseconds lease,
                                            int limit, Callback<std::vector<OutboxItem>> done) {
  db_.Task<std::vector<OutboxItem>>(
      [o = std::move(owner), lease, limit](PgConn& c) { return PgClaimOutbox(c, o, lease, limit); },
      std::move(done), /*rerunnable=*/false);
}

template <>
void DbOutboxStore<PgDatabase>::CompleteOutbox(std::string owner, std::int64_t id,
                                               Callback<bool> done) {
  db_.Task<bool>([o = std::move(owner), id](PgConn& c) { return PgCompleteOutbox(c, o, id); },
                 std::move(done), /*rerunnable=*/false);
}

template <>
void DbOutboxStore<PgDatabase>::FailOutbox(std::string owner, std::int64_t id, std::string error,
                                           std::chrono::milliseconds retry_after, bool dead,
                                           Callback<bool> done) {
  db_.Task<bool>([o = std::move(owner), id, e = std::move(error), retry_after,
                  dead](PgConn& c) { return PgFailOutbox(c, o, id, e, retry_after, dead); },
                 std::move(done), /*rerunnable=*/false);
}

template <>
void DbOutboxStore<PgDatabase>::ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                                                Callback<std::vector<OutboxItem>> done) {
  db_.Task<std::vector<OutboxItem>>(
      [t = std::move(tenant_id), limit](PgConn& c) { return PgListDeadLetters(c, t, limit); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbOutboxStore<PgDatabase>::ReplayDeadLetter(std::optional<std::string> tenant_id,
                                                 std::int64_t id, Callback<bool> done) {
  db_.Task<bool>([t = std::move(tenant_id), id](PgConn& c) { return PgReplayDeadLetter(c, t, id); },
                 std::move(done), /*rerunnable=*/false);
}

template <>
void DbOutboxStore<PgDatabase>::GetOutboxStats(Callback<OutboxStats> done) {
  db_.Task<OutboxStats>([](PgConn& c) { return PgOutboxStats(c); }, std::move(done),
                        /*rerunnable=*/true);
}

// PostgreSQL has no notifications here: the relay polls.
template <>
void DbOutboxStore<PgDatabase>::SetOutboxListener(std::function<void()> /*listener*/) {}

}  // namespace rtgw::storage
