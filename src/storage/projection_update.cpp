#include "storage/projection_update.hpp"

#include <boost/json.hpp>

#include "jobs/job_state.hpp"

namespace rtgw::storage {
namespace json = boost::json;

std::string BuildProjectionUpdate(const JobRecord& job, const std::string& occurred_at,
                                  const std::string& trace_id) {
  json::object o;
  o["tenant_id"] = job.tenant_id;
  o["workspace_id"] = job.workspace_id;
  o["job_id"] = job.job_id;
  o["submission_id"] = job.submission_id;
  o["status"] = jobs::ProjectionStatus(job.state);
  o["state"] = jobs::ToString(job.state);
  o["projection_version"] = job.projection_version;
  o["occurred_at"] = occurred_at;
  o["trace_id"] = trace_id;
  // Stored JSON columns are canonical JSON written by us; a row that does not
  // parse is left out rather than sent half-formed.
  boost::system::error_code ec;
  if (job.result_ref_json) {
    json::value v = json::parse(*job.result_ref_json, ec);
    if (!ec) o["result_ref"] = std::move(v);
  }
  if (job.error_json) {
    json::value v = json::parse(*job.error_json, ec);
    if (!ec) o["error"] = std::move(v);
  }
  return json::serialize(o);
}

}  // namespace rtgw::storage
