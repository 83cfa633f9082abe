#include "slurm_adapter/queue_policy.hpp"

#include <algorithm>
#include <initializer_list>

#include <boost/json.hpp>

#include "common/text.hpp"

namespace rtgw::slurm_adapter {
namespace json = boost::json;
namespace {

constexpr std::int64_t kMaxWalltimeMinutes = 525'600;  // one year
constexpr std::size_t kMaxQueues = 1024;

Error Bad(std::string_view path, std::string_view why) {
  return InvalidArgument(std::string(path) + ": " + std::string(why));
}

std::string Join(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

Status OnlyKeys(const json::object& o, std::string_view path,
                std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : o) {
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end()) {
      return Bad(Join(path, kv.key()), "unknown key");
    }
  }
  return Ok{};
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return !HasControlChars(s);
}

Result<std::string> RequiredName(const json::object& o, std::string_view key,
                                 std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return Bad(Join(path, key), "is required");
  if (!v->is_string() || !ValidName(v->get_string())) {
    return Bad(Join(path, key), "must be a non-empty string of at most 128 characters");
  }
  return std::string(v->get_string());
}

Result<std::optional<std::string>> OptionalName(const json::object& o, std::string_view key,
                                                std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string() || !ValidName(v->get_string())) {
    return Bad(Join(path, key), "must be null or a non-empty string of at most 128 characters");
  }
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<std::int64_t>> OptionalInt(const json::object& o, std::string_view key,
                                                std::string_view path, std::int64_t min,
                                                std::int64_t max) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
  std::optional<std::int64_t> n;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  }
  if (!n || *n < min || *n > max) {
    return Bad(Join(path, key),
               "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

Result<std::vector<std::string>> QueueList(const json::value& v, std::string_view path,
                                           const QueuePolicy& policy) {
  if (!v.is_array()) return Bad(path, "must be an array of queue names");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const json::value& e = v.get_array()[i];
    const std::string p = std::string(path) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) return Bad(p, "must be a queue name");
    std::string name(e.get_string());
    // A rule about a queue the policy does not define is a typo, not a no-op.
    if (!policy.queues.contains(name)) return Bad(p, "'" + name + "' is not a key of queues");
    out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

const TenantRule* QueuePolicy::RuleFor(std::string_view tenant_id) const {
  if (auto it = tenants.find(tenant_id); it != tenants.end()) return &it->second;
  if (auto it = tenants.find(std::string_view("*")); it != tenants.end()) return &it->second;
  return nullptr;
}

Result<QueuePolicy> ParseQueuePolicy(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value doc = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("not valid JSON: " + ec.message());
  if (!doc.is_object()) return InvalidArgument("the policy must be a JSON object");
  const json::object& root = doc.get_object();
  if (Status s =
          OnlyKeys(root, "", {"contract_version", "queues", "fallback_queue", "tenants", "limits"});
      !s) {
    return std::move(s).error();
  }
  QueuePolicy policy;
  if (const json::value* cv = root.if_contains("contract_version"); cv != nullptr) {
    if (!cv->is_string() || cv->get_string() != "slurm-adapter-boundary/v1") {
      return Bad("contract_version", "must be \"slurm-adapter-boundary/v1\" when present");
    }
  }
  const json::value* queues = root.if_contains("queues");
  if (queues == nullptr || !queues->is_object() || queues->get_object().empty()) {
    return Bad("queues", "must be a non-empty object of queue name -> mapping");
  }
  if (queues->get_object().size() > kMaxQueues) {
    return Bad("queues", "must have at most " + std::to_string(kMaxQueues) + " queues");
  }
  for (const auto& kv : queues->get_object()) {
    const std::string path = "queues." + std::string(kv.key());
    if (!ValidName(kv.key())) return Bad(path, "queue names are 1-128 characters");
    if (!kv.value().is_object()) return Bad(path, "must be an object");
    const json::object& m = kv.value().get_object();
    if (Status s = OnlyKeys(m, path, {"partition", "account", "qos", "max_walltime_minutes"}); !s) {
      return std::move(s).error();
    }
    QueueMapping mapping;
    mapping.queue = std::string(kv.key());
    auto partition = RequiredName(m, "partition", path);
    if (!partition) return std::move(partition).error();
    mapping.partition = std::move(*partition);
    auto account = OptionalName(m, "account", path);
    if (!account) return std::move(account).error();
    mapping.account = std::move(*account);
    auto qos = OptionalName(m, "qos", path);
    if (!qos) return std::move(qos).error();
    mapping.qos = std::move(*qos);
    auto wall = OptionalInt(m, "max_walltime_minutes", path, 1, kMaxWalltimeMinutes);
    if (!wall) return std::move(wall).error();
    if (!*wall) return Bad(Join(path, "max_walltime_minutes"), "is required");
    mapping.max_walltime_minutes = **wall;
    policy.queues.emplace(mapping.queue, std::move(mapping));
  }
  auto fallback = OptionalName(root, "fallback_queue", "");
  if (!fallback) return std::move(fallback).error();
  if (*fallback && !policy.queues.contains(**fallback)) {
    return Bad("fallback_queue", "'" + **fallback + "' is not a key of queues");
  }
  policy.fallback_queue = std::move(*fallback);
  if (const json::value* tenants = root.if_contains("tenants");
      tenants != nullptr && !tenants->is_null()) {
    if (!tenants->is_object()) return Bad("tenants", "must be an object of tenant id -> rule");
    for (const auto& kv : tenants->get_object()) {
      const std::string path = "tenants." + std::string(kv.key());
      if (kv.key().empty()) return Bad("tenants", "tenant keys must not be empty");
      if (!kv.value().is_object()) return Bad(path, "must be an object");
      const json::object& r = kv.value().get_object();
      if (Status s = OnlyKeys(r, path, {"allow", "deny"}); !s) return std::move(s).error();
      TenantRule rule;
      rule.key = std::string(kv.key());
      if (const json::value* allow = r.if_contains("allow"); allow && !allow->is_null()) {
        auto list = QueueList(*allow, path + ".allow", policy);
        if (!list) return std::move(list).error();
        rule.allow = std::move(*list);
      }
      if (const json::value* deny = r.if_contains("deny"); deny && !deny->is_null()) {
        auto list = QueueList(*deny, path + ".deny", policy);
        if (!list) return std::move(list).error();
        rule.deny = std::move(*list);
      }
      policy.tenants.emplace(rule.key, std::move(rule));
    }
  }
  if (const json::value* limits = root.if_contains("limits");
      limits != nullptr && !limits->is_null()) {
    if (!limits->is_object()) return Bad("limits", "must be an object");
    const json::object& l = limits->get_object();
    if (Status s = OnlyKeys(l, "limits", {"max_walltime_minutes", "max_cpu", "max_memory_mib"});
        !s) {
      return std::move(s).error();
    }
    auto wall = OptionalInt(l, "max_walltime_minutes", "limits", 1, kMaxWalltimeMinutes);
    if (!wall) return std::move(wall).error();
    auto cpu = OptionalInt(l, "max_cpu", "limits", 1, 1024);
    if (!cpu) return std::move(cpu).error();
    auto mem = OptionalInt(l, "max_memory_mib", "limits", 1, 16'777'216);
    if (!mem) return std::move(mem).error();
    policy.limits = PolicyLimits{*wall, *cpu, *mem};
  }
  return policy;
}

}  // namespace rtgw::slurm_adapter
