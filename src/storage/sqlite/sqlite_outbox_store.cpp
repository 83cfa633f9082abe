#include "storage/sqlite/sqlite_outbox_store.hpp"

#include <utility>

#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/outbox_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage::sqlite {
namespace {

std::int64_t Micros(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

// The relay's own bookkeeping (claim, complete, fail, stats) is internal: it
// still runs while the store closes. Dead-letter admin calls are not.

void SqliteOutboxStore::ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                                    Callback<std::vector<OutboxItem>> done) {
  db_.Write<std::vector<OutboxItem>>(
      [owner = std::move(owner), lease_us = Micros(lease), limit](JobWriter& w) {
        return w.outbox().Claim(owner, lease_us, limit, NowMicros());
      },
      std::move(done), /*internal=*/true);
}

void SqliteOutboxStore::CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) {
  db_.Write<bool>(
      [owner = std::move(owner), id](JobWriter& w) { return w.outbox().Complete(owner, id); },
      std::move(done), /*internal=*/true);
}

void SqliteOutboxStore::FailOutbox(std::string owner, std::int64_t id, std::string error,
                                   std::chrono::milliseconds retry_after, bool dead,
                                   Callback<bool> done) {
  db_.Write<bool>(
      [owner = std::move(owner), id, error = std::move(error), retry_us = Micros(retry_after),
       dead](JobWriter& w) {
        return w.outbox().Fail(owner, id, error, retry_us, dead, NowMicros());
      },
      std::move(done), /*internal=*/true);
}

void SqliteOutboxStore::ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                                        Callback<std::vector<OutboxItem>> done) {
  db_.Write<std::vector<OutboxItem>>(
      [tenant_id = std::move(tenant_id), limit](JobWriter& w) {
        return w.outbox().ListDead(tenant_id, limit);
      },
      std::move(done));
}

void SqliteOutboxStore::ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                                         Callback<bool> done) {
  db_.Write<bool>([tenant_id = std::move(tenant_id),
                   id](JobWriter& w) { return w.outbox().Replay(tenant_id, id, NowMicros()); },
                  std::move(done));
}

void SqliteOutboxStore::GetOutboxStats(Callback<OutboxStats> done) {
  db_.Write<OutboxStats>([](JobWriter& w) { return w.outbox().Stats(NowMicros()); },
                         std::move(done), /*internal=*/true);
}

void SqliteOutboxStore::SetOutboxListener(std::function<void()> listener) {
  db_.SetOutboxListener(std::move(listener));
}

}  // namespace rtgw::storage::sqlite
