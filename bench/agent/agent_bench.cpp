// Agent benchmark on the real slurmctld (scripts/services/slurm-up.sh); not a test.
//   ninja -C build/release rtgw_agent_bench && ./build/release/bench/agent/rtgw_agent_bench
// 1. submit throughput: a bare `sbatch --parsable` loop vs the agent's submit path for a lease
//    (JobRunner::SubmitLease: fsync'd intent, render, sbatch, Slurm id + queued event), same
//    slurmctld, same number of jobs, sequential (one lease thread submits sequentially too).
// 2. Slurm calls and wall time per poll cycle with 10, 100, 1000 jobs in flight.
// Prints a Markdown table. Cancels everything it submitted.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/core/job_runner.hpp"
#include "agent/executor/slurm_executor.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "process/process.hpp"

using namespace rtgw;
using namespace rtgw::agent;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void CancelAll(const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < ids.size(); i += 200) {
    std::vector<std::string> argv = {"scancel"};
    for (std::size_t j = i; j < ids.size() && j < i + 200; ++j) argv.push_back(ids[j]);
    (void)process::Run({.argv = argv});
  }
}

JobSpec Spec(const std::string& uri) {
  JobSpec s;
  s.submission_id = NewUuidV4();
  s.job_id = "bench-" + s.submission_id.substr(0, 8);
  s.tenant_id = "bench";
  s.workspace_id = "bench";
  s.cpu = 1;
  s.memory_mib = 16;
  s.walltime_seconds = 600;
  s.input_uri = uri;
  s.partition = "debug";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Logger::Configure(LogFormat::kJson, LogLevel::kError);
  const int n_submit = argc > 1 ? std::atoi(argv[1]) : 200;
  const auto dir = std::filesystem::temp_directory_path() / ("rtgw-agent-bench-" + RandomHex(4));
  std::filesystem::create_directories(dir);

  // 1a. bare sbatch loop
  std::vector<std::string> bare_ids;
  auto t0 = Clock::now();
  for (int i = 0; i < n_submit; ++i) {
    auto r = process::Run({.argv = {"sbatch", "--parsable", "-p", "debug", "-o", "/dev/null",
                                    "--time=10", "--mem=16M", "--wrap", "sleep 600"}});
    if (r.ok() && r->status.exit_code == 0) bare_ids.push_back(r->out.substr(0, r->out.find('\n')));
  }
  const double bare_s = Seconds(Clock::now() - t0);
  CancelAll(bare_ids);

  // 1b. the agent's submit path, the same workload (sleep 600: two run, the rest pend)
  auto journal = Journal::Open((dir / "journal.db").string()).value();
  auto client = std::make_shared<slurm::CliSlurmClient>(slurm::CliSlurmOptions{});
  auto executor = std::make_shared<SlurmExecutor>(client, RenderOptions{}, dir.string());
  (void)executor->Describe();
  JobRunner runner(journal.get(), executor, {dir.string(), ""}, nullptr);
  std::vector<JobSpec> specs;
  for (int i = 0; i < n_submit; ++i) specs.push_back(Spec("inline://bench?sleep=600"));
  t0 = Clock::now();
  for (const auto& s : specs) (void)runner.SubmitLease(s, "lease");
  const double agent_s = Seconds(Clock::now() - t0);
  std::vector<std::string> agent_ids;
  for (const auto& s : specs) agent_ids.push_back((*journal->Get(s.submission_id))->backend_id);
  CancelAll(agent_ids);

  std::printf("## Submit throughput (%d jobs, sequential, same slurmctld)\n\n", n_submit);
  std::printf("| path | jobs/s | ms/job |\n|---|---|---|\n");
  std::printf("| bare `sbatch --parsable` loop | %.1f | %.2f |\n", bare_ids.size() / bare_s,
              1000 * bare_s / bare_ids.size());
  std::printf("| agent submit path (journal + sbatch) | %.1f | %.2f |\n", n_submit / agent_s,
              1000 * agent_s / n_submit);
  std::printf("| ratio agent / bare | %.0f%% | |\n\n",
              100.0 * (n_submit / agent_s) / (bare_ids.size() / bare_s));

  // 2. poll cycle cost vs in-flight jobs
  std::printf(
      "## Poll cycle vs jobs in flight\n\n| in flight | Slurm calls per cycle | ms per cycle "
      "|\n|---|---|---|\n");
  for (int n : {10, 100, 1000}) {
    auto j2 = Journal::Open((dir / ("poll-" + std::to_string(n) + ".db")).string()).value();
    JobRunner r2(j2.get(), executor, {dir.string(), ""}, nullptr);
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      JobSpec s = Spec("inline://poll?sleep=600");
      (void)r2.SubmitLease(s, "lease");
      ids.push_back((*j2->Get(s.submission_id))->backend_id);
    }
    r2.Reconcile();  // settle the queued/running events
    const int cycles = 5;
    const auto calls0 = client->calls();
    t0 = Clock::now();
    for (int c = 0; c < cycles; ++c) r2.Reconcile();
    const double s = Seconds(Clock::now() - t0);
    std::printf("| %d | %.1f | %.1f |\n", n, double(client->calls() - calls0) / cycles,
                1000 * s / cycles);
    std::fflush(stdout);
    CancelAll(ids);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
