#include "storage/sqlite/outbox_writer.hpp"

#include <chrono>
#include <utility>

#include <sqlite3.h>

#include "common/time_format.hpp"

namespace rtgw::storage::sqlite {
namespace {

SystemTime FromMicros(std::int64_t us) { return SystemTime(std::chrono::microseconds(us)); }

Status StepDone(Statement& stmt, std::string_view what) {
  const int rc = stmt.Step();
  if (rc != SQLITE_DONE) return SqliteError(rc, stmt.db(), what);
  return Ok{};
}

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
  for (;;) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) return items;
    if (rc != SQLITE_ROW) return SqliteError(rc, stmt.db(), what);
    items.push_back(ReadItem(stmt));
  }
}

constexpr const char* kItemColumns =
    "id, tenant_id, job_id, projection_version, payload_json, created_at, attempts, last_error,"
    " dead_us";

}  // namespace

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<OutboxWriter> OutboxWriter::Create(Database& db) {
  OutboxWriter w;
  const std::string columns = kItemColumns;
  struct Entry {
    Statement* stmt;
    std::string sql;
  };
  const Entry entries[] = {
      {&w.insert_,
       "INSERT INTO projection_outbox (tenant_id, job_id, projection_version, payload_json,"
       " created_at, created_us, attempts, next_attempt_us)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)"},
      // Heads only: the lowest undelivered version of each job, dead or not,
      // so a dead head blocks its job. An expired lease may be taken over.
      {&w.claim_select_, "SELECT " + columns +
                             " FROM projection_outbox AS o"
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
      {&w.list_dead_, "SELECT " + columns +
                          " FROM projection_outbox WHERE dead_us IS NOT NULL"
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
  };
  for (const Entry& e : entries) {
    Result<Statement> stmt = db.Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return w;
}

Status OutboxWriter::Insert(const std::string& tenant_id, const std::string& job_id,
                            std::int64_t projection_version, const std::string& payload_json,
                            std::int64_t now_us) {
  // Binds do not copy (SQLITE_STATIC): every bound string must outlive Step.
  const std::string created_at = FormatRfc3339(FromMicros(now_us));
  ResetGuard reset(insert_);
  insert_.BindText(1, tenant_id);
  insert_.BindText(2, job_id);
  insert_.BindInt64(3, projection_version);
  insert_.BindText(4, payload_json);
  insert_.BindText(5, created_at);
  insert_.BindInt64(6, now_us);
  return StepDone(insert_, "insert outbox row");
}

Result<std::vector<OutboxItem>> OutboxWriter::Claim(const std::string& owner, std::int64_t lease_us,
                                                    int limit, std::int64_t now_us) {
  Result<std::vector<OutboxItem>> items = [&] {
    ResetGuard reset(claim_select_);
    claim_select_.BindInt64(1, now_us);
    claim_select_.BindInt64(2, limit);
    return ReadItems(claim_select_, "claim outbox heads");
  }();
  if (!items) return items;
  for (const OutboxItem& item : *items) {
    ResetGuard reset(claim_update_);
    claim_update_.BindInt64(1, item.id);
    claim_update_.BindText(2, owner);
    claim_update_.BindInt64(3, now_us + lease_us);
    if (Status s = StepDone(claim_update_, "lease outbox row"); !s) return std::move(s).error();
  }
  return items;
}

Result<bool> OutboxWriter::Complete(const std::string& owner, std::int64_t id) {
  ResetGuard reset(complete_);
  complete_.BindInt64(1, id);
  complete_.BindText(2, owner);
  if (Status s = StepDone(complete_, "delete delivered outbox row"); !s) {
    return std::move(s).error();
  }
  return sqlite3_changes(complete_.db()) > 0;
}

Result<bool> OutboxWriter::Fail(const std::string& owner, std::int64_t id, const std::string& error,
                                std::int64_t retry_after_us, bool dead, std::int64_t now_us) {
  ResetGuard reset(fail_);
  fail_.BindInt64(1, id);
  fail_.BindText(2, owner);
  fail_.BindText(3, error);
  fail_.BindInt64(4, now_us + retry_after_us);
  fail_.BindInt64(5, dead ? 1 : 0);
  fail_.BindInt64(6, now_us);
  if (Status s = StepDone(fail_, "record outbox delivery failure"); !s) {
    return std::move(s).error();
  }
  return sqlite3_changes(fail_.db()) > 0;
}

Result<std::vector<OutboxItem>> OutboxWriter::ListDead(const std::optional<std::string>& tenant_id,
                                                       int limit) {
  ResetGuard reset(list_dead_);
  list_dead_.BindOptionalText(1, tenant_id);
  list_dead_.BindInt64(2, limit);
  return ReadItems(list_dead_, "list dead letters");
}

Result<bool> OutboxWriter::Replay(const std::optional<std::string>& tenant_id, std::int64_t id,
                                  std::int64_t now_us) {
  ResetGuard reset(replay_);
  replay_.BindInt64(1, id);
  replay_.BindOptionalText(2, tenant_id);
  replay_.BindInt64(3, now_us);
  if (Status s = StepDone(replay_, "replay dead letter"); !s) return std::move(s).error();
  return sqlite3_changes(replay_.db()) > 0;
}

Result<OutboxStats> OutboxWriter::Stats(std::int64_t now_us) {
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
