#ifndef RTGW_STORAGE_UNSUPPORTED_NODE_STORE_HPP_
#define RTGW_STORAGE_UNSUPPORTED_NODE_STORE_HPP_

#include <string>
#include <utility>

#include "storage/node_store.hpp"

namespace rtgw::storage {

// The NodeStore of a backend that does not store management nodes yet (the
// PostgreSQL store, see docs/contracts/storage-schema.md): every call answers
// Unavailable naming the backend, so the node routes say 503 with the reason
// instead of pretending. Completes inline on the caller's thread.
class UnsupportedNodeStore final : public NodeStore {
 public:
  explicit UnsupportedNodeStore(std::string backend) : backend_(std::move(backend)) {}

  void RecordHeartbeat(NodeHeartbeat, Callback<Ok> done) override { done(Refuse()); }
  void GetNode(std::string, std::string, Callback<NodeRecord> done) override { done(Refuse()); }
  void ListNodes(std::optional<std::string>, Callback<std::vector<NodeRecord>> done) override {
    done(Refuse());
  }
  void AcquireLeases(LeaseRequest, Callback<AcquireResult> done) override { done(Refuse()); }
  void RenewLease(std::string, std::string, std::string, std::chrono::seconds, SystemTime,
                  Callback<SystemTime> done) override {
    done(Refuse());
  }
  void ReleaseLease(std::string, std::string, std::string, Callback<Ok> done) override {
    done(Refuse());
  }
  void RequestCancel(CancelRequest, Callback<CancelOutcome> done) override { done(Refuse()); }
  void FindSubmit(std::string, std::string,
                  Callback<std::optional<StoredSubmit>> done) override {
    done(Refuse());
  }

 private:
  Error Refuse() const {
    return Unavailable("management nodes, leases and cancels are not stored by " + backend_ +
                           " yet; run the gateway on SQLite for the agent surface",
                       "store_unavailable");
  }
  std::string backend_;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_UNSUPPORTED_NODE_STORE_HPP_
