#ifndef RTGW_STORAGE_SQLITE_SQLITE_OUTBOX_STORE_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_OUTBOX_STORE_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/outbox_store.hpp"

namespace rtgw::storage::sqlite {

class SqliteDatabase;

// OutboxStore of a SqliteDatabase: every call is a write through the writer
// thread (claims set leases), committed durably like any other write. The
// outbox listener is called on the writer thread after a commit that inserted
// outbox rows. Thread-safety: safe for concurrent use.
class SqliteOutboxStore final : public OutboxStore {
 public:
  explicit SqliteOutboxStore(SqliteDatabase& db) : db_(db) {}

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
  void SetOutboxListener(std::function<void()> listener) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_OUTBOX_STORE_HPP_
