#ifndef RTGW_STORAGE_POSTGRES_PG_JOB_OPS_HPP_
#define RTGW_STORAGE_POSTGRES_PG_JOB_OPS_HPP_

// Private to storage/postgres: the JobStore operations as plain blocking calls
// on one connection. Error contract: storage/job_store.hpp.

#include <cstdint>
#include <span>
#include <string>

#include "common/error.hpp"
#include "storage/job_feed_store.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage::postgres {

class PgConn;

// Writes run inside the caller's transaction (the group-commit batch, each in
// its own savepoint). They are safe against other processes writing the same
// database concurrently:
//  - Submit inserts with INSERT .. ON CONFLICT DO NOTHING: of concurrent
//    duplicates exactly one inserts; the others wait for it to commit and then
//    read the winner's row (replay or conflict). The outbox row (version 1) is
//    inserted by the same statement.
//  - AppendEvent first locks the job row (SELECT .. FOR UPDATE), so the events
//    of one job are decided one at a time across all replicas; the event insert
//    is still guarded by the unique (tenant_id, job_id, event_id) key. An
//    applied event updates the job and inserts its outbox row in one statement.
//  - A submit with quotas (SubmitRecord::max_active_jobs*) counts the active
//    jobs first and inserts only below them; it must run in a transaction that
//    took PgLockQuotaTenants for its tenant before any other lock (the batch
//    runner does), so quota-checked submits of a tenant are counted and
//    inserted one transaction at a time across replicas.
Result<SubmitOutcome> PgSubmit(PgConn& conn, const SubmitRecord& record);
// Takes the transaction-scoped quota lock of each tenant (duplicates are
// fine), in one global order, so transactions that take them first cannot
// deadlock on them (docs/contracts/storage-schema.md "Quotas").
Status PgLockQuotaTenants(PgConn& conn, std::span<const std::string> tenants);
Result<EventOutcome> PgAppendEvent(PgConn& conn, const EventRecord& record);
Status PgTouchHealth(PgConn& conn);

// Right before COMMIT, per tenant of the batch (ChangeBatch::Flush): numbers
// `changes` from the tenant's job_change_heads row (locked until COMMIT),
// inserts them into job_changes and notifies channel rtgw_job_changes with
// the tenant id. One statement.
Status PgWriteTenantChanges(PgConn& conn, const std::string& tenant_id,
                            std::span<ChangeRecord> changes);

// JobFeedStore (storage/job_feed_store.hpp). ListJobs reads the head (when
// asked) before the page; ReadChanges reads the head and the changes in one
// read-only snapshot; PruneChanges runs its own transaction, locking the head
// rows in ascending tenant order like the change flush does.
Result<JobPage> PgListJobs(PgConn& conn, const JobListQuery& query);
Result<ChangePage> PgReadChanges(PgConn& conn, const std::string& tenant_id, std::int64_t after_seq,
                                 int limit);
Result<std::int64_t> PgPruneChanges(PgConn& conn, std::int64_t older_than_us, int max_rows);

// Reads, each on its own (autocommit) statement or read-only snapshot.
Result<JobRecord> PgGetJob(PgConn& conn, const std::string& tenant_id, const std::string& job_id);
Result<JobDetail> PgGetDetail(PgConn& conn, const std::string& tenant_id,
                              const std::string& job_id);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_JOB_OPS_HPP_
