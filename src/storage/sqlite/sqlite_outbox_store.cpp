// OutboxStore of a SqliteDatabase (db_stores.hpp): every call is a write
// through the writer thread (claims set leases), committed durably like any
// other write. The outbox listener is called on the writer thread after a
// commit that inserted outbox rows.
#include <utility>

#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/outbox_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage {

using sqlite::JobWriter;
using sqlite::SqliteDatabase;

namespace {

std::int64_t Micros(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

// The relay's own bookkeeping (claim, complete, fail, stats) is internal: it
// still runs while the store closes. Dead-letter admin calls are not.

template <>
void DbOutboxStore<SqliteDatabase>::ClaimOutbox(std::string owner, std::chrono::milliseconds lease,
                                                int limit, Callback<std::vector<OutboxItem>> done) {
  db_.Write<std::vector<OutboxItem>>(
      [owner = std::move(owner), lease_us = Micros(lease), limit](JobWriter& w) {
        return w.outbox().Claim(owner, lease_us, limit);
      },
      std::move(done), /*internal=*/true);
}

template <>
void DbOutboxStore<SqliteDatabase>::CompleteOutbox(std::string owner, std::int64_t id,
                                                   Callback<bool> done) {
  db_.Write<bool>(
      [owner = std::move(owner), id](JobWriter& w) { return w.outbox().Complete(owner, id); },
      std::move(done), /*internal=*/true);
}

template <>
void DbOutboxStore<SqliteDatabase>::FailOutbox(std::string owner, std::int64_t id,
                                               std::string error,
                                               std::chrono::milliseconds retry_after, bool dead,
                                               Callback<bool> done) {
  db_.Write<bool>(
      [owner = std::move(owner), id, error = std::move(error), retry_us = Micros(retry_after),
       dead](JobWriter& w) { return w.outbox().Fail(owner, id, error, retry_us, dead); },
      std::move(done), /*internal=*/true);
}

template <>
void DbOutboxStore<SqliteDatabase>::ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                                                    Callback<std::vector<OutboxItem>> done) {
  db_.Write<std::vector<OutboxItem>>(
      [tenant_id = std::move(tenant_id), limit](JobWriter& w) {
        return w.outbox().ListDead(tenant_id, limit);
      },
      std::move(done));
}

template <>
void DbOutboxStore<SqliteDatabase>::ReplayDeadLetter(std::optional<std::string> tenant_id,
                                                     std::int64_t id, Callback<bool> done) {
  db_.Write<bool>([tenant_id = std::move(tenant_id),
                   id](JobWriter& w) { return w.outbox().Replay(tenant_id, id); },
                  std::move(done));
}

template <>
void DbOutboxStore<SqliteDatabase>::GetOutboxStats(Callback<OutboxStats> done) {
  db_.Write<OutboxStats>([](JobWriter& w) { return w.outbox().Stats(); }, std::move(done),
                         /*internal=*/true);
}

template <>
void DbOutboxStore<SqliteDatabase>::SetOutboxListener(std::function<void()> listener) {
  db_.SetOutboxListener(std::move(listener));
}

}  // namespace rtgw::storage
