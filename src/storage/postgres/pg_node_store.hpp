#ifndef RTGW_STORAGE_POSTGRES_PG_NODE_STORE_HPP_
#define RTGW_STORAGE_POSTGRES_PG_NODE_STORE_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "storage/node_store.hpp"

namespace rtgw::storage::postgres {

class PgDatabase;

// NodeStore of a PgDatabase: writes join the group-commit batches, reads are
// tasks; the SQL is in pg_node_ops.cpp. Leases are granted with SELECT ..
// FOR UPDATE SKIP LOCKED, so replicas sharing the database never hand one
// submission to two agents. Thread-safety: safe for concurrent use.
class PgNodeStore final : public NodeStore {
 public:
  explicit PgNodeStore(PgDatabase& db) : db_(db) {}

  void RecordHeartbeat(NodeHeartbeat heartbeat, Callback<Ok> done) override;
  void GetNode(std::string tenant_id, std::string node_id, Callback<NodeRecord> done) override;
  void ListNodes(std::optional<std::string> tenant_id,
                 Callback<std::vector<NodeRecord>> done) override;
  void AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) override;
  void RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                  std::chrono::seconds lease, SystemTime now, Callback<SystemTime> done) override;
  void ReleaseLease(std::string tenant_id, std::string node_id, std::string lease_id,
                    Callback<Ok> done) override;
  void RequestCancel(CancelRequest request, Callback<CancelOutcome> done) override;
  void FindSubmit(std::string tenant_id, std::string idempotency_key,
                  Callback<std::optional<StoredSubmit>> done) override;

 private:
  PgDatabase& db_;
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_NODE_STORE_HPP_
