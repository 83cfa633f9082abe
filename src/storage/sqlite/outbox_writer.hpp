#ifndef RTGW_STORAGE_SQLITE_OUTBOX_WRITER_HPP_
#define RTGW_STORAGE_SQLITE_OUTBOX_WRITER_HPP_

// Private to storage/sqlite: the projection_outbox statements of the write
// connection (semantics in storage/outbox_store.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/outbox_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {

// Blocking calls on the writer connection, inside the writer's transaction.
// Times are microseconds since the Unix epoch on the process clock (one
// process owns a SQLite file, so there is no other clock to agree with), as
// Now() reads it.
//
// Thread-safety: not thread-safe; used only by the writer thread.
class OutboxWriter {
 public:
  // `db` must outlive this object and be migrated to schema v2 or later.
  // `clock` (SqliteOptions::outbox_clock): nullptr is the system clock; else its
  // readings are mapped onto the system clock read here. Must outlive this object.
  static Result<OutboxWriter> Create(Database& db, const Clock* clock);

  // Now on the outbox's clock: "now" of every call below.
  std::int64_t Now() const;

  Status Insert(const std::string& tenant_id, const std::string& job_id,
                std::int64_t projection_version, const std::string& payload_json);
  Result<std::vector<OutboxItem>> Claim(const std::string& owner, std::int64_t lease_us, int limit);
  Result<bool> Complete(const std::string& owner, std::int64_t id);
  Result<bool> Fail(const std::string& owner, std::int64_t id, const std::string& error,
                    std::int64_t retry_after_us, bool dead);
  Result<std::vector<OutboxItem>> ListDead(const std::optional<std::string>& tenant_id, int limit);
  Result<bool> Replay(const std::optional<std::string>& tenant_id, std::int64_t id);
  Result<OutboxStats> Stats();

 private:
  OutboxWriter() = default;

  const Clock* clock_ = nullptr;
  Clock::TimePoint clock_start_;     // clock_'s reading at Create
  std::int64_t epoch_start_us_ = 0;  // the system clock's then

  Statement insert_;
  Statement claim_select_;
  Statement claim_update_;
  Statement complete_;
  Statement fail_;
  Statement list_dead_;
  Statement replay_;
  Statement stats_;
};

// Microseconds since the Unix epoch, now.
std::int64_t NowMicros();

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_OUTBOX_WRITER_HPP_
