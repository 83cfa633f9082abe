#include "storage/postgres/pg_outbox_ops.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "storage/postgres/pg_conn.hpp"

namespace rtgw::storage::postgres {
namespace {

#define RTGW_PG_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

constexpr const char* kItemCols =
    "o.id, o.tenant_id, o.job_id, o.projection_version, o.payload_json, " RTGW_PG_TS(
        "o.created_at") ", o.attempts, o.last_error, " RTGW_PG_TS("o.dead_at");

// A row is claimable when it is the head of its job (NOT EXISTS a lower
// version: delivered rows are deleted), not dead, due, and not leased (or its
// lease expired). Rows another claimer holds locked are skipped, and the lease
// is re-checked on the locked row version, so a row is never claimed twice.
const std::string kClaim = std::string(
                               "WITH c AS ("
                               " SELECT o.id FROM projection_outbox o"
                               " WHERE o.dead_at IS NULL AND o.next_attempt_at <= now()"
                               " AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= now())"
                               " AND NOT EXISTS (SELECT 1 FROM projection_outbox p"
                               "  WHERE p.tenant_id = o.tenant_id AND p.job_id = o.job_id"
                               "  AND p.projection_version < o.projection_version)"
                               " ORDER BY o.id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                               " UPDATE projection_outbox o SET lease_owner = $1,"
                               " lease_expires_at = now() + make_interval(secs => $2::double "
                               "precision / 1000)"
                               " FROM c WHERE o.id = c.id RETURNING ") +
                           kItemCols;

const std::string kListDead = std::string("SELECT ") + kItemCols +
                              " FROM projection_outbox o WHERE o.dead_at IS NOT NULL"
                              " AND ($1::text IS NULL OR o.tenant_id = $1)"
                              " ORDER BY o.id LIMIT $2";

constexpr const char* kComplete =
    "DELETE FROM projection_outbox WHERE id = $1 AND lease_owner = $2";

constexpr const char* kFail =
    "UPDATE projection_outbox SET attempts = attempts + 1, last_error = $3,"
    " lease_owner = NULL, lease_expires_at = NULL,"
    " next_attempt_at = CASE WHEN $5::boolean THEN next_attempt_at"
    "  ELSE now() + make_interval(secs => $4::double precision / 1000) END,"
    " dead_at = CASE WHEN $5::boolean THEN now() ELSE NULL END"
    " WHERE id = $1 AND lease_owner = $2";

constexpr const char* kReplay =
    "UPDATE projection_outbox SET dead_at = NULL, lease_owner = NULL, lease_expires_at = NULL,"
    " attempts = 0, next_attempt_at = now()"
    " WHERE id = $1 AND dead_at IS NOT NULL AND ($2::text IS NULL OR tenant_id = $2)";

constexpr const char* kStats =
    "SELECT count(*) FILTER (WHERE dead_at IS NULL),"
    " count(*) FILTER (WHERE dead_at IS NOT NULL),"
    " count(*) FILTER (WHERE lease_expires_at > now()),"
    " COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE dead_at IS NULL)), 0)"
    " FROM projection_outbox";

std::vector<OutboxItem> RowsToItems(const PgResult& r) {
  std::vector<OutboxItem> items = MapRows(r, [](const PgRow& row) {
    return OutboxItem{.id = row.Int(0),
                      .tenant_id = row.Text(1),
                      .job_id = row.Text(2),
                      .projection_version = row.Int(3),
                      .payload_json = row.Text(4),
                      .created_at = row.Text(5),
                      .attempts = static_cast<std::int32_t>(row.Int(6)),
                      .last_error = row.OptText(7),
                      .dead_at = row.OptText(8)};
  });
  std::sort(items.begin(), items.end(),
            [](const OutboxItem& a, const OutboxItem& b) { return a.id < b.id; });
  return items;
}

}  // namespace

Result<std::vector<OutboxItem>> PgClaimOutbox(PgConn& conn, const std::string& owner,
                                              std::chrono::milliseconds lease, int limit) {
  Result<PgResult> r =
      conn.QueryPrepared("outbox_claim", kClaim.c_str(),
                         Params::Of(owner, lease.count(), std::max(limit, 0)), "claim outbox");
  if (!r) return std::move(r).error();
  return RowsToItems(*r);
}

Result<bool> PgCompleteOutbox(PgConn& conn, const std::string& owner, std::int64_t id) {
  return conn.ExecPreparedChanged("outbox_complete", kComplete, Params::Of(id, owner),
                                  "complete outbox row");
}

Result<bool> PgFailOutbox(PgConn& conn, const std::string& owner, std::int64_t id,
                          const std::string& error, std::chrono::milliseconds retry_after,
                          bool dead) {
  return conn.ExecPreparedChanged("outbox_fail", kFail,
                                  Params::Of(id, owner, error, retry_after.count(), dead),
                                  "fail outbox row");
}

Result<std::vector<OutboxItem>> PgListDeadLetters(PgConn& conn,
                                                  const std::optional<std::string>& tenant_id,
                                                  int limit) {
  Result<PgResult> r =
      conn.QueryPrepared("outbox_list_dead", kListDead.c_str(),
                         Params::Of(tenant_id, std::max(limit, 0)), "list dead letters");
  if (!r) return std::move(r).error();
  return RowsToItems(*r);
}

Result<bool> PgReplayDeadLetter(PgConn& conn, const std::optional<std::string>& tenant_id,
                                std::int64_t id) {
  return conn.ExecPreparedChanged("outbox_replay", kReplay, Params::Of(id, tenant_id),
                                  "replay dead letter");
}

Result<OutboxStats> PgOutboxStats(PgConn& conn) {
  Result<PgResult> r = conn.QueryPrepared("outbox_stats", kStats, Params(), "outbox stats");
  if (!r) return std::move(r).error();
  OutboxStats s;
  s.pending = r->Int(0, 0);
  s.dead = r->Int(0, 1);
  s.leased = r->Int(0, 2);
  s.oldest_pending_age_seconds = std::strtod(r->Text(0, 3).c_str(), nullptr);
  return s;
}

}  // namespace rtgw::storage::postgres
