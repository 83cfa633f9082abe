#ifndef RTGW_CONFORMANCE_SINK_LOG_HPP_
#define RTGW_CONFORMANCE_SINK_LOG_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rtgw::conformance {

// Gate 6 (projection alignment) on the product side: the sink log is JSON
// Lines, one ProjectionUpdate body per line in arrival order
// (storage/projection_update.hpp, docs/contracts/projection-update.md).
// Pure functions; ReadSinkLog reads one file.

struct ProjectionStep {
  std::int64_t version = 0;
  std::string state;   // runtime state: submitted, running, completed, ...
  std::string status;  // app-facing: queued, running, finished, ...
  bool operator==(const ProjectionStep&) const = default;
};

// The updates for (tenant_id, job_id) in file order. Lines that are blank
// are ignored; a line that is not a JSON object is kInvalidArgument naming its
// line number. A missing file is kNotFound.
Result<std::vector<ProjectionStep>> ParseSinkLog(std::string_view text, std::string_view tenant_id,
                                                 std::string_view job_id);
Result<std::vector<ProjectionStep>> ReadSinkLog(const std::string& path, std::string_view tenant_id,
                                                std::string_view job_id);

// Compares what the sink received with the projection sequence the gateway
// served (`expected`, one step per applied change, versions ascending).
// Redelivery is allowed (a version may repeat with the same content); the
// versions must never go backwards in arrival order and every expected
// version must arrive with the same state and status. Returns "" when aligned,
// else a one-line description of the first difference.
std::string CompareProjectionSequences(const std::vector<ProjectionStep>& expected,
                                       const std::vector<ProjectionStep>& received);

// "1:submitted/queued 2:running/running" for messages.
std::string FormatSteps(const std::vector<ProjectionStep>& steps);

}  // namespace rtgw::conformance

#endif  // RTGW_CONFORMANCE_SINK_LOG_HPP_
