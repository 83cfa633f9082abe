// libFuzzer target: the validators file (RTGW_VALIDATORS_FILE,
// validators/registry.hpp ParseValidatorRegistry). Corpus:
// corpus/validator_registry/.
// Properties: every entry has a valid name and version, a known launcher with
// what that launcher needs (local: an absolute argv[0]; cloud-run: a job path;
// slurm: a node), a timeout of 1..86400 s; (name, version) is unique, so
// FindValidator returns the entry itself.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_check.hpp"
#include "validators/registry.hpp"

using rtgw::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto specs = rtgw::validators::ParseValidatorRegistry(rtgw::fuzz::AsText(data, size));
  if (!specs.ok()) return 0;
  for (const auto& spec : *specs) {
    Require(!spec.name.empty() && spec.name.size() <= 64 && !spec.version.empty() &&
                spec.version.size() <= 64,
            "a validator has a name and version of 1-64 characters");
    if (spec.launcher == "local") {
      Require(!spec.command.empty() && !spec.command[0].empty() && spec.command[0][0] == '/',
              "a local validator's argv[0] is an absolute path");
    } else if (spec.launcher == "cloud-run") {
      Require(spec.cloud_run_job.rfind("projects/", 0) == 0 &&
                  spec.cloud_run_job.find("/jobs/") != std::string::npos,
              "a cloud-run validator names a job");
    } else {
      Require(spec.launcher == "slurm", "the launcher is local, cloud-run or slurm");
      Require(!spec.node_id.empty() && !spec.queue.empty(), "a slurm validator names a node");
    }
    Require(spec.timeout.count() >= 1 && spec.timeout.count() <= 86400,
            "a validator timeout is 1..86400 s");
    Require(rtgw::validators::FindValidator(*specs, spec.name, spec.version) == &spec,
            "(name, version) finds exactly this entry");
  }
  if (!specs->empty()) {
    Require(rtgw::validators::FindValidator(*specs, specs->front().name, std::nullopt) ==
                &specs->front(),
            "without a version, the first entry of a name is found");
  }
  return 0;
}
