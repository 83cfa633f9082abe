#ifndef RTGW_SLURM_ADAPTER_QUEUE_POLICY_HPP_
#define RTGW_SLURM_ADAPTER_QUEUE_POLICY_HPP_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rtgw::slurm_adapter {

// One queue of the policy: what a product queue name means on Slurm.
// The field names are the boundary record's `mapping` keys (seed 002).
struct QueueMapping {
  std::string queue;
  std::string partition;
  std::optional<std::string> account;
  std::optional<std::string> qos;
  std::int64_t max_walltime_minutes = 0;
};

// Per-tenant queue rules. `allow` absent: every queue of the policy.
struct TenantRule {
  std::string key;  // the tenants{} key it came from: the tenant id or "*"
  std::optional<std::vector<std::string>> allow;
  std::vector<std::string> deny;
};

struct PolicyLimits {
  std::optional<std::int64_t> max_walltime_minutes;
  std::optional<std::int64_t> max_cpu;
  std::optional<std::int64_t> max_memory_mib;
};

// The queue policy file (RTGW_QUEUE_POLICY_FILE), validated. Format:
// docs/contracts/slurm-adapter-boundary.md. Immutable once loaded.
struct QueuePolicy {
  std::map<std::string, QueueMapping, std::less<>> queues;
  std::optional<std::string> fallback_queue;  // a key of `queues`
  std::map<std::string, TenantRule, std::less<>> tenants;
  PolicyLimits limits;
  std::string sha256;  // hex SHA-256 of the file bytes (shown in health, logged at start)

  // The tenant's own rule, else the "*" rule, else nullptr.
  const TenantRule* RuleFor(std::string_view tenant_id) const;
};

// Parses and validates the file's text. Errors are InvalidArgument naming the
// JSON path ("queues.gpu.max_walltime_minutes: must be an integer from 1 to
// 525600"). Unknown keys are refused (a typo must not silently drop a rule).
// `sha256` is left empty (the caller hashes the bytes). Pure.
Result<QueuePolicy> ParseQueuePolicy(std::string_view text);

}  // namespace rtgw::slurm_adapter

#endif  // RTGW_SLURM_ADAPTER_QUEUE_POLICY_HPP_
