// libFuzzer target (RTGW_FUZZ=ON builds, clang): must never crash, hang or leak
// on any input. Corpus: corpus/scontrol_jobs/ (replayed by corpus_replay_test.cpp in ctest).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/slurm/job_observation.hpp"
#include "agent/slurm/slurm_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = rtgw::agent::slurm::ParseScontrolJobs(text);
  if (r.ok()) {
    for (const auto& j : *r) (void)rtgw::agent::MapSlurmJob(j);
  }
  return 0;
}
