#include "api/job_views.hpp"

#include <optional>

#include <boost/json.hpp>

#include "jobs/job_state.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

// Stored JSON columns were produced by us (canonical JSON); a parse failure
// means a corrupted row, shown as null rather than crashing the read.
json::value ParseStored(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object JobObject(const storage::JobRecord& job) {
  json::object o;
  o["job_id"] = job.job_id;
  o["tenant_id"] = job.tenant_id;
  o["workspace_id"] = job.workspace_id;
  o["submission_id"] = job.submission_id;
  o["management_node_id"] = job.management_node_id;
  o["state"] = jobs::ToString(job.state);
  json::value spec = ParseStored(job.spec_json);
  for (const char* key : {"execution_profile", "resource_shape", "payload_ref", "requested_by"}) {
    const json::value* part = spec.is_object() ? spec.get_object().if_contains(key) : nullptr;
    o[key] = part != nullptr ? *part : json::value(nullptr);
  }
  o["result_ref"] = ParseStored(job.result_ref_json);
  o["error"] = ParseStored(job.error_json);
  o["accepted_at"] = job.accepted_at;
  o["updated_at"] = job.updated_at;
  o["trace_id"] = job.trace_id;
  o["projection_version"] = job.projection_version;
  // The Slurm adapter boundary record stored at submit (null for jobs stored
  // before the boundary existed).
  const json::value* boundary =
      spec.is_object() ? spec.get_object().if_contains("slurm_adapter") : nullptr;
  o["slurm_adapter"] = boundary != nullptr ? *boundary : json::value(nullptr);
  return o;
}

}  // namespace

std::string JobJson(const storage::JobRecord& job) { return json::serialize(JobObject(job)); }

namespace {

// {"sub": ..., "node_id"?: ...}; null for rows stored before the actor trail.
json::value ActorJson(const jobs::Actor& actor) {
  if (actor.sub.empty()) return nullptr;
  json::object a{{"sub", actor.sub}};
  if (actor.node_id) a["node_id"] = *actor.node_id;
  return a;
}

}  // namespace

std::string JobDetailJson(const storage::JobDetail& detail) {
  json::object o = JobObject(detail.job);
  o["submitted_by"] = ActorJson(jobs::Actor{detail.job.submitted_by, std::nullopt});
  json::array events;
  events.reserve(detail.events.size());
  for (const storage::EventView& e : detail.events) {
    json::object ev;
    ev["seq"] = e.seq;
    ev["event_id"] = e.event_id;
    ev["execution_id"] = e.execution_id;
    ev["state"] = jobs::ToString(e.state);
    ev["occurred_at"] = e.occurred_at;
    ev["received_at"] = e.received_at;
    ev["trace_id"] = e.trace_id;
    ev["result_ref"] = ParseStored(e.result_ref_json);
    ev["error"] = ParseStored(e.error_json);
    ev["applied"] = e.applied;
    ev["actor"] = ActorJson(e.actor);
    events.push_back(std::move(ev));
  }
  o["events"] = std::move(events);
  return json::serialize(o);
}

std::string ProjectionJson(const storage::JobRecord& job) {
  json::object o;
  o["job_id"] = job.job_id;
  o["tenant_id"] = job.tenant_id;
  o["workspace_id"] = job.workspace_id;
  o["submission_id"] = job.submission_id;
  o["status"] = jobs::ProjectionStatus(job.state);
  o["state"] = jobs::ToString(job.state);
  o["projection_version"] = job.projection_version;
  o["updated_at"] = job.updated_at;
  o["result_ref"] = ParseStored(job.result_ref_json);
  o["error"] = ParseStored(job.error_json);
  return json::serialize(o);
}

}  // namespace rtgw::api
