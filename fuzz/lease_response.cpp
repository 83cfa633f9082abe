// libFuzzer target: the agent's parser of the gateway's leases:acquire answer
// (agent/gateway_client/lease_parse.hpp). Corpus: corpus/lease_response/.
// Properties: a lease handed to the executor has its lease, submission and job
// ids, an input URI and a resource shape; a lease that lacks them is reported
// by id for release (never silently dropped when it has an id); a passthrough
// queue "default" never becomes a partition; every cancellation names a
// submission.
#include <cstddef>
#include <cstdint>

#include "agent/gateway_client/lease_parse.hpp"
#include "fuzz_check.hpp"

using rtgw::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto result = rtgw::agent::ParseAcquireResponse(rtgw::fuzz::AsText(data, size));
  if (!result.ok()) return 0;
  for (const auto& lease : result->leases) {
    Require(!lease.lease_id.empty() && !lease.spec.submission_id.empty() &&
                !lease.spec.job_id.empty() && !lease.spec.input_uri.empty(),
            "a parsed lease has its ids and input URI");
    Require(lease.spec.partition != "default" || lease.spec.max_walltime_minutes.has_value(),
            "passthrough queue \"default\" leaves the partition to the cluster");
  }
  for (const auto& id : result->malformed_lease_ids) {
    Require(!id.empty(), "a malformed lease is reported by its id");
  }
  for (const auto& cancel : result->cancellations) {
    Require(!cancel.submission_id.empty(), "a cancellation names a submission");
  }
  return 0;
}
