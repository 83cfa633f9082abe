// PostgresJobStore's NodeStore half (storage/node_store.hpp). Writes join the
// group-commit batches, reads are tasks; the SQL is in pg_node_ops.cpp.
#include <utility>

#include "storage/postgres/pg_node_ops.hpp"
#include "storage/postgres/pg_ops.hpp"
#include "storage/postgres/postgres_job_store.hpp"

namespace rtgw::storage::postgres {

void PostgresJobStore::RecordHeartbeat(NodeHeartbeat hb, Callback<Ok> done) {
  std::string tenant = hb.tenant_id;
  std::string key = "node:" + hb.node_id;
  PgOps::Write<Ok>(
      *this, std::move(tenant), std::move(key),
      [hb = std::move(hb)](PgConn& c) -> Status { return PgRecordHeartbeat(c, hb); },
      std::move(done));
}

void PostgresJobStore::GetNode(std::string tenant_id, std::string node_id,
                               Callback<NodeRecord> done) {
  PgOps::Read<NodeRecord>(
      *this,
      [t = std::move(tenant_id), n = std::move(node_id)](PgConn& c) { return PgGetNode(c, t, n); },
      std::move(done));
}

void PostgresJobStore::ListNodes(std::optional<std::string> tenant_id,
                                 Callback<std::vector<NodeRecord>> done) {
  PgOps::Read<std::vector<NodeRecord>>(
      *this, [t = std::move(tenant_id)](PgConn& c) { return PgListNodes(c, t); }, std::move(done));
}

void PostgresJobStore::AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) {
  std::string tenant = request.tenant_id;
  std::string key = "node:" + request.node_id;
  PgOps::Write<AcquireResult>(
      *this, std::move(tenant), std::move(key),
      [req = std::move(request)](PgConn& c) { return PgAcquireLeases(c, req); }, std::move(done));
}

void PostgresJobStore::RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                                  std::chrono::seconds lease, SystemTime now,
                                  Callback<SystemTime> done) {
  std::string tenant = tenant_id;
  std::string key = "lease:" + lease_id;
  PgOps::Write<SystemTime>(
      *this, std::move(tenant), std::move(key),
      [t = std::move(tenant_id), n = std::move(node_id), l = std::move(lease_id),
       expires = now + lease](PgConn& c) { return PgRenewLease(c, t, n, l, expires); },
      std::move(done));
}

void PostgresJobStore::ReleaseLease(std::string tenant_id, std::string node_id,
                                    std::string lease_id, Callback<Ok> done) {
  std::string tenant = tenant_id;
  std::string key = "lease:" + lease_id;
  PgOps::Write<Ok>(
      *this, std::move(tenant), std::move(key),
      [t = std::move(tenant_id), n = std::move(node_id),
       l = std::move(lease_id)](PgConn& c) -> Status { return PgReleaseLease(c, t, n, l); },
      std::move(done));
}

void PostgresJobStore::RequestCancel(CancelRequest request, Callback<CancelOutcome> done) {
  // Keyed like the job's events: the batch locks job rows in (tenant, job) order.
  std::string tenant = request.tenant_id;
  std::string key = request.job_id;
  PgOps::Write<CancelOutcome>(
      *this, std::move(tenant), std::move(key),
      [r = std::move(request)](PgConn& c) { return PgRequestCancel(c, r); }, std::move(done));
}

void PostgresJobStore::FindSubmit(std::string tenant_id, std::string idempotency_key,
                                  Callback<std::optional<StoredSubmit>> done) {
  PgOps::Read<std::optional<StoredSubmit>>(
      *this,
      [t = std::move(tenant_id), k = std::move(idempotency_key)](PgConn& c) {
        return PgFindSubmit(c, t, k);
      },
      std::move(done));
}

}  // namespace rtgw::storage::postgres
