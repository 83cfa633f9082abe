#ifndef RTGW_STORAGE_SQLITE_SQLITE_NODE_STORE_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_NODE_STORE_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "storage/node_store.hpp"

namespace rtgw::storage::sqlite {

class SqliteDatabase;

// NodeStore of a SqliteDatabase: its writes join the job writes' group
// commit (a gateway cancel's event and outbox row commit with the cancel
// request), its reads run on the reader threads. Tables of migration 3
// (node_schema.hpp). Thread-safety: safe for concurrent use.
class SqliteNodeStore final : public NodeStore {
 public:
  explicit SqliteNodeStore(SqliteDatabase& db) : db_(db) {}

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
  SqliteDatabase& db_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_NODE_STORE_HPP_
