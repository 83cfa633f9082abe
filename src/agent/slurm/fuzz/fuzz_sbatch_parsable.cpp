// libFuzzer target (RTGW_FUZZ=ON builds, clang): must never crash, hang or leak
// on any input. Corpus: corpus/sbatch_parsable/ (replayed by corpus_replay_test.cpp in ctest).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/slurm/slurm_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)rtgw::agent::slurm::ParseSbatchParsable(text);
  (void)rtgw::agent::slurm::ParseScontrolConfig(text);
  return 0;
}
