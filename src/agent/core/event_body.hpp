#ifndef RTGW_AGENT_CORE_EVENT_BODY_HPP_
#define RTGW_AGENT_CORE_EVENT_BODY_HPP_

// Pure helpers of the agent: the ExecutionEvent body it posts, the heartbeat
// body, and the retry delay. Thread-safe, no I/O.

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/executor/job_spec.hpp"
#include "agent/slurm/job_observation.hpp"
#include "agent/slurm/slurm_client.hpp"

namespace rtgw::agent {

// Body of POST /api/runtime/jobs/{job_id}/events for `state` ("queued", ...):
// event_id "<submission_id>:<state>", execution_id = backend id ("none" when the
// job was refused before reaching the backend), occurred_at = `occurred_at`.
// failed/cancelled carry error {code, message, exit_code, signal} from `obs`;
// completed carries result_ref.output_uri when `output_uri` is set.
std::string BuildEventBody(const JobSpec& spec, const std::string& state,
                           const std::string& backend_id, const std::string& occurred_at,
                           const JobObservation* obs, const std::string& output_uri);

// Heartbeat body (docs/contracts/agent-protocol.md). `info` is nullopt for the
// local executor ("slurm": null). `partitions` filters the catalogue when non-empty.
std::string BuildHeartbeatBody(const std::string& agent_version, const std::string& executor,
                               const std::optional<slurm::ClusterInfo>& info,
                               const std::vector<std::string>& partitions, int in_flight);

// Delay before retry number `attempt` (1-based): min(max, initial * 2^(attempt-1)),
// then "equal jitter": uniformly in [d/2, d]. Never above `max`.
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, std::mt19937_64& rng);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_EVENT_BODY_HPP_
