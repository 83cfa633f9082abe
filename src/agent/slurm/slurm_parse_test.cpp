#include "agent/slurm/slurm_parse.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace rtgw::agent::slurm {
namespace {

// Captured from slurmctld 22.05.8 on the test machine (scripts/services/slurm-up.sh).
std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(RTGW_SLURM_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SlurmParseTest, ScontrolShowJobAllCaptured) {
  auto jobs = ParseScontrolJobs(ReadTestdata("scontrol_show_job_all.txt"));
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 6u);
  const SlurmJob& ok = (*jobs)[0];
  EXPECT_EQ(ok.job_id, "1");
  EXPECT_EQ(ok.name, "rtgw-s1");
  EXPECT_EQ(ok.comment, "rtgw:s1");
  EXPECT_EQ(ok.state, "COMPLETED");
  EXPECT_EQ(ok.partition, "debug");
  EXPECT_EQ(ok.exit_code, 0);
  const SlurmJob& failed = (*jobs)[1];
  EXPECT_EQ(failed.state, "FAILED");
  EXPECT_EQ(failed.reason, "NonZeroExitCode");
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_EQ(failed.signal, 0);
  const SlurmJob& cancelled = (*jobs)[2];
  EXPECT_EQ(cancelled.state, "CANCELLED");
  EXPECT_EQ(cancelled.signal, 15);
  EXPECT_EQ((*jobs)[3].reason, "JobLaunchFailure");
  EXPECT_EQ((*jobs)[3].signal, 9);
  EXPECT_EQ((*jobs)[4].state, "RUNNING");
}

TEST(SlurmParseTest, PendingJobFromAScriptFile) {
  auto jobs = ParseScontrolJobs(ReadTestdata("scontrol_show_job_pending_file.txt"));
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].state, "PENDING");
  EXPECT_EQ((*jobs)[0].reason, "Resources");
  EXPECT_EQ((*jobs)[0].comment, "rtgw:s7");
  EXPECT_EQ((*jobs)[0].name, "rtgw-file");
}

TEST(SlurmParseTest, TimeoutJob) {
  auto jobs = ParseScontrolJobs(ReadTestdata("scontrol_show_job_timeout.txt"));
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].state, "TIMEOUT");
  EXPECT_EQ((*jobs)[0].reason, "TimeLimit");
}

TEST(SlurmParseTest, NoJobsInTheSystem) {
  auto jobs = ParseScontrolJobs(ReadTestdata("scontrol_show_job_empty.txt"));
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());
  EXPECT_TRUE(ParseScontrolJobs("").ok());
}

TEST(SlurmParseTest, BadExitCodeIsAnErrorNotAGuess) {
  EXPECT_FALSE(ParseScontrolJobs("JobId=1 JobName=x JobState=FAILED ExitCode=x:0\n").ok());
  EXPECT_FALSE(ParseScontrolJobs("JobId=1 JobName=x JobState=FAILED\n").ok());
  EXPECT_FALSE(ParseScontrolJobs("JobId=1 JobName=x ExitCode=0:0\n").ok());
  EXPECT_FALSE(ParseScontrolJobs("JobId=abc JobState=RUNNING ExitCode=0:0\n").ok());
}

TEST(SlurmParseTest, ValuesWithSpacesStayWithTheirKey) {
  auto kv = SplitKeyValueLine("JobId=5 WorkDir=/tmp/a b c Comment=x  StdErr=/dev/null");
  ASSERT_EQ(kv.size(), 4u);
  EXPECT_EQ(kv[1].first, "WorkDir");
  EXPECT_EQ(kv[1].second, "/tmp/a b c");
  EXPECT_EQ(kv[2].second, "x");
  auto tres = SplitKeyValueLine("TRES=cpu=1,mem=2G AllocNode:Sid=localhost:1");
  ASSERT_EQ(tres.size(), 2u);
  EXPECT_EQ(tres[0].second, "cpu=1,mem=2G");
  EXPECT_EQ(tres[1].first, "AllocNode:Sid");
}

TEST(SlurmParseTest, SbatchParsable) {
  EXPECT_EQ(*ParseSbatchParsable("42\n"), "42");
  EXPECT_EQ(*ParseSbatchParsable("42;cluster\n"), "42");
  EXPECT_EQ(*ParseSbatchParsable("sbatch: warning: x\n17\n"), "17");
  EXPECT_FALSE(ParseSbatchParsable("").ok());
  EXPECT_FALSE(ParseSbatchParsable("Submitted batch job 4\n").ok());
  EXPECT_FALSE(ParseSbatchParsable("0\n").ok());
  EXPECT_FALSE(ParseSbatchParsable("-3\n").ok());
}

TEST(SlurmParseTest, SlurmMinutes) {
  EXPECT_EQ(**ParseSlurmMinutes("1:00:00"), 60);
  EXPECT_EQ(**ParseSlurmMinutes("01:00:00"), 60);
  EXPECT_EQ(**ParseSlurmMinutes("1-00:00:00"), 1440);
  EXPECT_EQ(**ParseSlurmMinutes("2-03"), 2 * 1440 + 180);
  EXPECT_EQ(**ParseSlurmMinutes("30"), 30);
  EXPECT_EQ(**ParseSlurmMinutes("5:30"), 6);  // MM:SS rounds up
  EXPECT_FALSE(ParseSlurmMinutes("UNLIMITED")->has_value());
  EXPECT_FALSE(ParseSlurmMinutes("infinite")->has_value());
  EXPECT_FALSE(ParseSlurmMinutes("").ok());
  EXPECT_FALSE(ParseSlurmMinutes("1:2:3:4").ok());
  EXPECT_FALSE(ParseSlurmMinutes("a-1").ok());
  EXPECT_FALSE(ParseSlurmMinutes("-5").ok());
}

TEST(SlurmParseTest, SinfoCaptured) {
  auto parts = ParseSinfoPartitions(ReadTestdata("sinfo_partitions.txt"));
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "debug");
  EXPECT_TRUE((*parts)[0].is_default);
  EXPECT_EQ((*parts)[0].state, "up");
  EXPECT_EQ((*parts)[0].max_time_minutes, 60);
  EXPECT_EQ((*parts)[0].total_nodes, 1);
  EXPECT_EQ((*parts)[0].idle_nodes, 0);
  EXPECT_EQ((*parts)[0].total_cpus, 2);
  EXPECT_EQ((*parts)[0].idle_cpus, 1);
  EXPECT_EQ((*parts)[1].name, "long");
  EXPECT_FALSE((*parts)[1].is_default);
  EXPECT_EQ((*parts)[1].max_time_minutes, 1440);
}

TEST(SlurmParseTest, SinfoRejectsMalformed) {
  EXPECT_FALSE(ParseSinfoPartitions("debug|up|1:00:00|1/0/0\n").ok());
  EXPECT_FALSE(ParseSinfoPartitions("*|up|1:00:00|1/0/0/1|1/1/0/2\n").ok());
  EXPECT_FALSE(ParseSinfoPartitions("debug|up|soon|1/0/0/1|1/1/0/2\n").ok());
  auto unlimited = ParseSinfoPartitions("big|up|infinite|0/4/0/4|0/8/0/8\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE((*unlimited)[0].max_time_minutes.has_value());
}

TEST(SlurmParseTest, ScontrolConfigCaptured) {
  auto cfg = ParseScontrolConfig(ReadTestdata("scontrol_show_config.txt"));
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->version, "22.05.8");
  EXPECT_EQ(cfg->cluster, "rtgw");
  EXPECT_EQ(cfg->min_job_age_seconds, 600);
  EXPECT_FALSE(ParseScontrolConfig("nothing here").ok());
}

}  // namespace
}  // namespace rtgw::agent::slurm
