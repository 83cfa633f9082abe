// libFuzzer target: `sinfo` partition output (ParseSinfoPartitions). Corpus:
// corpus/sinfo_partitions/. Property: every parsed partition has a name.
#include <cstddef>
#include <cstdint>

#include "agent/slurm/slurm_parse.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto partitions = rtgw::agent::slurm::ParseSinfoPartitions(rtgw::fuzz::AsText(data, size));
  if (partitions.ok()) {
    for (const auto& p : *partitions) {
      rtgw::fuzz::Require(!p.name.empty(), "a parsed partition has a name");
    }
  }
  return 0;
}
