// NodeStore of a PgDatabase (db_stores.hpp): writes join the group-commit
// batches, reads are tasks; the SQL is in pg_node_ops.cpp. Leases are granted
// with SELECT .. FOR UPDATE SKIP LOCKED, so replicas sharing the database never
// hand one submission to two agents.
#include <utility>

#include "storage/postgres/pg_database.hpp"
#include "storage/postgres/pg_node_ops.hpp"

namespace rtgw::storage {

using postgres::PgConn;
using postgres::PgDatabase;

template <>
void DbNodeStore<PgDatabase>::RecordHeartbeat(NodeHeartbeat hb, Callback<Ok> done) {
  std::string tenant = hb.tenant_id;
  std::string key = "node:" + hb.node_id;
  db_.Write<Ok>(
      std::move(tenant), std::move(key),
      [hb = std::move(hb)](PgConn& c) -> Status { return PgRecordHeartbeat(c, hb); },
      std::move(done));
}

template <>
void DbNodeStore<PgDatabase>::GetNode(std::string tenant_id, std::string node_id,
                                      Callback<NodeRecord> done) {
  db_.Task<NodeRecord>(
      [t = std::move(tenant_id), n = std::move(node_id)](PgConn& c) { return PgGetNode(c, t, n); },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbNodeStore<PgDatabase>::ListNodes(std::optional<std::string> tenant_id,
                                        Callback<std::vector<NodeRecord>> done) {
  db_.Task<std::vector<NodeRecord>>(
      [t = std::move(tenant_id)](PgConn& c) { return PgListNodes(c, t); }, std::move(done),
      /*rerunnable=*/true);
}

template <>
void DbNodeStore<PgDatabase>::AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) {
  std::string tenant = request.tenant_id;
  std::string key = "node:" + request.node_id;
  db_.Write<AcquireResult>(
      std::move(tenant), std::move(key),
      [req = std::move(request)](PgConn& c) { return PgAcquireLeases(c, req); }, std::move(done));
}

template <>
void DbNodeStore<PgDatabase>::RenewLease(std::string tenant_id, std::string node_id,
                                         std::string lease_id, std::chrono::seconds lease,
                                         SystemTime now, Callback<SystemTime> done) {
  std::string tenant = tenant_id;
  std::string key = "lease:" + lease_id;
  db_.Write<SystemTime>(
      std::move(tenant), std::move(key),
      [t = std::move(tenant_id), n = std::move(node_id), l = std::move(lease_id),
       expires = now + lease](PgConn& c) { return PgRenewLease(c, t, n, l, expires); },
      std::move(done));
}

template <>
void DbNodeStore<PgDatabase>::ReleaseLease(std::string tenant_id, std::string node_id,
                                           std::string lease_id, Callback<Ok> done) {
  std::string tenant = tenant_id;
  std::string key = "lease:" + lease_id;
  db_.Write<Ok>(
      std::move(tenant), std::move(key),
      [t = std::move(tenant_id), n = std::move(node_id),
       l = std::move(lease_id)](PgConn& c) -> Status { return PgReleaseLease(c, t, n, l); },
      std::move(done));
}

template <>
void DbNodeStore<PgDatabase>::RequestCancel(CancelRequest request, Callback<CancelOutcome> done) {
  // Keyed like the job's events: the batch locks job rows in (tenant, job) order.
  std::string tenant = request.tenant_id;
  std::string key = request.job_id;
  db_.Write<CancelOutcome>(
      std::move(tenant), std::move(key),
      [r = std::move(request)](PgConn& c) { return PgRequestCancel(c, r); }, std::move(done));
}

template <>
void DbNodeStore<PgDatabase>::FindSubmit(std::string tenant_id, std::string idempotency_key,
                                         Callback<std::optional<StoredSubmit>> done) {
  db_.Task<std::optional<StoredSubmit>>([t = std::move(tenant_id), k = std::move(idempotency_key)](
                                            PgConn& c) { return PgFindSubmit(c, t, k); },
                                        std::move(done), /*rerunnable=*/true);
}

}  // namespace rtgw::storage
