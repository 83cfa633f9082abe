#include "storage/sqlite/outbox_writer.hpp"

#include <chrono>
#include <utility>

#include <sqlite3.h>

#include "common/time_format.hpp"

namespace rtgw::storage::sqlite {
namespace {

SystemTime FromMicros(std::int64_t us) { return SystemTime(std::chrono::microseconds(us)); }

// Reads the columns "id, tenant_id, job_id, projection_version, payload_json,
// created_at, attempts, last_error, dead_us" of the current row.
OutboxItem ReadItem(const Statement& s) {
  OutboxItem item;
  item.id = s.ColumnInt64(0);
  item.tenant_id = s.ColumnText(1);
  item.job_id = s.ColumnText(2);
  item.projection_version = s.ColumnInt64(3);
  item.payload_json = s.ColumnText(4);
  item.created_at = s.ColumnText(5);
  item.attempts = static_cast<std::int32_t>(s.ColumnInt64(6));
  item.last_error = s.ColumnOptionalText(7);
  if (std::optional<std::string> dead = s.ColumnOptionalText(8)) {
    item.dead_at = FormatRfc3339(FromMicros(s.ColumnInt64(8)));
  }
  return item;
}

Result<std::vector<OutboxItem>> ReadItems(Statement& stmt, std::string_view what) {
  std::vector<OutboxItem> items;
  Status read =
      stmt.ForEachRow(what, [&](const Statement& row) { items.push_back(ReadItem(row)); });
  if (!read) return std::move(read).error();
  return items;
}

#define RTGW_ITEM_COLUMNS                                                                      \
  "id, tenant_id, job_id, projection_version, payload_json, created_at, attempts, last_error," \
  " dead_us"

}  // namespace

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t OutboxWriter::Now() const {
  if (clock_ == nullptr) return NowMicros();
  return epoch_start_us_ +
         std::chrono::duration_cast<std::chrono::microseconds>(clock_->Now() - clock_start_)
             .count();
}

Result<OutboxWriter> OutboxWriter::Create(Database& db, const Clock* clock) {
  OutboxWriter w;
  w.clock_ = clock;
  if (clock != nullptr) w.clock_start_ = clock->Now();
  w.epoch_start_us_ = NowMicros();
  Status prepared = db.PrepareAll({
      {&w.insert_,
       "INSERT INTO projection_outbox (tenant_id, job_id, projection_version, payload_json,"
       " created_at, created_us, attempts, next_attempt_us)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)"},
      // Heads only: the lowest undelivered version of each job, dead or not,
      // so a dead head blocks its job. An expired lease may be taken over.
      {&w.claim_select_, "SELECT " RTGW_ITEM_COLUMNS " FROM projection_outbox AS o"
                         " WHERE dead_us IS NULL AND next_attempt_us <= ?1"
                         "   AND (lease_expires_us IS NULL OR lease_expires_us <= ?1)"
                         "   AND projection_version = (SELECT MIN(h.projection_version)"
                         "     FROM projection_outbox AS h"
                         "     WHERE h.tenant_id = o.tenant_id AND h.job_id = o.job_id)"
                         " ORDER BY id LIMIT ?2"},
      {&w.claim_update_,
       "UPDATE projection_outbox SET lease_owner = ?2, lease_expires_us = ?3 WHERE id = ?1"},
      {&w.complete_,
       "DELETE FROM projection_outbox"
       " WHERE id = ?1 AND lease_owner = ?2"},
      {&w.fail_,
       "UPDATE projection_outbox SET attempts = attempts + 1, last_error = ?3,"
       " lease_owner = NULL, lease_expires_us = NULL,"
       " next_attempt_us = CASE WHEN ?5 THEN next_attempt_us ELSE ?4 END,"
       " dead_us = CASE WHEN ?5 THEN ?6 ELSE NULL END"
       " WHERE id = ?1 AND lease_owner = ?2"},
      {&w.list_dead_,
       "SELECT " RTGW_ITEM_COLUMNS " FROM projection_outbox WHERE dead_us IS NOT NULL"
       "   AND (?1 IS NULL OR tenant_id = ?1)"
       " ORDER BY dead_us, id LIMIT ?2"},
      {&w.replay_,
       "UPDATE projection_outbox SET dead_us = NULL, attempts = 0, next_attempt_us = ?3,"
       " lease_owner = NULL, lease_expires_us = NULL"
       " WHERE id = ?1 AND dead_us IS NOT NULL AND (?2 IS NULL OR tenant_id = ?2)"},
      {&w.stats_,
       "SELECT COALESCE(SUM(dead_us IS NULL), 0), COALESCE(SUM(dead_us IS NOT NULL), 0),"
       " COALESCE(SUM(lease_expires_us > ?1), 0),"
       " MIN(CASE WHEN dead_us IS NULL THEN created_us END)"
       " FROM projection_outbox"},
  });
  if (!prepared) return std::move(prepared).error();
  return w;
}

Status OutboxWriter::Insert(const std::string& tenant_id, const std::string& job_id,
                            std::int64_t projection_version, const std::string& payload_json) {
  const std::int64_t now_us = Now();
  // Binds do not copy (SQLITE_STATIC): every bound string must outlive Step.
  const std::string created_at = FormatRfc3339(FromMicros(now_us));
  return insert_.Run("insert outbox row", tenant_id, job_id, projection_version, payload_json,
                     created_at, now_us);
}

Result<std::vector<OutboxItem>> OutboxWriter::Claim(const std::string& owner, std::int64_t lease_us,
                                                    int limit) {
  const std::int64_t now_us = Now();
  Result<std::vector<OutboxItem>> items = [&] {
    ResetGuard reset(claim_select_);
    claim_select_.Bind(now_us, limit);
    return ReadItems(claim_select_, "claim outbox heads");
  }();
  if (!items) return items;
  for (const OutboxItem& item : *items) {
    if (Status s = claim_update_.Run("lease outbox row", item.id, owner, now_us + lease_us); !s) {
      return std::move(s).error();
    }
  }
  return items;
}

Result<bool> OutboxWriter::Complete(const std::string& owner, std::int64_t id) {
  if (Status s = complete_.Run("delete delivered outbox row", id, owner); !s) {
    return std::move(s).error();
  }
  return complete_.Changes() > 0;
}

Result<bool> OutboxWriter::Fail(const std::string& owner, std::int64_t id, const std::string& error,
                                std::int64_t retry_after_us, bool dead) {
  const std::int64_t now_us = Now();
  if (Status s = fail_.Run("record outbox delivery failure", id, owner, error,
                           now_us + retry_after_us, dead, now_us);
      !s) {
    return std::move(s).error();
  }
  return fail_.Changes() > 0;
}

Result<std::vector<OutboxItem>> OutboxWriter::ListDead(const std::optional<std::string>& tenant_id,
                                                       int limit) {
  ResetGuard reset(list_dead_);
  list_dead_.Bind(tenant_id, limit);
  return ReadItems(list_dead_, "list dead letters");
}

Result<bool> OutboxWriter::Replay(const std::optional<std::string>& tenant_id, std::int64_t id) {
  const std::int64_t now_us = Now();
  if (Status s = replay_.Run("replay dead letter", id, tenant_id, now_us); !s) {
    return std::move(s).error();
  }
  return replay_.Changes() > 0;
}

Result<OutboxStats> OutboxWriter::Stats() {
  const std::int64_t now_us = Now();
  ResetGuard reset(stats_);
  stats_.BindInt64(1, now_us);
  const int rc = stats_.Step();
  if (rc != SQLITE_ROW) return SqliteError(rc, stats_.db(), "outbox stats");
  OutboxStats stats;
  stats.pending = stats_.ColumnInt64(0);
  stats.dead = stats_.ColumnInt64(1);
  stats.leased = stats_.ColumnInt64(2);
  if (stats_.ColumnOptionalText(3)) {
    stats.oldest_pending_age_seconds =
        static_cast<double>(now_us - stats_.ColumnInt64(3)) / 1'000'000.0;
    if (stats.oldest_pending_age_seconds < 0) stats.oldest_pending_age_seconds = 0;
  }
  return stats;
}

}  // namespace rtgw::storage::sqlite
