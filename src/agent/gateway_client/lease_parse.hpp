#ifndef RTGW_AGENT_GATEWAY_CLIENT_LEASE_PARSE_HPP_
#define RTGW_AGENT_GATEWAY_CLIENT_LEASE_PARSE_HPP_

// Pure parser of the leases:acquire answer (docs/contracts/agent-protocol.md).
// Thread-safe, no I/O.
//
// Partition resolution (docs/agent.md): the boundary record's
// mapping.partition/account/qos/max_walltime_minutes when a mapping is present;
// without one (passthrough) the resolved queue name is the partition, except
// "" and "default", which leave the partition empty (the cluster's default).

#include <string>
#include <string_view>
#include <vector>

#include "agent/executor/job_spec.hpp"
#include "common/error.hpp"

namespace rtgw::agent {

struct Lease {
  std::string lease_id;
  std::string lease_expires_at;
  JobSpec spec;
};

struct Cancellation {
  std::string job_id;
  std::string submission_id;
  std::string execution_id;  // "" when null
};

struct AcquireResult {
  std::vector<Lease> leases;
  std::vector<Cancellation> cancellations;
  // Leases that could not be parsed (missing fields): their ids, so the agent can release them.
  std::vector<std::string> malformed_lease_ids;
};

Result<AcquireResult> ParseAcquireResponse(std::string_view body);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_GATEWAY_CLIENT_LEASE_PARSE_HPP_
