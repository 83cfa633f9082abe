#ifndef RTGW_STORAGE_SQLITE_NODE_SQL_HPP_
#define RTGW_STORAGE_SQLITE_NODE_SQL_HPP_

// Private to storage/sqlite: the SQL of NodeStore (storage/node_store.hpp) as
// plain blocking calls on one connection. NodeWriter runs on the writer
// connection inside the group-commit transaction (the caller owns it);
// NodeReader on a read connection.
//
// Thread-safety: not thread-safe; used only by the thread owning the connection.
// Lifetime: the Database must outlive these objects (JobWriter/JobReader own
// both and destroy the statements first).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/node_store.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::storage::sqlite {

class NodeWriter {
 public:
  static Result<std::unique_ptr<NodeWriter>> Create(Database& db);

  Status UpsertNode(const NodeHeartbeat& hb);
  // Grants the leases (not the cancellations; see ListCancellations).
  Result<std::vector<Lease>> GrantLeases(const LeaseRequest& request);
  Result<std::vector<CancelItem>> ListCancellations(const std::string& tenant_id,
                                                    const std::string& node_id);
  // Sets delivered_at on the node's undelivered cancel requests; true when any.
  Result<bool> MarkCancelsDelivered(const std::string& tenant_id, const std::string& node_id,
                                    SystemTime now);
  Result<SystemTime> RenewLease(const std::string& tenant_id, const std::string& node_id,
                                const std::string& lease_id, SystemTime expires_at);
  // True when a lease was released by this call.
  Result<bool> ReleaseLease(const std::string& tenant_id, const std::string& node_id,
                            const std::string& lease_id);

  struct CancelTarget {
    jobs::JobState state = jobs::JobState::kSubmitted;
    std::string workspace_id;
    std::string submission_id;
    std::string management_node_id;
    bool cancel_recorded = false;
    bool ever_leased = false;
  };
  Result<CancelTarget> FindCancelTarget(const std::string& tenant_id, const std::string& job_id);
  Status InsertCancel(const CancelRequest& request, const std::string& node_id);

 private:
  NodeWriter() = default;

  Statement upsert_node_;
  Statement select_leasable_;
  Statement upsert_lease_;
  Statement list_cancels_;
  Statement mark_delivered_;
  Statement renew_;
  Statement release_;
  Statement find_cancel_target_;
  Statement insert_cancel_;
};

class NodeReader {
 public:
  static Result<std::unique_ptr<NodeReader>> Create(Database& db);

  Result<NodeRecord> GetNode(const std::string& tenant_id, const std::string& node_id);
  Result<std::vector<NodeRecord>> ListNodes(const std::optional<std::string>& tenant_id);
  Result<std::optional<NodeStore::StoredSubmit>> FindSubmit(const std::string& tenant_id,
                                                            const std::string& idempotency_key);

 private:
  NodeReader() = default;

  Statement get_node_;
  Statement list_nodes_;
  Statement list_tenant_nodes_;
  Statement find_submit_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_NODE_SQL_HPP_
