#include "api/node_requests.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "api/job_requests.hpp"
#include "api/json_fields.hpp"
#include "api/schemas.hpp"
#include "common/text.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

Result<HeartbeatBody> ParseNode(const json::object& o, bool agent_version_required) {
  const Fields f(o, "");
  HeartbeatBody hb;
  auto version = agent_version_required ? f.String(schema::kAgentVersion)
                                        : f.OptionalString(schema::kAgentVersion.name,
                                                           schema::kAgentVersion.max_chars);
  if (!version) return std::move(version).error();
  hb.agent_version = std::move(*version);
  auto executor = f.String("executor", 16);
  if (!executor) return std::move(executor).error();
  if (*executor != "slurm" && *executor != "local") {
    return InvalidArgument("executor: must be slurm or local");
  }
  hb.executor = std::move(*executor);
  if (const json::value* slurm = o.if_contains("slurm"); slurm != nullptr && !slurm->is_null()) {
    auto catalogue = slurm_adapter::ParseCatalogue(*slurm, "slurm");
    if (!catalogue) return std::move(catalogue).error();
    hb.catalogue = std::move(*catalogue);
  }
  if (hb.executor == "slurm" && !hb.catalogue) {
    return InvalidArgument("slurm: is required for executor slurm (the node's Slurm catalogue)");
  }
  auto in_flight = f.IntegerOr(schema::kInFlight, 0);
  if (!in_flight) return std::move(in_flight).error();
  hb.in_flight = *in_flight;
  return hb;
}

json::value StoredJson(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  return ec ? json::value(nullptr) : v;
}

json::value OptionalString(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

}  // namespace

bool IsValidNodeId(std::string_view id) { return schema::Matches(schema::kNodeId, id); }

std::string NodeIdRule() {
  return "node_id: must be 1-" + std::to_string(schema::kNodeId.max_chars) + " characters of " +
         schema::CharsetText(schema::kNodeId);
}

Result<HeartbeatBody> ParseHeartbeat(std::string_view body) {
  auto v = ParseBody(body);
  if (!v) return std::move(v).error();
  return ParseNode(v->get_object(), true);
}

Result<AcquireBody> ParseAcquire(std::string_view body) {
  auto v = ParseBody(body, {}, /*empty_ok=*/true);
  if (!v) return std::move(v).error();
  const Fields f(v->get_object(), "");
  AcquireBody a;
  auto max_jobs = f.IntegerOr(schema::kMaxJobs, a.max_jobs);
  if (!max_jobs) return std::move(max_jobs).error();
  auto wait = f.IntegerOr(schema::kWaitSeconds, a.wait_seconds);
  if (!wait) return std::move(wait).error();
  auto lease = f.IntegerOr(schema::kLeaseSeconds, a.lease_seconds);
  if (!lease) return std::move(lease).error();
  a.max_jobs = static_cast<int>(*max_jobs);
  a.wait_seconds = static_cast<int>(*wait);
  a.lease_seconds = static_cast<int>(*lease);
  return a;
}

Result<int> ParseRenew(std::string_view body) {
  auto v = ParseBody(body, {}, /*empty_ok=*/true);
  if (!v) return std::move(v).error();
  auto lease = Fields(v->get_object(), "")
                   .IntegerOr(schema::kRenewLeaseSeconds, AcquireBody{}.lease_seconds);
  if (!lease) return std::move(lease).error();
  return static_cast<int>(*lease);
}

Result<DryRunBody> ParseDryRun(std::string_view body) {
  auto v = ParseBody(body);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  DryRunBody d;
  auto node_id = Fields(o, "").String(schema::kNodeId);
  if (!node_id) return std::move(node_id).error();
  if (!IsValidNodeId(*node_id)) return InvalidArgument(NodeIdRule());
  d.node_id = std::move(*node_id);
  auto node = ParseNode(o, false);
  if (!node) return std::move(node).error();
  d.node = std::move(*node);
  return d;
}

std::string AcquireResponseJson(const storage::AcquireResult& result) {
  json::array leases;
  for (const storage::Lease& l : result.leases) {
    const storage::JobRecord& job = l.job;
    json::value spec = StoredJson(job.spec_json);
    json::object o;
    o["lease_id"] = l.lease_id;
    o["lease_expires_at"] = FormatRfc3339(l.expires_at);
    o["job_id"] = job.job_id;
    o["tenant_id"] = job.tenant_id;
    o["workspace_id"] = job.workspace_id;
    o["submission_id"] = job.submission_id;
    o["trace_id"] = job.trace_id;
    for (const char* key :
         {"execution_profile", "resource_shape", "payload_ref", "requested_by", "slurm_adapter"}) {
      const json::value* part = spec.is_object() ? spec.get_object().if_contains(key) : nullptr;
      o[key] = part != nullptr ? *part : json::value(nullptr);
    }
    leases.push_back(std::move(o));
  }
  json::array cancels;
  for (const storage::CancelItem& c : result.cancellations) {
    cancels.push_back(json::object{{"job_id", c.job_id},
                                   {"submission_id", c.submission_id},
                                   {"execution_id", OptionalString(c.execution_id)}});
  }
  json::object out;
  out["leases"] = std::move(leases);
  out["cancellations"] = std::move(cancels);
  return json::serialize(out);
}

bool NodeIsStale(const storage::NodeRecord& node, SystemTime now,
                 std::chrono::seconds stale_after) {
  const double age = std::chrono::duration<double>(now - node.last_seen).count();
  return age > static_cast<double>(stale_after.count());
}

std::string ManagedRuntimeJson(const std::vector<storage::NodeRecord>& nodes, bool list_nodes,
                               SystemTime now, std::chrono::seconds stale_after) {
  json::array list;
  std::int64_t stale_count = 0;
  for (const storage::NodeRecord& n : nodes) {
    const double age = std::chrono::duration<double>(now - n.last_seen).count();
    const bool stale = NodeIsStale(n, now, stale_after);
    if (stale) ++stale_count;
    if (!list_nodes) continue;
    json::object o;
    o["node_id"] = n.node_id;
    o["tenant_id"] = n.tenant_id;
    o["executor"] = n.executor;
    o["agent_version"] = n.agent_version;
    o["last_seen"] = FormatRfc3339(n.last_seen);
    o["age_seconds"] = static_cast<std::int64_t>(std::max(0.0, age));  // whole seconds
    o["stale"] = stale;
    o["in_flight"] = n.in_flight;
    json::value catalogue = StoredJson(n.catalogue_json);
    const json::object* c = catalogue.is_object() ? &catalogue.get_object() : nullptr;
    o["slurm_version"] = c != nullptr && c->contains("version") ? c->at("version") : nullptr;
    o["partitions"] = c != nullptr && c->contains("partitions") ? c->at("partitions")
                                                                : json::value(json::array());
    list.push_back(std::move(o));
  }
  json::object out;
  out["status"] = nodes.empty() ? "empty" : (stale_count > 0 ? "degraded" : "ok");
  out["scope"] = list_nodes ? "tenant" : "summary";
  out["stale_after_seconds"] = stale_after.count();
  out["nodes_total"] = static_cast<std::int64_t>(nodes.size());
  out["nodes_stale"] = stale_count;
  out["nodes"] = std::move(list);
  return json::serialize(out);
}

std::string DryRunReportJson(std::string_view tenant_id, const DryRunBody& body,
                             const std::optional<storage::NodeRecord>& existing,
                             const slurm_adapter::AdapterSettings& adapter) {
  namespace sa = slurm_adapter;
  const std::optional<sa::Catalogue>& catalogue = body.node.catalogue;
  json::array partitions;
  if (catalogue) {
    for (const sa::Partition& p : catalogue->partitions) partitions.push_back(json::value(p.name));
  }
  json::object reg;
  reg["tenant_id"] = tenant_id;
  reg["node_id"] = body.node_id;
  reg["executor"] = body.node.executor;
  reg["agent_version"] =
      body.node.agent_version.empty() ? json::value(nullptr) : json::value(body.node.agent_version);
  reg["slurm_version"] = catalogue ? json::value(catalogue->version) : json::value(nullptr);
  reg["cluster"] = catalogue && !catalogue->cluster.empty() ? json::value(catalogue->cluster)
                                                            : json::value(nullptr);
  reg["partitions"] = std::move(partitions);
  reg["already_registered"] = existing.has_value();
  reg["last_seen"] = existing ? json::value(FormatRfc3339(existing->last_seen)) : nullptr;

  json::array mappings;
  json::array notes;
  bool ok = true;
  if (!adapter.policy) {
    notes.push_back(
        "no queue policy is loaded (adapter passthrough): queues pass through as "
        "requested, nothing to check");
  } else if (!catalogue) {
    notes.push_back(
        "the node reports no Slurm catalogue (executor local): queue mappings are "
        "not checked");
  } else {
    const sa::TenantRule* rule = adapter.policy->RuleFor(tenant_id);
    for (const auto& [name, m] : adapter.policy->queues) {
      bool allowed = true;
      if (rule != nullptr) {
        const bool denied =
            std::find(rule->deny.begin(), rule->deny.end(), name) != rule->deny.end();
        const bool listed = !rule->allow || std::find(rule->allow->begin(), rule->allow->end(),
                                                      name) != rule->allow->end();
        allowed = !denied && listed;
      }
      json::array problems;
      for (const sa::MappingProblem& p : sa::CheckMapping(m, *catalogue)) {
        problems.push_back(json::value(p.message));
      }
      const bool holds = problems.empty();
      if (allowed && !holds) ok = false;
      json::object o;
      o["queue"] = m.queue;
      o["partition"] = m.partition;
      o["account"] = m.account ? json::value(*m.account) : json::value(nullptr);
      o["qos"] = m.qos ? json::value(*m.qos) : json::value(nullptr);
      o["max_walltime_minutes"] = m.max_walltime_minutes;
      o["allowed_for_tenant"] = allowed;
      o["holds"] = holds;
      o["problems"] = std::move(problems);
      mappings.push_back(std::move(o));
    }
  }
  json::object out;
  out["dry_run"] = true;
  out["ok"] = ok;
  out["would_register"] = std::move(reg);
  out["adapter"] = sa::ToString(adapter.mode);
  out["contract_version"] = sa::kContractVersion;
  out["fallback_queue"] = adapter.policy && adapter.policy->fallback_queue
                              ? json::value(*adapter.policy->fallback_queue)
                              : json::value(nullptr);
  out["queue_mappings"] = std::move(mappings);
  out["notes"] = std::move(notes);
  return json::serialize(out);
}

}  // namespace rtgw::api
