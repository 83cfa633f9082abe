#ifndef RTGW_API_SUBMIT_BOUNDARY_HPP_
#define RTGW_API_SUBMIT_BOUNDARY_HPP_

#include <functional>

#include <boost/json/fwd.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "slurm_adapter/adapter.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"

namespace rtgw::api {

// Resolves the Slurm adapter boundary for a parsed submit
// (docs/contracts/slurm-adapter-boundary.md). real-policy reads the
// catalogue of the job's management node from `nodes` (a store read on a
// store thread); the other modes resolve inline. On success the boundary
// record is added to record.spec_json under "slurm_adapter" (canonical JSON;
// the request fingerprint is NOT changed, so a replay stays a replay whatever
// the policy says now). `done` gets the (updated) record and the outcome;
// it runs on the caller's thread or a store thread and must not block.
void ResolveSubmitBoundary(
    const slurm_adapter::AdapterSettings& settings, storage::NodeStore& nodes,
    storage::SubmitRecord record, SystemTime now,
    std::function<void(storage::SubmitRecord, Result<slurm_adapter::BoundaryRecord>)> done);

// The catalogue real-policy resolves against, from a node's stored heartbeat
// (`catalogue` nullopt: the node runs the local executor). The error of
// ParseCatalogueText when the stored catalogue does not parse.
Result<slurm_adapter::CatalogueSnapshot> CatalogueSnapshotOf(const storage::NodeRecord& node);

// The canonical spec_json with the boundary record (BoundaryValue) added under
// "slurm_adapter": what CanonicalJson of the merged object gives, without
// parsing the spec again.
std::string WithSlurmAdapter(std::string spec_json, const boost::json::value& boundary);

// execution_profile.queue_name of a spec_json built by ParseSubmitRequest ("" if absent).
std::string RequestedQueue(std::string_view spec_json);
// requested_by.user_id of a stored spec_json ("" when absent).
std::string RequestedUser(std::string_view spec_json);

}  // namespace rtgw::api

#endif  // RTGW_API_SUBMIT_BOUNDARY_HPP_
