// RevocationStore of a SqliteDatabase (db_stores.hpp): Revoke is a write of
// the group commit on the single writer thread, so the per-tenant count and
// the insert cannot interleave with another revocation; ListRevocations runs
// on a reader thread. Both are rare (a revocation; one list per poll), so
// their statements are prepared per call. Table of migration 5 (schema.cpp).
#include <string_view>
#include <utility>
#include <vector>

#include "storage/record_rows.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace rtgw::storage {

using sqlite::Database;
using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::ResetGuard;
using sqlite::SqliteDatabase;
using sqlite::Statement;

namespace {

// Prepares `sql` on `db`, binds `values`, and runs it to completion.
template <class... T>
Status RunOnce(Database& db, std::string_view sql, std::string_view what, const T&... values) {
  Result<Statement> st = db.Prepare(sql);
  if (!st) return std::move(st).error();
  return st->Run(what, values...);
}

Status RevokeNow(Database& db, const TokenRevocation& r, std::size_t max_per_tenant) {
  const std::int64_t now_ms = ToEpochMs(r.revoked_at);
  if (Status s = RunOnce(db, "DELETE FROM token_revocations WHERE expires_at_ms <= ?1",
                         "prune token revocations", now_ms);
      !s) {
    return s;
  }
  {
    // The tenant's live revocations, and whether this jti is one of them.
    Result<Statement> held = db.Prepare(
        "SELECT COUNT(*), COALESCE(MAX(jti = ?2), 0) FROM token_revocations WHERE tenant_id = ?1");
    if (!held) return std::move(held).error();
    ResetGuard reset(*held);
    held->Bind(r.tenant_id, r.jti);
    Result<bool> row = held->StepRow("count token revocations");
    if (!row) return std::move(row).error();
    if (!held->Bool(1) && static_cast<std::size_t>(held->Int(0)) >= max_per_tenant) {
      return TooManyRevocations(r.tenant_id, max_per_tenant);
    }
  }
  return RunOnce(db,
                 "INSERT INTO token_revocations (" RTGW_REVOCATION_COLUMNS
                 ") VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_id, jti) DO UPDATE SET"
                 " expires_at_ms = MAX(expires_at_ms, excluded.expires_at_ms)",
                 "store token revocation", r.tenant_id, r.jti, ToEpochMs(r.expires_at), now_ms,
                 r.revoked_by);
}

}  // namespace

template <>
void DbRevocationStore<SqliteDatabase>::Revoke(TokenRevocation revocation,
                                               std::size_t max_per_tenant, Callback<Ok> done) {
  db_.Write<Ok>([r = std::move(revocation), max_per_tenant](
                    JobWriter& w) -> Status { return RevokeNow(w.db(), r, max_per_tenant); },
                std::move(done));
}

template <>
void DbRevocationStore<SqliteDatabase>::ListRevocations(
    SystemTime now, Callback<std::vector<TokenRevocation>> done) {
  db_.Read<std::vector<TokenRevocation>>(
      [now_ms = ToEpochMs(now)](JobReader& r) -> Result<std::vector<TokenRevocation>> {
        Result<Statement> list = r.db().Prepare(
            "SELECT " RTGW_REVOCATION_COLUMNS
            " FROM token_revocations WHERE expires_at_ms > ?1 ORDER BY tenant_id, jti");
        if (!list) return std::move(list).error();
        ResetGuard reset(*list);
        list->Bind(now_ms);
        std::vector<TokenRevocation> out;
        Status read = list->ForEachRow("list token revocations", [&](const Statement& row) {
          out.push_back(ReadRevocationRow(row));
        });
        if (!read) return std::move(read).error();
        return out;
      },
      std::move(done));
}

}  // namespace rtgw::storage
