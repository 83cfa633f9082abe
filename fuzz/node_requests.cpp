// libFuzzer target: the management-node request bodies (api/node_requests.hpp:
// heartbeat, leases:acquire, lease renew, onboarding dry-run). Corpus:
// corpus/node_requests/; every input is tried as each body.
// Properties: accepted values are inside their documented ranges, a slurm
// heartbeat carries a catalogue within the heartbeat limits, a dry-run's node
// id is valid, and the dry-run report built from an accepted body is a JSON
// object.
#include "api/node_requests.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "fuzz_check.hpp"

namespace {

using rtgw::fuzz::Require;

void CheckHeartbeat(const rtgw::api::HeartbeatBody& body) {
  Require(body.executor == "slurm" || body.executor == "local",
          "an accepted heartbeat's executor is slurm or local");
  Require(body.executor != "slurm" || body.catalogue.has_value(),
          "a slurm heartbeat carries a catalogue");
  Require(body.in_flight >= 0, "in_flight is not negative");
  if (body.catalogue) {
    Require(body.catalogue->partitions.size() <= rtgw::slurm_adapter::kMaxPartitions,
            "a catalogue has at most kMaxPartitions partitions");
    for (const auto& p : body.catalogue->partitions) {
      Require(!p.name.empty(), "a catalogue partition has a name");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = rtgw::fuzz::AsText(data, size);
  if (auto heartbeat = rtgw::api::ParseHeartbeat(body); heartbeat.ok()) {
    Require(!heartbeat->agent_version.empty(), "an accepted heartbeat has an agent_version");
    CheckHeartbeat(*heartbeat);
  }
  if (auto acquire = rtgw::api::ParseAcquire(body); acquire.ok()) {
    Require(acquire->max_jobs >= 1 && acquire->max_jobs <= 256, "max_jobs is 1..256");
    Require(acquire->wait_seconds >= 0 && acquire->wait_seconds <= 25, "wait_seconds is 0..25");
    Require(acquire->lease_seconds >= 10 && acquire->lease_seconds <= 600,
            "lease_seconds is 10..600");
  }
  if (auto renew = rtgw::api::ParseRenew(body); renew.ok()) {
    Require(*renew >= 10 && *renew <= 600, "a renewal's lease_seconds is 10..600");
  }
  if (auto dry_run = rtgw::api::ParseDryRun(body); dry_run.ok()) {
    Require(rtgw::api::IsValidNodeId(dry_run->node_id), "a dry-run's node id is valid");
    CheckHeartbeat(dry_run->node);
    const std::string report = rtgw::api::DryRunReportJson("t1", *dry_run, std::nullopt,
                                                           rtgw::slurm_adapter::AdapterSettings{});
    boost::system::error_code ec;
    auto value = boost::json::parse(report, ec);
    Require(!ec && value.is_object(), "the dry-run report is a JSON object");
  }
  return 0;
}
