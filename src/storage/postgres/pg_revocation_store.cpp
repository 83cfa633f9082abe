// RevocationStore of a PgDatabase (db_stores.hpp): Revoke joins the
// group-commit batches and takes a transaction-scoped advisory lock on its
// tenant first, so replicas sharing the database count and insert one at a
// time per tenant (the limit holds across replicas); ListRevocations is a
// read task. Table of migration 5 (pg_schema.cpp).
#include <utility>
#include <vector>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/record_rows.hpp"

namespace rtgw::storage {

using postgres::Params;
using postgres::PgConn;
using postgres::PgDatabase;
using postgres::PgResult;
using postgres::PgRow;

namespace {

constexpr const char* kLockTenant =
    "SELECT pg_advisory_xact_lock(hashtext('rtgw.token_revocations.' || $1))";

constexpr const char* kPrune = "DELETE FROM token_revocations WHERE expires_at_ms <= $1";

// The tenant's live revocations, and whether this jti is one of them.
constexpr const char* kHeld =
    "SELECT count(*), COALESCE(bool_or(jti = $2), false) FROM token_revocations"
    " WHERE tenant_id = $1";

constexpr const char* kUpsert =
    "INSERT INTO token_revocations (" RTGW_REVOCATION_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, jti) DO UPDATE SET"
    " expires_at_ms = GREATEST(token_revocations.expires_at_ms, excluded.expires_at_ms)";

constexpr const char* kList = "SELECT " RTGW_REVOCATION_COLUMNS
                              " FROM token_revocations WHERE expires_at_ms > $1"
                              " ORDER BY tenant_id, jti";

Status RevokeNow(PgConn& c, const TokenRevocation& r, std::size_t max_per_tenant) {
  const std::int64_t now_ms = ToEpochMs(r.revoked_at);
  if (Status s = c.ExecPrepared("revocation_lock", kLockTenant, Params::Of(r.tenant_id),
                                "lock tenant revocations");
      !s) {
    return s;
  }
  if (Status s =
          c.ExecPrepared("revocation_prune", kPrune, Params::Of(now_ms), "prune token revocations");
      !s) {
    return s;
  }
  Result<PgResult> held = c.QueryPrepared("revocation_held", kHeld, Params::Of(r.tenant_id, r.jti),
                                          "count token revocations");
  if (!held) return std::move(held).error();
  if (!held->Bool(0, 1) && static_cast<std::size_t>(held->Int(0, 0)) >= max_per_tenant) {
    return TooManyRevocations(r.tenant_id, max_per_tenant);
  }
  return c.ExecPrepared(
      "revocation_upsert", kUpsert,
      Params::Of(r.tenant_id, r.jti, ToEpochMs(r.expires_at), now_ms, r.revoked_by),
      "store token revocation");
}

}  // namespace

template <>
void DbRevocationStore<PgDatabase>::Revoke(TokenRevocation revocation, std::size_t max_per_tenant,
                                           Callback<Ok> done) {
  std::string tenant = revocation.tenant_id;
  std::string key = "revocation:" + revocation.jti;
  db_.Write<Ok>(
      std::move(tenant), std::move(key),
      [r = std::move(revocation), max_per_tenant](PgConn& c) -> Status {
        return RevokeNow(c, r, max_per_tenant);
      },
      std::move(done));
}

template <>
void DbRevocationStore<PgDatabase>::ListRevocations(SystemTime now,
                                                    Callback<std::vector<TokenRevocation>> done) {
  db_.Task<std::vector<TokenRevocation>>(
      [now_ms = ToEpochMs(now)](PgConn& c) -> Result<std::vector<TokenRevocation>> {
        Result<PgResult> rows =
            c.QueryPrepared("revocation_list", kList, Params::Of(now_ms), "list token revocations");
        if (!rows) return std::move(rows).error();
        return MapRows(*rows, [](const PgRow& row) { return ReadRevocationRow(row); });
      },
      std::move(done), /*rerunnable=*/true);
}

}  // namespace rtgw::storage
