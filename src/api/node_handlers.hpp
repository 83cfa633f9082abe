#ifndef RTGW_API_NODE_HANDLERS_HPP_
#define RTGW_API_NODE_HANDLERS_HPP_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/call.hpp"
#include "api/lease_waiters.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/node_store.hpp"

namespace rtgw::api {

struct NodeApiOptions {
  std::chrono::seconds stale_after{60};  // heartbeat age after which a node is stale
  // How often a parked long poll re-queries the store without a notification
  // (lease expiry, other replicas).
  std::chrono::milliseconds recheck{1000};
};

// Handlers of the management-node surface (docs/contracts/agent-protocol.md):
// heartbeat, leases:acquire (long poll), :renew, :release, job :cancel, the
// onboarding dry-run (health's checks.managed_aiida_runtime: api/health.hpp). The gateway
// routes and authenticates; these check the node-token rules, validate the
// body, call the NodeStore and answer through `finish`. Never blocking: long
// polls park in LeaseWaiters, not on an I/O thread.
//
// Thread-safety: safe for concurrent use. `*store` and `*adapter` must outlive
// this object; Shutdown() (or the destructor) answers every parked long poll.
class NodeApi {
 public:
  NodeApi(NodeApiOptions options, storage::NodeStore& store,
          const slurm_adapter::AdapterSettings& adapter, Finisher finish);
  ~NodeApi();

  void Heartbeat(const std::shared_ptr<Call>& call);
  void Acquire(std::shared_ptr<Call> call);
  void Renew(const std::shared_ptr<Call>& call);
  void Release(const std::shared_ptr<Call>& call);
  void Cancel(const std::shared_ptr<Call>& call);
  void DryRun(const std::shared_ptr<Call>& call);

  // A job of (tenant, node) may have become leasable or cancellable.
  void NotifyWork(const std::string& tenant_id, const std::string& node_id);
  void Shutdown();

 private:
  struct AcquireState;
  bool RequireNodeToken(Call& call);
  void AcquireAttempt(const std::shared_ptr<AcquireState>& state, bool final);

  const NodeApiOptions options_;
  storage::NodeStore& store_;
  const slurm_adapter::AdapterSettings& adapter_;
  Finisher finish_;
  LeaseWaiters waiters_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_NODE_HANDLERS_HPP_
