// libFuzzer target: the queue policy file (RTGW_QUEUE_POLICY_FILE,
// slurm_adapter/queue_policy.hpp). Corpus: corpus/queue_policy/.
// Properties: every queue is keyed by its own name and maps to a partition
// with a walltime in 1..525600 minutes; the fallback queue is one of the
// queues; every tenant rule is keyed by its tenant, found by RuleFor and
// names only queues of the policy.
#include "slurm_adapter/queue_policy.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"

using rtgw::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto policy = rtgw::slurm_adapter::ParseQueuePolicy(rtgw::fuzz::AsText(data, size));
  if (!policy.ok()) return 0;
  for (const auto& [name, mapping] : policy->queues) {
    Require(mapping.queue == name, "a queue mapping is keyed by its queue name");
    Require(!mapping.partition.empty(), "a queue maps to a partition");
    Require(mapping.max_walltime_minutes >= 1 && mapping.max_walltime_minutes <= 525600,
            "a queue's max_walltime_minutes is 1..525600");
  }
  if (policy->fallback_queue) {
    Require(policy->queues.count(*policy->fallback_queue) == 1,
            "the fallback queue is a queue of the policy");
  }
  for (const auto& [key, rule] : policy->tenants) {
    Require(rule.key == key, "a tenant rule is keyed by its tenant");
    Require(policy->RuleFor(key) == &rule, "RuleFor finds a tenant's own rule");
    for (const auto& queue : rule.deny) {
      Require(policy->queues.count(queue) == 1, "a deny list names queues of the policy");
    }
    if (rule.allow) {
      for (const auto& queue : *rule.allow) {
        Require(policy->queues.count(queue) == 1, "an allow list names queues of the policy");
      }
    }
  }
  Require(policy->sha256.empty(), "ParseQueuePolicy leaves sha256 to the caller");
  return 0;
}
