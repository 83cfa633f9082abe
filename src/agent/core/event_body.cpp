#include "agent/core/event_body.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace rtgw::agent {

namespace json = boost::json;

std::string BuildEventBody(const JobSpec& spec, const std::string& state,
                           const std::string& backend_id, const std::string& occurred_at,
                           const JobObservation* obs, const std::string& output_uri) {
  json::object o;
  o["event_id"] = spec.submission_id + ":" + state;
  o["tenant_id"] = spec.tenant_id;
  o["workspace_id"] = spec.workspace_id.empty() ? spec.tenant_id : spec.workspace_id;
  o["job_id"] = spec.job_id;
  o["submission_id"] = spec.submission_id;
  o["execution_id"] = backend_id.empty() ? std::string("none") : backend_id;
  o["state"] = state;
  o["occurred_at"] = occurred_at;
  o["trace_id"] = spec.trace_id.empty() ? spec.submission_id : spec.trace_id;
  if (state == "completed" && !output_uri.empty()) {
    o["result_ref"] = json::object{{"output_uri", output_uri}};
  }
  if ((state == "failed" || state == "cancelled") && obs != nullptr) {
    json::object err;
    err["code"] = obs->error_code.empty() ? (state == "cancelled" ? "cancelled" : "exit_code")
                                          : obs->error_code;
    err["message"] = obs->message.substr(0, 4000);
    err["exit_code"] = obs->exit_code;
    err["signal"] = obs->signal;
    o["error"] = std::move(err);
  }
  return json::serialize(o);
}

std::string BuildHeartbeatBody(const std::string& agent_version, const std::string& executor,
                               const std::optional<slurm::ClusterInfo>& info,
                               const std::vector<std::string>& partitions, int in_flight) {
  json::object o;
  o["agent_version"] = agent_version;
  o["executor"] = executor;
  if (info) {
    json::object s;
    s["version"] = info->config.version;
    s["cluster"] = info->config.cluster;
    json::array parts;
    for (const auto& p : info->partitions) {
      if (!partitions.empty() &&
          std::find(partitions.begin(), partitions.end(), p.name) == partitions.end()) {
        continue;
      }
      json::object jp;
      jp["name"] = p.name;
      jp["state"] = p.state;
      jp["default"] = p.is_default;
      if (p.max_time_minutes) {
        jp["max_time_minutes"] = *p.max_time_minutes;
      } else {
        jp["max_time_minutes"] = nullptr;
      }
      jp["total_nodes"] = p.total_nodes;
      jp["idle_nodes"] = p.idle_nodes;
      jp["total_cpus"] = p.total_cpus;
      jp["idle_cpus"] = p.idle_cpus;
      parts.push_back(std::move(jp));
    }
    s["partitions"] = std::move(parts);
    s["accounts"] = json::array();  // not known without slurmdbd (accounting_storage/none)
    s["qos"] = json::array();
    o["slurm"] = std::move(s);
  } else {
    o["slurm"] = nullptr;
  }
  o["in_flight"] = in_flight;
  return json::serialize(o);
}

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, std::mt19937_64& rng) {
  long long d = initial.count();
  for (int i = 1; i < attempt && d < max.count(); ++i) d *= 2;
  d = std::min<long long>(d, max.count());
  std::uniform_int_distribution<long long> dist(d / 2, d);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace rtgw::agent
