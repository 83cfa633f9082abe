// Replays every file of the fuzz corpus (fuzz/corpus/<target>/) through the
// same parser entry points as the libFuzzer targets, under the normal gcc
// build, so crashes found by fuzzing stay fixed (Envoy's corpus practice).
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/slurm/job_observation.hpp"
#include "agent/slurm/slurm_parse.hpp"

namespace rtgw::agent::slurm {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Corpus(const std::string& target) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(RTGW_SLURM_CORPUS) / target)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

TEST(FuzzCorpusReplay, ScontrolJobs) {
  const auto inputs = Corpus("scontrol_jobs");
  ASSERT_FALSE(inputs.empty());
  for (const auto& in : inputs) {
    auto r = ParseScontrolJobs(in);
    if (r.ok()) {
      for (const auto& j : *r) {
        EXPECT_FALSE(j.job_id.empty());
        (void)MapSlurmJob(j);
      }
    }
  }
}

TEST(FuzzCorpusReplay, SinfoPartitions) {
  const auto inputs = Corpus("sinfo_partitions");
  ASSERT_FALSE(inputs.empty());
  for (const auto& in : inputs) {
    auto r = ParseSinfoPartitions(in);
    if (r.ok()) {
      for (const auto& p : *r) EXPECT_FALSE(p.name.empty());
    }
  }
}

TEST(FuzzCorpusReplay, SbatchAndConfig) {
  const auto inputs = Corpus("sbatch_parsable");
  ASSERT_FALSE(inputs.empty());
  for (const auto& in : inputs) {
    auto id = ParseSbatchParsable(in);
    if (id.ok()) {
      EXPECT_FALSE(id->empty());
    }
    (void)ParseScontrolConfig(in);
  }
}

TEST(FuzzCorpusReplay, MinutesAndKeyValues) {
  const auto inputs = Corpus("slurm_minutes");
  ASSERT_FALSE(inputs.empty());
  for (const auto& in : inputs) {
    auto m = ParseSlurmMinutes(in);
    if (m.ok() && m->has_value()) {
      EXPECT_GE(**m, 0);
    }
    (void)SplitKeyValueLine(in);
  }
}

}  // namespace
}  // namespace rtgw::agent::slurm
