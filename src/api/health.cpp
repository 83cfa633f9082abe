#include "api/health.hpp"

#include <algorithm>
#include <cstdint>

#include <boost/json.hpp>

#include "api/node_requests.hpp"
#include "api/submit_boundary.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace sa = slurm_adapter;
namespace {

std::string WithheldDetail(std::string_view what, std::string_view trace_id) {
  return std::string(what) + "; the server log has the details under trace_id " +
         std::string(trace_id);
}

// checks.store, and whether the store can serve.
json::object StoreCheck(const HealthFacts& f, std::vector<std::string>& withheld, bool& serves) {
  const Result<storage::StoreHealth>& r = f.store;
  const bool reachable = r.ok() && r->reachable;
  const bool writable = r.ok() && r->writable;
  const bool intact = !f.integrity || f.integrity->ok;
  serves = reachable && writable && intact;
  json::object o;
  o["status"] = serves ? "ok" : "unavailable";
  o["backend"] = r.ok() ? r->backend : std::string("unknown");
  o["reachable"] = reachable;
  o["writable"] = writable;
  if (f.integrity) o["integrity"] = f.integrity->ok ? "ok" : "failed";
  // The checks' own texts (SQLite/libpq/OS errors) go to the log, never to the client.
  if (!r.ok() || !r->detail.empty()) {
    withheld.push_back(r.ok() ? r->detail : r.error().message);
    o["detail"] = WithheldDetail("the store's read or write check failed", f.trace_id);
  } else if (!intact) {
    withheld.push_back(f.integrity->detail);
    o["detail"] = WithheldDetail("the store's integrity check failed", f.trace_id);
  }
  return o;
}

// checks.slurm_adapter: the boundary's mode, policy and rollback state.
json::object AdapterCheck(const sa::AdapterSettings& a, SystemTime now, bool& degraded) {
  const sa::RollbackStatus rollback = sa::GetRollbackStatus(a, now);
  degraded = rollback.expired;
  json::object o;
  o["status"] = degraded ? "degraded" : "ok";
  o["adapter"] = sa::ToString(a.mode);
  o["contract_version"] = sa::kContractVersion;
  o["policy_file"] = a.policy_path.empty() ? json::value(nullptr) : json::value(a.policy_path);
  o["policy_sha256"] = a.policy ? json::value(a.policy->sha256) : json::value(nullptr);
  if (!rollback.active) {
    o["rollback"] = nullptr;
  } else {
    o["rollback"] = json::object{{"active", true},
                                 {"owner", a.rollback_owner},
                                 {"expires_at", a.rollback_expires_at_text},
                                 {"expired", rollback.expired}};
  }
  if (degraded) {
    o["reason"] = "the Slurm adapter rollback owned by " + a.rollback_owner + " expired at " +
                  a.rollback_expires_at_text + ": switch back or set a new expiry";
  }
  return o;
}

// Why submits to `node` are refused now (slurm_unavailable of any queue), and which queues.
struct NodeRefusal {
  std::vector<std::string> queues;
  std::vector<std::string> reasons;  // distinct, at most kHealthReasonsPerNodeMax
};

NodeRefusal RefusalOf(const sa::AdapterSettings& a, const storage::NodeRecord& node,
                      SystemTime now) {
  NodeRefusal out;
  Result<sa::CatalogueSnapshot> snapshot = CatalogueSnapshotOf(node);
  if (!snapshot) {
    out.reasons.push_back("real-policy: the stored Slurm catalogue of management node '" +
                          node.node_id + "' does not parse");
    return out;
  }
  for (const auto& [queue, mapping] : a.policy->queues) {
    // The smallest job: only the node (catalogue, partitions) can refuse it.
    const sa::ResolveInput input{.tenant_id = node.tenant_id,
                                 .management_node_id = node.node_id,
                                 .queue_name = queue,
                                 .walltime_seconds = 0,
                                 .cpu = 0,
                                 .memory_mib = 0,
                                 .catalogue = &*snapshot,
                                 .now = now};
    Result<sa::BoundaryRecord> r = sa::Resolve(a, input);
    if (r || r.error().api_code != "slurm_unavailable") continue;
    out.queues.push_back(queue);
    if (out.reasons.size() < kHealthReasonsPerNodeMax &&
        std::find(out.reasons.begin(), out.reasons.end(), r.error().message) == out.reasons.end()) {
      out.reasons.push_back(r.error().message);
    }
  }
  return out;
}

}  // namespace

HealthCheckResult SubmitAdmissionCheck(const sa::AdapterSettings& a,
                                       const Result<std::vector<storage::NodeRecord>>& nodes,
                                       const std::optional<std::string>& tenant_id,
                                       SystemTime now) {
  json::object o;
  o["adapter"] = sa::ToString(a.mode);
  o["catalogue_max_age_seconds"] = a.catalogue_max_age.count();
  o["scope"] = tenant_id ? "tenant" : "summary";
  if (!nodes) {
    o["status"] = "degraded";
    o["reason"] = "the management nodes could not be read (see checks.store)";
    return {true, json::serialize(o)};
  }
  std::int64_t refusing = 0;
  json::array listed;
  for (const storage::NodeRecord& node : *nodes) {
    if (!a.policy) break;  // real-policy always has one (BuildAdapterSettings)
    NodeRefusal refusal = RefusalOf(a, node, now);
    if (refusal.queues.empty() && refusal.reasons.empty()) continue;
    ++refusing;
    if (!tenant_id || node.tenant_id != *tenant_id || listed.size() >= kHealthNodesListedMax) {
      continue;
    }
    json::array queues(refusal.queues.begin(), refusal.queues.end());
    json::array reasons(refusal.reasons.begin(), refusal.reasons.end());
    listed.push_back(json::object{{"node_id", node.node_id},
                                  {"queues_refused", std::move(queues)},
                                  {"reasons", std::move(reasons)}});
  }
  const auto total = static_cast<std::int64_t>(nodes->size());
  const bool degraded = total == 0 || refusing > 0;
  o["status"] = degraded ? "degraded" : "ok";
  o["nodes_total"] = total;
  o["nodes_refusing"] = refusing;
  o["nodes"] = std::move(listed);
  if (total == 0) {
    o["reason"] =
        "no management node has sent a heartbeat: every real-policy submit is refused "
        "(503 slurm_unavailable)";
  } else if (refusing > 0) {
    o["reason"] = std::to_string(refusing) + " of " + std::to_string(total) +
                  " management nodes refuse real-policy submits (503 slurm_unavailable): a "
                  "missing or stale Slurm catalogue, or a mapped partition missing or down";
  }
  return {degraded, json::serialize(o)};
}

HealthAnswer BuildHealth(const HealthFacts& f) {
  HealthAnswer answer;
  bool serves = false;
  bool degraded = false;
  json::object checks;
  checks["store"] = StoreCheck(f, answer.withheld, serves);
  if (f.adapter != nullptr) {
    bool rollback_expired = false;
    checks["slurm_adapter"] = AdapterCheck(*f.adapter, f.now, rollback_expired);
    degraded = degraded || rollback_expired;
    if (f.adapter->mode == sa::AdapterMode::kRealPolicy && f.nodes) {
      HealthCheckResult admission = SubmitAdmissionCheck(*f.adapter, *f.nodes, f.tenant_id, f.now);
      degraded = degraded || admission.degraded;
      checks["submit_admission"] = json::parse(admission.json);
    }
  }
  if (f.deep && f.nodes) {
    if (*f.nodes) {
      std::vector<storage::NodeRecord> in_scope;
      for (const storage::NodeRecord& n : **f.nodes) {
        if (!f.tenant_id || n.tenant_id == *f.tenant_id) in_scope.push_back(n);
      }
      // Anonymous callers get counts over every tenant's nodes, never their ids.
      checks["managed_aiida_runtime"] = json::parse(ManagedRuntimeJson(
          f.tenant_id ? in_scope : **f.nodes, f.tenant_id.has_value(), f.now, f.node_stale_after));
    } else {
      answer.withheld.push_back(f.nodes->error().message);
      checks["managed_aiida_runtime"] = json::object{
          {"status", "unavailable"},
          {"detail", WithheldDetail("the management nodes could not be read", f.trace_id)}};
    }
  }
  // Extra checks (the projection relay) can degrade the answer but not fail
  // it: the API still serves while, say, the product sink is down.
  for (const auto& [name, check] : f.extra) {
    degraded = degraded || check.degraded;
    checks[name] = json::parse(check.json);
  }
  if (f.nodes && *f.nodes) {
    HealthNodeCounts counts;
    for (const storage::NodeRecord& n : **f.nodes) {
      ++counts.total;
      if (NodeIsStale(n, f.now, f.node_stale_after)) ++counts.stale;
    }
    answer.nodes = counts;
  }
  answer.status = serves ? 200 : 503;
  answer.verdict = !serves ? "unavailable" : degraded ? "degraded" : "ok";
  json::object body;
  body["status"] = answer.verdict;
  body["version"] = f.version;
  body["checks"] = std::move(checks);
  answer.body = json::serialize(body);
  return answer;
}

}  // namespace rtgw::api
