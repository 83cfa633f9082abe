// libFuzzer target: `scontrol show job --oneliner` output (ParseScontrolJobs)
// and the state mapping of each parsed job. Corpus: corpus/scontrol_jobs/
// (replayed in ctest by corpus_replay.cpp). Property: every parsed job has an id.
#include <cstddef>
#include <cstdint>

#include "agent/slurm/job_observation.hpp"
#include "agent/slurm/slurm_parse.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto jobs = rtgw::agent::slurm::ParseScontrolJobs(rtgw::fuzz::AsText(data, size));
  if (jobs.ok()) {
    for (const auto& job : *jobs) {
      rtgw::fuzz::Require(!job.job_id.empty(), "a parsed scontrol job has an id");
      (void)rtgw::agent::MapSlurmJob(job);
    }
  }
  return 0;
}
