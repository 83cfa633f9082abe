#include "agent/executor/batch_script.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"
#include "process/process.hpp"

namespace rtgw::agent {
namespace {

JobSpec Spec() {
  JobSpec s;
  s.submission_id = "0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60";
  s.job_id = "job-1";
  s.tenant_id = "t1";
  s.workspace_id = "w1";
  s.trace_id = "trace-1";
  s.cpu = 2;
  s.memory_mib = 2048;
  s.walltime_seconds = 3601;
  s.input_uri = "inline://demo/x?sleep=0&exit=3";
  s.partition = "debug";
  s.account = "acct";
  s.qos = "normal";
  return s;
}

TEST(BatchScriptTest, DirectivesFromSpecAndMapping) {
  auto s = RenderBatchScript(Spec(), {});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_NE(s->find("#SBATCH --job-name=rtgw-0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60\n"),
            std::string::npos);
  EXPECT_NE(s->find("#SBATCH --comment=rtgw-0b7c6a52-1f0e-4c1e-9d47-2a8f3c1d5e60\n"),
            std::string::npos);
  EXPECT_NE(s->find("#SBATCH --partition=debug\n"), std::string::npos);
  EXPECT_NE(s->find("#SBATCH --account=acct\n"), std::string::npos);
  EXPECT_NE(s->find("#SBATCH --qos=normal\n"), std::string::npos);
  EXPECT_NE(s->find("#SBATCH --time=61\n"), std::string::npos);  // 3601 s rounds up
  EXPECT_NE(s->find("#SBATCH --cpus-per-task=2\n"), std::string::npos);
  EXPECT_NE(s->find("#SBATCH --mem=2048M\n"), std::string::npos);
  EXPECT_EQ(s->rfind("#!/bin/bash\n", 0), 0u);
}

TEST(BatchScriptTest, OptionalDirectivesOmitted) {
  JobSpec spec = Spec();
  spec.partition.clear();
  spec.account.clear();
  spec.qos.clear();
  auto s = RenderBatchScript(spec, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->find("--partition"), std::string::npos);
  EXPECT_EQ(s->find("--account"), std::string::npos);
  EXPECT_EQ(s->find("--qos"), std::string::npos);
}

TEST(BatchScriptTest, UnsafeDirectiveValuesRefused) {
  for (const char* bad : {"de bug", "a\nb", "x;rm", "$(id)", "a'b"}) {
    JobSpec spec = Spec();
    spec.partition = bad;
    auto s = RenderBatchScript(spec, {});
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().api_code, "invalid_job_spec");
  }
  JobSpec spec = Spec();
  spec.cpu = 0;
  EXPECT_FALSE(RenderBatchScript(spec, {}).ok());
}

TEST(BatchScriptTest, HostileStringsAreQuotedAndInert) {
  JobSpec spec = Spec();
  spec.job_id = "x'; touch /tmp/rtgw-pwned; echo '";
  spec.trace_id = "$(touch /tmp/rtgw-pwned)`id`\n\"";
  spec.input_uri = "inline://a'b$(touch /tmp/rtgw-pwned)?sleep=0";
  std::filesystem::remove("/tmp/rtgw-pwned");
  auto s = RenderBatchScript(spec, {});
  ASSERT_TRUE(s.ok()) << s.error().message;
  // Run the variable part (everything up to the payload) and print what bash sees.
  const std::string head = s->substr(0, s->find('\n', s->find("export RTGW_PAYLOAD_URI")) + 1);
  auto r = process::Run(
      {.argv = {"/bin/bash", "-c", head + "printf '%s|%s' \"$RTGW_JOB_ID\" \"$RTGW_TRACE_ID\""}});
  auto full = process::Run({.argv = {"/bin/bash", "-c", *s}});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->status.exit_code, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(std::filesystem::exists("/tmp/rtgw-pwned"));
  EXPECT_NE(r->out.find(spec.job_id + "|" + spec.trace_id), std::string::npos) << r->out;
}

TEST(BatchScriptTest, ShellQuote) {
  EXPECT_EQ(ShellQuote("a"), "'a'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST(BatchScriptTest, InlineDemoPayloadRuns) {
  auto s = RenderBatchScript(Spec(), {});
  ASSERT_TRUE(s.ok());
  auto r = process::Run({.argv = {"/bin/bash", "-c", *s}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.exit_code, 3);
  EXPECT_NE(r->out.find("rtgw demo payload: inline://demo/x?sleep=0&exit=3 (job job-1)"),
            std::string::npos);
}

// Slurm's scancel signals a job's processes one by one. When the demo's sleep gets SIGTERM
// before the shell does, the script must still end by SIGTERM (so Slurm records ExitCode=0:15),
// not run on to `exit E` (seen on a loaded machine as a cancelled job with ExitCode=0:0).
TEST(BatchScriptTest, InlineDemoPayloadEndsByTheSignalThatStoppedIt) {
  for (const int sig : {SIGTERM, SIGKILL}) {
    JobSpec spec = Spec();
    spec.input_uri = "inline://demo/x?sleep=60&exit=0";
    auto s = RenderBatchScript(spec, {});
    ASSERT_TRUE(s.ok());
    auto child =
        process::Spawn({.argv = {"/bin/bash", "-c", *s}, .stderr_stream = process::Stream::Null()});
    ASSERT_TRUE(child.ok()) << child.error().message;
    std::string line;
    for (char c = 0; c != '\n';) {  // the demo's first line: its sleep starts next
      ASSERT_EQ(::read(child->stdout_fd(), &c, 1), 1);
      line += c;
    }
    ASSERT_EQ(line.rfind("rtgw demo payload:", 0), 0u) << line;
    // Only the sleep, as when the shell's own signal is still on its way.
    const std::string parent = std::to_string(child->pid());
    bool sent = false;
    for (int i = 0; i < 100 && !sent; ++i) {
      auto k =
          process::Run({.argv = {"pkill", "-" + std::to_string(sig), "-P", parent, "-x", "sleep"}});
      ASSERT_TRUE(k.ok());
      sent = k->status.exit_code == 0;
      if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(sent) << "the demo's sleep never appeared";
    const process::ExitStatus status = child->Wait();
    EXPECT_EQ(status.term_signal, sig) << "exit code " << status.exit_code;
  }
}

TEST(BatchScriptTest, InlineParametersBounded) {
  EXPECT_FALSE(RenderPayload("inline://x?sleep=-1", {}).ok());
  EXPECT_FALSE(RenderPayload("inline://x?exit=256", {}).ok());
  EXPECT_FALSE(RenderPayload("inline://x?sleep=1;rm", {}).ok());
  EXPECT_TRUE(RenderPayload("inline://gate/job-gate-001", {}).ok());
}

TEST(BatchScriptTest, FilePayloadOnlyInsideAllowedDirs) {
  TempDir tmp("rtgw-payload");
  const std::filesystem::path& dir = tmp.path();
  std::filesystem::create_directories(dir / "ok");
  std::ofstream(dir / "ok" / "job.sh") << "echo from-file\nexit 4\n";
  std::ofstream(dir / "outside.sh") << "echo no\n";
  RenderOptions o;
  o.payload_dirs = {(dir / "ok").string()};
  auto good = RenderPayload("file://" + (dir / "ok" / "job.sh").string(), o);
  ASSERT_TRUE(good.ok()) << good.error().message;
  auto bad = RenderPayload("file://" + (dir / "outside.sh").string(), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().api_code, "payload_not_allowed");
  auto traversal = RenderPayload("file://" + (dir / "ok" / ".." / "outside.sh").string(), o);
  EXPECT_FALSE(traversal.ok());
  EXPECT_FALSE(RenderPayload("file://" + (dir / "ok").string(), o).ok());  // a directory
  EXPECT_FALSE(RenderPayload("file://relative.sh", o).ok());
  EXPECT_FALSE(RenderPayload("s3://bucket/x", o).ok());
  EXPECT_FALSE(RenderPayload("file:///etc/passwd", {}).ok());  // no dirs configured
  JobSpec spec = Spec();
  spec.input_uri = "file://" + (dir / "ok" / "job.sh").string();
  auto script = RenderBatchScript(spec, o);
  ASSERT_TRUE(script.ok());
  auto r = process::Run({.argv = {"/bin/bash", "-c", *script}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.exit_code, 4);
  EXPECT_EQ(r->out, "from-file\n");
}

TEST(BatchScriptTest, WalltimeMinutes) {
  EXPECT_EQ(WalltimeMinutes(1), 1);
  EXPECT_EQ(WalltimeMinutes(60), 1);
  EXPECT_EQ(WalltimeMinutes(61), 2);
  EXPECT_EQ(WalltimeMinutes(3600), 60);
}

}  // namespace
}  // namespace rtgw::agent

namespace rtgw::agent {
namespace {

JobSpec ValidatorSpec() {
  JobSpec s = Spec();
  s.input_uri = "file:///media/validations/t1/vr-1/cb-1/input.json";
  s.validator = ValidatorCall{"json-rules", "1.0.0", "vr-1", "cb-1",
                              "http://gw/internal/validations/callback?x='$(id)'"};
  return s;
}

RenderOptions ValidatorOptions(const std::string& token_file) {
  RenderOptions o;
  o.validator_programs["json-rules@1.0.0"] = {"/usr/bin/env"};
  o.validator_token = [token_file](const JobSpec&) -> Result<std::string> { return token_file; };
  return o;
}

TEST(BatchScriptValidatorTest, RunsTheNodesProgramWithOnlyTheSmallEnv) {
  TempDir tmp("rtgw-validator-token");
  const std::string token = tmp.File("token.jwt");
  std::ofstream(token) << "tok\n";
  auto s = RenderBatchScript(ValidatorSpec(), ValidatorOptions(token));
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto r = process::Run({.argv = {"/bin/bash", "-c", *s}, .env = {"SECRET_OF_THE_AGENT=x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.exit_code, 0) << r->err;
  // `env` prints exactly what the validator gets: the small env, nothing of the agent's.
  std::vector<std::string> lines;
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "CALLBACK_ID=cb-1", "CALLBACK_ID_TOKEN_FILE=" + token,
                "CALLBACK_URL=http://gw/internal/validations/callback?x='$(id)'",
                "INPUT_URI=file:///media/validations/t1/vr-1/cb-1/input.json",
                "PATH=/usr/local/bin:/usr/bin:/bin", "RUN_ID=vr-1", "VALIDATOR_VERSION=1.0.0"}));
  EXPECT_FALSE(std::filesystem::exists(token));  // removed once the program ended
}

TEST(BatchScriptValidatorTest, ExitCodeOfTheProgramIsTheJobs) {
  RenderOptions o = ValidatorOptions("/nonexistent/token");
  o.validator_programs["json-rules@1.0.0"] = {"/bin/sh", "-c", "exit 7"};
  auto s = RenderBatchScript(ValidatorSpec(), o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto r = process::Run({.argv = {"/bin/bash", "-c", *s}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.exit_code, 7);
}

TEST(BatchScriptValidatorTest, RefusesUnknownProgramsMissingKeyAndIncompleteCalls) {
  JobSpec spec = ValidatorSpec();
  spec.validator->version = "2.0.0";
  auto unknown = RenderBatchScript(spec, ValidatorOptions("/t"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().api_code, "unsupported_payload");

  RenderOptions no_key = ValidatorOptions("/t");
  no_key.validator_token = nullptr;
  auto keyless = RenderBatchScript(ValidatorSpec(), no_key);
  ASSERT_FALSE(keyless.ok());
  EXPECT_EQ(keyless.error().api_code, "unsupported_payload");

  JobSpec incomplete = ValidatorSpec();
  incomplete.validator->callback_id.clear();
  EXPECT_EQ(RenderBatchScript(incomplete, ValidatorOptions("/t")).error().api_code,
            "unsupported_payload");
  JobSpec not_http = ValidatorSpec();
  not_http.validator->callback_url = "file:///etc/passwd";
  EXPECT_EQ(RenderBatchScript(not_http, ValidatorOptions("/t")).error().api_code,
            "unsupported_payload");

  RenderOptions failing = ValidatorOptions("/t");
  failing.validator_token = [](const JobSpec&) -> Result<std::string> {
    return Unavailable("disk full");
  };
  EXPECT_EQ(RenderBatchScript(ValidatorSpec(), failing).error().api_code, "submit_rejected");
}

}  // namespace
}  // namespace rtgw::agent
