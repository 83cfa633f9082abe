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
  std::vector<OutboxItem> items;
  items.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    OutboxItem it;
    it.id = r.Int(i, 0);
    it.tenant_id = r.Text(i, 1);
    it.job_id = r.Text(i, 2);
    it.projection_version = r.Int(i, 3);
    it.payload_json = r.Text(i, 4);
    it.created_at = r.Text(i, 5);
    it.attempts = static_cast<std::int32_t>(r.Int(i, 6));
    it.last_error = r.OptText(i, 7);
    it.dead_at = r.OptText(i, 8);
    items.push_back(std::move(it));
  }
  std::sort(items.begin(), items.end(),
            [](const OutboxItem& a, const OutboxItem& b) { return a.id < b.id; });
  return items;
}

}  // namespace

Result<std::vector<OutboxItem>> PgClaimOutbox(PgConn& conn, const std::string& owner,
                                              std::chrono::milliseconds lease, int limit) {
  Result<PgResult> r = conn.QueryPrepared(
      "outbox_claim", kClaim.c_str(),
      Params().Text(owner).Int(lease.count()).Int(std::max(limit, 0)), "claim outbox");
  if (!r) return std::move(r).error();
  return RowsToItems(*r);
}

Result<bool> PgCompleteOutbox(PgConn& conn, const std::string& owner, std::int64_t id) {
  Result<PgResult> r = conn.QueryPrepared("outbox_complete", kComplete,
                                          Params().Int(id).Text(owner), "complete outbox row");
  if (!r) return std::move(r).error();
  return r->Affected() == 1;
}

Result<bool> PgFailOutbox(PgConn& conn, const std::string& owner, std::int64_t id,
                          const std::string& error, std::chrono::milliseconds retry_after,
                          bool dead) {
  Result<PgResult> r = conn.QueryPrepared(
      "outbox_fail", kFail,
      Params().Int(id).Text(owner).Text(error).Int(retry_after.count()).Bool(dead),
      "fail outbox row");
  if (!r) return std::move(r).error();
  return r->Affected() == 1;
}

Result<std::vector<OutboxItem>> PgListDeadLetters(PgConn& conn,
                                                  const std::optional<std::string>& tenant_id,
                                                  int limit) {
  Result<PgResult> r =
      conn.QueryPrepared("outbox_list_dead", kListDead.c_str(),
                         Params().OptText(tenant_id).Int(std::max(limit, 0)), "list dead letters");
  if (!r) return std::move(r).error();
  return RowsToItems(*r);
}

Result<bool> PgReplayDeadLetter(PgConn& conn, const std::optional<std::string>& tenant_id,
                                std::int64_t id) {
  Result<PgResult> r = conn.QueryPrepared(
      "outbox_replay", kReplay, Params().Int(id).OptText(tenant_id), "replay dead letter");
  if (!r) return std::move(r).error();
  return r->Affected() == 1;
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
