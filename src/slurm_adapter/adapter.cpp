#include "slurm_adapter/adapter.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace rtgw::slurm_adapter {
namespace json = boost::json;
namespace {

Error QueueDenied(std::string message) {
  return PermissionDenied(std::move(message), "queue_denied");
}

Error Unprocessable(std::string message, std::string code) {
  return Error{ErrorCode::kUnprocessable, std::move(message), std::move(code)};
}

Error SlurmUnavailable(std::string message) {
  return Unavailable(std::move(message), "slurm_unavailable");
}

bool Contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::int64_t CeilMinutes(std::int64_t seconds) { return (seconds + 59) / 60; }

// Tenant rules on one queue: deny wins; then, when the rule has an allow
// list, the queue must be on it.
Status CheckTenantRule(const TenantRule* rule, std::string_view tenant_id, const std::string& queue,
                       std::string_view role) {
  if (rule == nullptr) return Ok{};
  if (Contains(rule->deny, queue)) {
    return QueueDenied(std::string(role) + " queue '" + queue + "' is denied for tenant '" +
                       std::string(tenant_id) + "' by rule tenants." + rule->key + ".deny");
  }
  if (rule->allow && !Contains(*rule->allow, queue)) {
    return QueueDenied(std::string(role) + " queue '" + queue + "' is not allowed for tenant '" +
                       std::string(tenant_id) + "' by rule tenants." + rule->key + ".allow");
  }
  return Ok{};
}

json::value MappingValue(const std::optional<QueueMapping>& m) {
  if (!m) return nullptr;
  json::object o;
  o["queue"] = m->queue;
  o["partition"] = m->partition;
  o["account"] = m->account ? json::value(*m->account) : json::value(nullptr);
  o["qos"] = m->qos ? json::value(*m->qos) : json::value(nullptr);
  o["max_walltime_minutes"] = m->max_walltime_minutes;
  return o;
}

}  // namespace

std::string_view ToString(AdapterMode mode) {
  switch (mode) {
    case AdapterMode::kPassthrough:
      return "passthrough";
    case AdapterMode::kStubPolicy:
      return "stub-policy";
    case AdapterMode::kRealPolicy:
      return "real-policy";
  }
  return "passthrough";
}

std::optional<AdapterMode> ParseAdapterMode(std::string_view text) {
  if (text == "passthrough") return AdapterMode::kPassthrough;
  if (text == "stub-policy") return AdapterMode::kStubPolicy;
  if (text == "real-policy") return AdapterMode::kRealPolicy;
  return std::nullopt;
}

std::string BoundaryJson(const BoundaryRecord& r) { return json::serialize(BoundaryValue(r)); }

json::object BoundaryValue(const BoundaryRecord& r) {
  json::object o;
  o["adapter"] = ToString(r.adapter);
  o["contract_version"] = kContractVersion;
  o["requested_queue"] = r.requested_queue;
  o["resolved_queue"] = r.resolved_queue;
  o["used_fallback"] = r.used_fallback;
  o["mapping"] = MappingValue(r.mapping);
  return o;
}

Result<AdapterSettings> BuildAdapterSettings(const AdapterInputs& in) {
  AdapterSettings s;
  const std::string mode_text = in.mode.empty() ? "passthrough" : in.mode;
  auto mode = ParseAdapterMode(mode_text);
  if (!mode) {
    return InvalidArgument(
        "ZPE_SLURM_ADAPTER: expected passthrough, stub-policy or real-policy, "
        "got '" +
        in.mode + "'");
  }
  s.mode = *mode;
  s.policy_path = in.policy_path;
  if (!in.policy_path.empty()) {
    if (!in.policy_text) {
      return InvalidArgument("RTGW_QUEUE_POLICY_FILE: cannot read '" + in.policy_path + "'");
    }
    auto policy = ParseQueuePolicy(*in.policy_text);
    if (!policy) {
      return InvalidArgument("RTGW_QUEUE_POLICY_FILE '" + in.policy_path +
                             "' is invalid: " + policy.error().message);
    }
    s.policy = std::move(*policy);
  } else if (s.mode != AdapterMode::kPassthrough) {
    return InvalidArgument(
        "ZPE_SLURM_ADAPTER=" + mode_text +
        " needs a queue policy: set RTGW_QUEUE_POLICY_FILE (--queue-policy-file)");
  }
  if (in.owner.empty() != in.expires_at.empty()) {
    return InvalidArgument(
        "a rollback needs both ZPE_SLURM_ADAPTER_OWNER and ZPE_SLURM_ADAPTER_EXPIRES_AT "
        "(only one is set)");
  }
  if (!in.owner.empty()) {
    if (s.mode == AdapterMode::kRealPolicy) {
      return InvalidArgument(
          "ZPE_SLURM_ADAPTER_OWNER/ZPE_SLURM_ADAPTER_EXPIRES_AT mark a rollback away from "
          "real-policy; with ZPE_SLURM_ADAPTER=real-policy they must not be set");
    }
    auto expires = ParseRfc3339(in.expires_at);
    if (!expires) {
      return InvalidArgument(
          "ZPE_SLURM_ADAPTER_EXPIRES_AT: expected an RFC 3339 date-time "
          "(2026-03-01T00:00:00Z) from " +
          std::string(kRfc3339Range) + ", got '" + in.expires_at + "'");
    }
    s.rollback_owner = in.owner;
    s.rollback_expires_at = *expires;
    s.rollback_expires_at_text = FormatRfc3339(*expires);
  }
  if (in.catalogue_max_age.count() < 1) {
    return InvalidArgument("RTGW_SLURM_CATALOGUE_MAX_AGE_SECONDS: must be at least 1");
  }
  s.catalogue_max_age = in.catalogue_max_age;
  return s;
}

std::vector<MappingProblem> CheckMapping(const QueueMapping& m, const Catalogue& c) {
  using Kind = MappingProblem::Kind;
  std::vector<MappingProblem> problems;
  const Partition* p = c.FindPartition(m.partition);
  if (p == nullptr) {
    problems.push_back({Kind::kPartitionMissing, "partition '" + m.partition + "' of queue '" +
                                                     m.queue + "' is not in the catalogue"});
    return problems;
  }
  if (p->state != "up") {
    problems.push_back(
        {Kind::kPartitionNotUp, "partition '" + m.partition + "' is " + p->state + ", not up"});
  }
  if (p->max_time_minutes && m.max_walltime_minutes > *p->max_time_minutes) {
    problems.push_back({Kind::kWalltimeAboveMaxTime,
                        "queue '" + m.queue + "' allows " + std::to_string(m.max_walltime_minutes) +
                            " minutes but partition '" + m.partition + "' MaxTime is " +
                            std::to_string(*p->max_time_minutes) + " minutes"});
  }
  if (m.account && !c.accounts.empty() && !Contains(c.accounts, *m.account)) {
    problems.push_back(
        {Kind::kAccountUnknown, "account '" + *m.account + "' is not in the catalogue's accounts"});
  }
  if (m.qos && !c.qos.empty() && !Contains(c.qos, *m.qos)) {
    problems.push_back({Kind::kQosUnknown, "qos '" + *m.qos + "' is not in the catalogue's qos"});
  }
  return problems;
}

Result<BoundaryRecord> Resolve(const AdapterSettings& s, const ResolveInput& in) {
  BoundaryRecord r;
  r.adapter = s.mode;
  r.requested_queue = std::string(in.queue_name);
  if (s.mode == AdapterMode::kPassthrough || !s.policy) {
    r.resolved_queue = r.requested_queue;
    return r;
  }
  const QueuePolicy& policy = *s.policy;
  const TenantRule* rule = policy.RuleFor(in.tenant_id);
  if (rule != nullptr && Contains(rule->deny, r.requested_queue)) {
    if (Status st = CheckTenantRule(rule, in.tenant_id, r.requested_queue, "requested"); !st) {
      return std::move(st).error();
    }
  }
  auto it = policy.queues.find(r.requested_queue);
  if (it != policy.queues.end()) {
    r.resolved_queue = r.requested_queue;
  } else if (policy.fallback_queue) {
    r.resolved_queue = *policy.fallback_queue;
    r.used_fallback = true;
    it = policy.queues.find(r.resolved_queue);
  } else {
    return QueueDenied("requested queue '" + r.requested_queue +
                       "' is not defined by rule queues and the policy has no fallback_queue");
  }
  if (Status st = CheckTenantRule(rule, in.tenant_id, r.resolved_queue,
                                  r.used_fallback ? "fallback" : "requested");
      !st) {
    return std::move(st).error();
  }
  const QueueMapping& mapping = it->second;
  const std::int64_t minutes = CeilMinutes(in.walltime_seconds);
  if (minutes > mapping.max_walltime_minutes) {
    return Unprocessable("resource_shape.walltime_seconds: " + std::to_string(in.walltime_seconds) +
                             " s (" + std::to_string(minutes) + " min) exceeds queue '" +
                             mapping.queue + "' max_walltime_minutes " +
                             std::to_string(mapping.max_walltime_minutes),
                         "walltime_exceeded");
  }
  if (policy.limits.max_walltime_minutes && minutes > *policy.limits.max_walltime_minutes) {
    return Unprocessable("resource_shape.walltime_seconds: " + std::to_string(minutes) +
                             " min exceeds limits.max_walltime_minutes " +
                             std::to_string(*policy.limits.max_walltime_minutes),
                         "walltime_exceeded");
  }
  if (policy.limits.max_cpu && in.cpu > *policy.limits.max_cpu) {
    return Unprocessable("resource_shape.cpu: " + std::to_string(in.cpu) +
                             " exceeds limits.max_cpu " + std::to_string(*policy.limits.max_cpu),
                         "resource_limit_exceeded");
  }
  if (policy.limits.max_memory_mib && in.memory_mib > *policy.limits.max_memory_mib) {
    return Unprocessable("resource_shape.memory_mib: " + std::to_string(in.memory_mib) +
                             " exceeds limits.max_memory_mib " +
                             std::to_string(*policy.limits.max_memory_mib),
                         "resource_limit_exceeded");
  }
  if (s.mode == AdapterMode::kRealPolicy) {
    const std::string node(in.management_node_id);
    if (in.catalogue == nullptr) {
      return SlurmUnavailable("real-policy: management node '" + node +
                              "' has never reported its Slurm catalogue");
    }
    const auto age =
        std::chrono::duration_cast<std::chrono::seconds>(in.now - in.catalogue->reported_at);
    if (age > s.catalogue_max_age) {
      return SlurmUnavailable("real-policy: the Slurm catalogue of management node '" + node +
                              "' is " + std::to_string(age.count()) + " s old (bound " +
                              std::to_string(s.catalogue_max_age.count()) + " s)");
    }
    if (!in.catalogue->catalogue) {
      return SlurmUnavailable("real-policy: management node '" + node +
                              "' reports no Slurm (local executor)");
    }
    const Partition* p = in.catalogue->catalogue->FindPartition(mapping.partition);
    if (p != nullptr && p->max_time_minutes && minutes > *p->max_time_minutes) {
      return Unprocessable("resource_shape.walltime_seconds: " + std::to_string(minutes) +
                               " min exceeds partition '" + mapping.partition + "' MaxTime " +
                               std::to_string(*p->max_time_minutes) + " min",
                           "walltime_exceeded");
    }
    for (const MappingProblem& problem : CheckMapping(mapping, *in.catalogue->catalogue)) {
      // A queue bound above MaxTime is fine as long as this job is within
      // MaxTime (checked above); every other problem stops the submit.
      if (problem.kind == MappingProblem::Kind::kWalltimeAboveMaxTime) continue;
      return SlurmUnavailable("real-policy: node '" + node + "': " + problem.message);
    }
  }
  r.mapping = mapping;
  return r;
}

RollbackStatus GetRollbackStatus(const AdapterSettings& s, SystemTime now) {
  if (!s.rollback_expires_at) return {};
  return RollbackStatus{.active = true, .expired = now >= *s.rollback_expires_at};
}

}  // namespace rtgw::slurm_adapter
