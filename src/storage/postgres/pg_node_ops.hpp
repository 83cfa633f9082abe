#ifndef RTGW_STORAGE_POSTGRES_PG_NODE_OPS_HPP_
#define RTGW_STORAGE_POSTGRES_PG_NODE_OPS_HPP_

// Private to storage/postgres: the NodeStore operations
// (storage/node_store.hpp) as plain blocking calls on one connection.
//
// Writes run inside the caller's transaction (the group-commit batch of
// PgDatabase). They are safe against other replicas writing the same
// database at the same time, with no read-then-write races:
//  - Every grant, cancel and gateway cancel event of a job happens under that
//    job's row lock (jobs FOR UPDATE). PgAcquireLeases first locks its
//    candidate jobs with FOR UPDATE SKIP LOCKED (rows another replica is
//    granting or cancelling are skipped, never waited for), then, in a second
//    statement that sees everything committed before the locks were taken,
//    re-checks each candidate and upserts its lease with INSERT .. ON CONFLICT
//    DO UPDATE .. WHERE the stored lease is released or expired. So a job never
//    has two unexpired leases, whichever replicas ask.
//  - Renew first locks the lease's job row, then runs one conditional UPDATE ..
//    RETURNING keyed on lease_id (a lease regranted or cancelled meanwhile no
//    longer matches); release is one conditional UPDATE. Row locks are always
//    taken jobs first, then job_leases, as grants and cancels do.
//  - Marking cancellations delivered is one conditional UPDATE
//    (delivered_at_ms IS NULL): of concurrent polls exactly one sees them new.
//  - RequestCancel locks the job row, then reads whether a cancel/lease exists
//    (a fresh statement after the lock), so concurrent duplicate cancels are
//    decided one after the other: one effect.
// Reads are single autocommit statements.

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/node_store.hpp"

namespace rtgw::storage::postgres {

class PgConn;

Status PgRecordHeartbeat(PgConn& conn, const NodeHeartbeat& hb);
Result<AcquireResult> PgAcquireLeases(PgConn& conn, const LeaseRequest& request);
Result<SystemTime> PgRenewLease(PgConn& conn, const std::string& tenant_id,
                                const std::string& node_id, const std::string& lease_id,
                                SystemTime expires_at);
Status PgReleaseLease(PgConn& conn, const std::string& tenant_id, const std::string& node_id,
                      const std::string& lease_id);
Result<CancelOutcome> PgRequestCancel(PgConn& conn, const CancelRequest& request);

Result<NodeRecord> PgGetNode(PgConn& conn, const std::string& tenant_id,
                             const std::string& node_id);
Result<std::vector<NodeRecord>> PgListNodes(PgConn& conn,
                                            const std::optional<std::string>& tenant_id);
Result<std::optional<NodeStore::StoredSubmit>> PgFindSubmit(PgConn& conn,
                                                            const std::string& tenant_id,
                                                            const std::string& idempotency_key);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_NODE_OPS_HPP_
