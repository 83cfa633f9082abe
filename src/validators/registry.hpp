#ifndef RTGW_VALIDATORS_REGISTRY_HPP_
#define RTGW_VALIDATORS_REGISTRY_HPP_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::validators {

// One named, versioned validator (labels validator=<name>, version=<version>).
struct ValidatorSpec {
  std::string name;
  std::string version;
  std::string launcher = "local";     // "local" | "cloud-run" | "slurm"
  std::vector<std::string> command;   // local: argv, argv[0] an absolute path
  std::string cloud_run_job;          // cloud-run: projects/P/locations/L/jobs/J
  std::string node_id;                // slurm: the management node that runs it
  std::string queue = "default";      // slurm: execution_profile.queue_name
  std::chrono::seconds timeout{600};  // callback deadline after launch
};

// Parses the validators file:
//   {"validators": [{"name": "json-rules", "version": "1.0.0", "launcher": "local",
//     "command": ["/usr/bin/python3", "/opt/sample_validator.py"], "timeout_seconds": 60},
//    {"name": "energyplus", "version": "3f2a9c1", "launcher": "cloud-run",
//     "job": "projects/p/locations/us-central1/jobs/energyplus"},
//    {"name": "json-rules", "version": "1.0.0", "launcher": "slurm", "node": "hpc-1",
//     "queue": "debug"}]}
// (a slurm validator's program is configured on the node's agent, not here).
// InvalidArgument naming the entry and field on any error; (name, version) unique.
Result<std::vector<ValidatorSpec>> ParseValidatorRegistry(std::string_view json_text);

// The spec for `name` and `version` (nullopt version: the first listed).
const ValidatorSpec* FindValidator(const std::vector<ValidatorSpec>& specs, std::string_view name,
                                   const std::optional<std::string>& version);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_REGISTRY_HPP_
