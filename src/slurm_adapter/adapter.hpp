#ifndef RTGW_SLURM_ADAPTER_ADAPTER_HPP_
#define RTGW_SLURM_ADAPTER_ADAPTER_HPP_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "slurm_adapter/catalogue.hpp"
#include "slurm_adapter/queue_policy.hpp"

// The Slurm adapter boundary `slurm-adapter-boundary/v1` (seed 002,
// docs/contracts/slurm-adapter-boundary.md): at submit, the product's
// execution_profile.queue_name is resolved into exactly one BoundaryRecord.
// Everything here is pure (no I/O, no clock: `now` is a parameter).
namespace rtgw::slurm_adapter {

inline constexpr std::string_view kContractVersion = "slurm-adapter-boundary/v1";

enum class AdapterMode { kPassthrough, kStubPolicy, kRealPolicy };

std::string_view ToString(AdapterMode mode);
std::optional<AdapterMode> ParseAdapterMode(std::string_view text);

// The boundary's one output. Field names and meanings are the contract.
struct BoundaryRecord {
  AdapterMode adapter = AdapterMode::kPassthrough;
  std::string requested_queue;
  std::string resolved_queue;
  bool used_fallback = false;
  std::optional<QueueMapping> mapping;  // null in passthrough
};

// Compact JSON {"adapter","contract_version","requested_queue","resolved_queue",
// "used_fallback","mapping": null | {"queue","partition","account","qos",
// "max_walltime_minutes"}} in that key order.
std::string BoundaryJson(const BoundaryRecord& record);
// The same as a JSON object (BoundaryJson serializes it).
boost::json::object BoundaryValue(const BoundaryRecord& record);

// Configuration of the boundary, validated at start-up (see BuildAdapterSettings).
struct AdapterSettings {
  AdapterMode mode = AdapterMode::kPassthrough;
  std::optional<QueuePolicy> policy;  // required for stub-policy and real-policy
  std::string policy_path;
  // Rollback metadata (ZPE_SLURM_ADAPTER_OWNER / ZPE_SLURM_ADAPTER_EXPIRES_AT):
  // both set or both empty.
  std::string rollback_owner;
  std::optional<SystemTime> rollback_expires_at;
  std::string rollback_expires_at_text;
  // real-policy: a catalogue older than this is not used (503 slurm_unavailable).
  std::chrono::seconds catalogue_max_age{120};

  bool rollback_active() const { return rollback_expires_at.has_value(); }
};

struct AdapterInputs {
  std::string mode;                        // ZPE_SLURM_ADAPTER ("" = passthrough)
  std::string policy_path;                 // RTGW_QUEUE_POLICY_FILE ("" = none)
  std::optional<std::string> policy_text;  // the file's bytes, when policy_path is set and read
  std::string owner;                       // ZPE_SLURM_ADAPTER_OWNER
  std::string expires_at;                  // ZPE_SLURM_ADAPTER_EXPIRES_AT (RFC 3339)
  std::chrono::seconds catalogue_max_age{120};
};

// Validates the inputs. InvalidArgument naming the setting on: an unknown mode;
// stub-policy/real-policy without a policy file; a policy file that does not
// parse (the message carries the JSON path); only one of owner/expiry; an
// expiry that is not RFC 3339; owner/expiry with real-policy (a rollback is a
// switch AWAY from real-policy: ZPE_SLURM_ADAPTER=stub-policy|passthrough).
// A policy file given in passthrough mode is validated too (and then unused).
Result<AdapterSettings> BuildAdapterSettings(const AdapterInputs& inputs);

// The live catalogue of the job's management node, as last reported.
struct CatalogueSnapshot {
  std::string node_id;
  SystemTime reported_at;
  std::optional<Catalogue> catalogue;  // nullopt: the node runs the local executor (no Slurm)
};

struct ResolveInput {
  std::string_view tenant_id;
  std::string_view management_node_id;
  std::string_view queue_name;
  std::int64_t walltime_seconds = 0;
  std::int64_t cpu = 0;
  std::int64_t memory_mib = 0;
  // real-policy only: the node's last heartbeat; nullptr when it never reported.
  const CatalogueSnapshot* catalogue = nullptr;
  SystemTime now;
};

// Resolves one submit. Errors:
//  - PermissionDenied(.., "queue_denied"): the message names the queue and the
//    rule ("tenants.t1.deny", "tenants.*.allow", "queues").
//  - kUnprocessable "walltime_exceeded" (mapping's max_walltime_minutes,
//    limits.max_walltime_minutes or, real-policy, the partition's MaxTime) and
//    "resource_limit_exceeded" (limits.max_cpu / max_memory_mib).
//  - Unavailable(.., "slurm_unavailable") (real-policy): no catalogue, one older
//    than catalogue_max_age, or the mapping cannot run on it (partition
//    missing or not up, account/qos unknown to a catalogue that lists them).
//    Resolution never silently changes: no fallback on a backend failure.
// passthrough never fails: resolved = requested, mapping null.
Result<BoundaryRecord> Resolve(const AdapterSettings& settings, const ResolveInput& input);

// One reason a mapping does not hold against a catalogue.
struct MappingProblem {
  enum class Kind {
    kPartitionMissing,
    kPartitionNotUp,
    kWalltimeAboveMaxTime,  // mapping's max_walltime_minutes > the partition's MaxTime
    kAccountUnknown,        // only when the catalogue lists accounts
    kQosUnknown,            // only when the catalogue lists qos
  };
  Kind kind;
  std::string message;  // a human sentence naming the queue/partition/account/qos
};

// Problems of `mapping` against a catalogue; empty when the mapping holds.
std::vector<MappingProblem> CheckMapping(const QueueMapping& mapping, const Catalogue& catalogue);

struct RollbackStatus {
  bool active = false;
  bool expired = false;
};
RollbackStatus GetRollbackStatus(const AdapterSettings& settings, SystemTime now);

}  // namespace rtgw::slurm_adapter

#endif  // RTGW_SLURM_ADAPTER_ADAPTER_HPP_
