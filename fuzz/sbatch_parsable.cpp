// libFuzzer target: `sbatch --parsable` output (ParseSbatchParsable) and
// `scontrol show config` (ParseScontrolConfig). Corpus: corpus/sbatch_parsable/.
// Property: a parsed job id is not empty.
#include <cstddef>
#include <cstdint>

#include "agent/slurm/slurm_parse.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  auto id = rtgw::agent::slurm::ParseSbatchParsable(text);
  if (id.ok()) rtgw::fuzz::Require(!id->empty(), "a parsed sbatch job id is not empty");
  (void)rtgw::agent::slurm::ParseScontrolConfig(text);
  return 0;
}
