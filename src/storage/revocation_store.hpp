#ifndef RTGW_STORAGE_REVOCATION_STORE_HPP_
#define RTGW_STORAGE_REVOCATION_STORE_HPP_

#include <cstddef>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage {

// A revoked bearer token id (`jti`) of a tenant (docs/contracts/jwt.md
// "Revocation"): refused until `expires_at`, then forgotten.
struct TokenRevocation {
  std::string tenant_id;
  std::string jti;
  SystemTime expires_at;
  SystemTime revoked_at;
  std::string revoked_by;  // the admin token's sub
};

// Token revocations, shared by every replica on the store: each polls
// ListRevocations into its auth::RevocationList. Table of migration 5 on both
// backends (token_revocations).
//
// Contract: Revoke is idempotent; revoking a jti again keeps the later of the
// two expires_at (and the first revoked_at/revoked_by). Revoke also deletes
// rows whose expires_at is not after `revoked_at`, so the table holds only live
// revocations. A tenant holds at most `max_per_tenant` live revocations: one
// more is refused with TooManyRevocations (422 resource_limit_exceeded; a
// re-revoke of a held jti is not one more), so no caller can make the store
// (and every replica's memory) grow without bound. On PostgreSQL the count and
// the insert run under a per-tenant lock, so replicas cannot race past it.
//
// Thread-safety: safe for concurrent use; callbacks run on a store thread.
// The refusal of a revocation beyond `max_per_tenant` (both backends).
inline Error TooManyRevocations(const std::string& tenant_id, std::size_t max_per_tenant) {
  return Error{ErrorCode::kUnprocessable,
               "tenant " + tenant_id + " already holds " + std::to_string(max_per_tenant) +
                   " live token revocations (--max-revocations-per-tenant)",
               "resource_limit_exceeded"};
}

class RevocationStore {
 public:
  virtual ~RevocationStore() = default;
  virtual void Revoke(TokenRevocation revocation, std::size_t max_per_tenant,
                      Callback<Ok> done) = 0;
  // Every revocation with expires_at > now, of all tenants.
  virtual void ListRevocations(SystemTime now, Callback<std::vector<TokenRevocation>> done) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_REVOCATION_STORE_HPP_
