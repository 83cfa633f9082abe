#ifndef RTGW_API_NODE_REQUESTS_HPP_
#define RTGW_API_NODE_REQUESTS_HPP_

// JSON <-> records of the management-node surface (docs/contracts/agent-protocol.md)
// and of the onboarding dry-run. Pure (no I/O, no clock: times are parameters).
// Errors are InvalidArgument naming the field path, as in job_requests.hpp.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/node_store.hpp"

namespace rtgw::api {

// True when `id` is 1-128 characters of A-Z a-z 0-9 . _ - @ ~ (as job ids).
bool IsValidNodeId(std::string_view id);
// "node_id: must be 1-128 characters of ...": why an id is not IsValidNodeId.
std::string NodeIdRule();

struct HeartbeatBody {
  std::string agent_version;
  std::string executor;  // "slurm" | "local"
  std::optional<slurm_adapter::Catalogue> catalogue;
  std::int64_t in_flight = 0;
};
// {"agent_version", "executor", "slurm": catalogue | null, "in_flight"?}.
// executor "slurm" needs a catalogue.
Result<HeartbeatBody> ParseHeartbeat(std::string_view body);

struct AcquireBody {
  int max_jobs = 16;       // 1..256
  int wait_seconds = 20;   // 0..25
  int lease_seconds = 60;  // 10..600
};
// Empty body or {} -> defaults.
Result<AcquireBody> ParseAcquire(std::string_view body);

// {"lease_seconds"?} (10..600, default 60); empty body -> default.
Result<int> ParseRenew(std::string_view body);

struct DryRunBody {
  std::string node_id;
  HeartbeatBody node;  // agent_version optional here ("" when absent)
};
Result<DryRunBody> ParseDryRun(std::string_view body);

// {"leases": [...], "cancellations": [...]}; each lease carries the job's
// spec parts and its slurm_adapter boundary record (null if none stored).
std::string AcquireResponseJson(const storage::AcquireResult& result);

// Whether `node`'s last heartbeat is older than `stale_after` at `now`.
bool NodeIsStale(const storage::NodeRecord& node, SystemTime now, std::chrono::seconds stale_after);

// checks.managed_aiida_runtime of GET /api/health?deep=1. `nodes` are the
// nodes in scope; `list_nodes` false: counts only (anonymous caller).
std::string ManagedRuntimeJson(const std::vector<storage::NodeRecord>& nodes, bool list_nodes,
                               SystemTime now, std::chrono::seconds stale_after);

// The onboarding dry-run report. `existing` is the node's current record in
// the tenant, if it has one.
std::string DryRunReportJson(std::string_view tenant_id, const DryRunBody& body,
                             const std::optional<storage::NodeRecord>& existing,
                             const slurm_adapter::AdapterSettings& adapter);

}  // namespace rtgw::api

#endif  // RTGW_API_NODE_REQUESTS_HPP_
