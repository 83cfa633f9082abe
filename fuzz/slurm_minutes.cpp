// libFuzzer target: Slurm time limits (ParseSlurmMinutes) and `Key=Value`
// lines (SplitKeyValueLine). Corpus: corpus/slurm_minutes/. Property: a parsed
// limit is never negative.
#include <cstddef>
#include <cstdint>

#include "agent/slurm/slurm_parse.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = rtgw::fuzz::AsText(data, size);
  auto minutes = rtgw::agent::slurm::ParseSlurmMinutes(text);
  if (minutes.ok() && minutes->has_value()) {
    rtgw::fuzz::Require(**minutes >= 0, "a parsed Slurm time limit is not negative");
  }
  (void)rtgw::agent::slurm::SplitKeyValueLine(text);
  return 0;
}
