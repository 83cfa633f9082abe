#ifndef RTGW_API_HEALTH_HPP_
#define RTGW_API_HEALTH_HPP_

// The answer of GET /api/health (docs/contracts/http-api.md "Health"), built
// from facts the gateway gathered: no I/O, no clock (`now` is a fact), so every
// verdict is unit-tested here.
//
// Verdicts, worst first:
//  - "unavailable" (503): the store cannot serve: its read or write check
//    failed, or (?deep=1) its integrity check failed.
//  - "degraded" (200): the API serves but some of it refuses: a real-policy
//    submit to a listed management node would get 503 slurm_unavailable (no
//    node, a stale catalogue, no Slurm, a partition missing or down), the
//    projection relay's deliveries are failing now or have dead letters, a
//    Slurm adapter rollback has passed its expiry.
//  - "ok" otherwise.
// Every check that is not "ok" carries "reason", a sentence saying why.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"

namespace rtgw::api {

// One check that lives outside the API (the projection relay): its JSON
// object (with "status" and, when degraded, "reason") and its verdict.
struct HealthCheckResult {
  bool degraded = false;
  std::string json;
};

// An extra check: reports its result through the callback exactly once, on
// any thread. It must not block (it may start an asynchronous store read).
using HealthCheckFn = std::function<void(std::function<void(HealthCheckResult)>)>;

// The store's integrity check of ?deep=1 (JobStore::CheckIntegrity).
using storage::StoreIntegrity;

// At most this many refusing nodes are listed under checks.submit_admission
// (the counts cover all of them), and at most this many reasons per node.
inline constexpr std::size_t kHealthNodesListedMax = 100;
inline constexpr std::size_t kHealthReasonsPerNodeMax = 8;

struct HealthFacts {
  std::string version;
  std::string trace_id;  // named in the store check's detail (the log has the why)
  SystemTime now;
  bool deep = false;
  // StoreHealth from JobStore::CheckHealth (reachable = a real read, writable
  // = a real durable write), or the error the call ended with.
  Result<storage::StoreHealth> store = storage::StoreHealth{};
  // ?deep=1 only, when the store offers an integrity check; nullopt: not checked.
  std::optional<StoreIntegrity> integrity;
  // Must outlive the call.
  const slurm_adapter::AdapterSettings* adapter = nullptr;
  // Every tenant's management nodes, read when `deep` or the adapter is
  // real-policy; nullopt: not read.
  std::optional<Result<std::vector<storage::NodeRecord>>> nodes;
  // The caller's tenant (a valid bearer token with runtime:read): node ids of
  // that tenant are listed. nullopt: anonymous, counts only.
  std::optional<std::string> tenant_id;
  std::chrono::seconds node_stale_after{60};  // managed_aiida_runtime's "stale"
  // Extra checks by name (checks.<name>), in this order.
  std::vector<std::pair<std::string, HealthCheckResult>> extra;
};

// Management nodes of every tenant, counted when an answer read them.
struct HealthNodeCounts {
  std::int64_t total = 0;
  std::int64_t stale = 0;  // last heartbeat older than node_stale_after
};

struct HealthAnswer {
  int status = 200;  // 200 or 503
  std::string body;  // {"status","version","checks"}
  // The body's "status": "ok", "degraded" or "unavailable" (a static string).
  std::string_view verdict;
  // Set when the facts include the node list (deep, or real-policy), whatever
  // the caller may see: the gateway exports them as rtgw_management_nodes.
  std::optional<HealthNodeCounts> nodes;
  // The store's own error texts (SQLite, libpq, OS), for the log only.
  std::vector<std::string> withheld;
};

HealthAnswer BuildHealth(const HealthFacts& facts);

// checks.submit_admission of real-policy, by itself (BuildHealth includes it):
// each listed node with the reasons a submit to it is refused now, found by
// resolving every queue of the policy for that node exactly as a submit
// would (slurm_adapter::Resolve); only slurm_unavailable refusals count.
HealthCheckResult SubmitAdmissionCheck(const slurm_adapter::AdapterSettings& adapter,
                                       const Result<std::vector<storage::NodeRecord>>& nodes,
                                       const std::optional<std::string>& tenant_id, SystemTime now);

}  // namespace rtgw::api

#endif  // RTGW_API_HEALTH_HPP_
