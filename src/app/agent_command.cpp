// `rtgw agent`: the management-node process (docs/agent.md).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "agent/core/agent.hpp"
#include "agent/core/agent_config.hpp"
#include "agent/core/validator_programs.hpp"
#include "agent/executor/local_executor.hpp"
#include "agent/executor/slurm_executor.hpp"
#include "agent/journal/journal.hpp"
#include "agent/slurm/cli_slurm_client.hpp"
#include "app/commands.hpp"
#include "auth/jws_signer.hpp"
#include "common/logging.hpp"
#include "common/read_file.hpp"

namespace rtgw::app {
namespace {

constexpr const char* kAgentUsage =
    "rtgw agent --gateway-url URL --node-id ID --token-file FILE [options]";
constexpr const char* kAgentDescription =
    "Runs on a management node: leases this node's jobs from the gateway, renders a batch script\n"
    "from payload_ref, resource_shape and the resolved queue mapping, submits it (sbatch, or a\n"
    "child process with --executor local), watches every job with one batched query per poll\n"
    "cycle, and posts lifecycle events with deterministic ids (<submission_id>:<state>).\n"
    "A local SQLite journal records the intent before every sbatch and every event before it is\n"
    "sent, so kill -9 and gateway outages lose nothing and never duplicate a Slurm job.\n"
    "SIGTERM/SIGINT: stop leasing, give back unsubmitted leases, flush events, exit 0.\n"
    "Protocol: docs/contracts/agent-protocol.md. Configuration and payloads: docs/agent.md.\n"
    "Every option can also be set with the environment variable shown.";

int Fail(const std::string& message) {
  std::fprintf(stderr, "rtgw agent: %s\n", message.c_str());
  return 2;
}

}  // namespace

int RunAgent(const std::vector<std::string>& args) {
  if (config::PrintHelpIfAsked(args, kAgentUsage, kAgentDescription, agent::AgentOptionSpecs())) {
    return 0;
  }
  auto values = config::ParseOptionsOrReport("rtgw agent", args, agent::AgentOptionSpecs());
  if (!values) return 2;
  auto cfg_or = agent::BuildAgentConfig(*values);
  if (!cfg_or) return Fail(cfg_or.error().message);
  agent::AgentConfig cfg = std::move(cfg_or).value();
  Logger::Configure(cfg.log_format, cfg.log_level);

  std::error_code ec;
  std::filesystem::create_directories(cfg.work_dir, ec);
  if (ec)
    return Fail("--work-dir / RTGW_AGENT_WORK_DIR: cannot create " + cfg.work_dir + ": " +
                ec.message());
  const std::string work_dir = std::filesystem::absolute(cfg.work_dir).lexically_normal().string();

  agent::RenderOptions render;
  render.payload_dirs = cfg.payload_dirs;
  if (!cfg.validators_file.empty()) {
    // Validator jobs: this node's programs, and its key for the jobs' callback ID tokens.
    const std::optional<std::string> text = ReadFileText(cfg.validators_file);
    if (!text)
      return Fail("--validators-file / RTGW_AGENT_VALIDATORS_FILE: cannot read " +
                  cfg.validators_file);
    auto programs = agent::ParseValidatorPrograms(*text);
    if (!programs) {
      return Fail("--validators-file / RTGW_AGENT_VALIDATORS_FILE: " + programs.error().message);
    }
    auto signer = auth::JwsSigner::FromPemFile(cfg.validator_key_file, cfg.validator_key_id);
    if (!signer)
      return Fail("--validator-key / RTGW_AGENT_VALIDATOR_KEY: " + signer.error().message);
    render.validator_programs = std::move(programs).value();
    agent::ValidatorTokenOptions topts;
    topts.issuer = cfg.validator_token_issuer;
    topts.service_account = cfg.validator_service_account;
    topts.node_id = cfg.node_id;
    topts.dir = work_dir + "/validator-tokens";
    render.validator_token = agent::MakeValidatorTokenWriter(
        std::shared_ptr<const auth::JwsSigner>(std::move(signer).value()), topts);
  }
  std::shared_ptr<agent::Executor> executor;
  if (cfg.executor == "slurm") {
    agent::slurm::CliSlurmOptions so;
    so.bin_dir = cfg.slurm_bin_dir;
    so.timeout = cfg.slurm_timeout;
    auto client = std::make_shared<agent::slurm::CliSlurmClient>(so);
    auto info = client->Describe();
    if (!info.ok()) {
      // Not fatal: Slurm may come up later. The agent does not heartbeat until it can
      // describe the cluster, so the gateway sees this node as stale meanwhile.
      LogWarn("slurm is not reachable at start-up", {{"error", info.error().message}});
    }
    executor = std::make_shared<agent::SlurmExecutor>(client, render, work_dir);
    if (info.ok()) (void)executor->Describe();
  } else {
    executor = std::make_shared<agent::LocalExecutor>(work_dir, render);
  }

  auto journal = agent::Journal::Open(cfg.journal_path);
  if (!journal) {
    return Fail("--journal / RTGW_AGENT_JOURNAL: cannot open " + cfg.journal_path + ": " +
                journal.error().message);
  }

  // Signals are taken by one thread with sigwait; every other thread blocks them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  agent::Agent agent(cfg, std::move(*journal), executor, kVersion);
  std::atomic<bool> done{false};
  std::thread signals([&] {
    const timespec tick{0, 200'000'000};
    while (!done) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        LogInfo("signal received; shutting down", {{"signal", sig}});
        agent.Stop();
        return;
      }
    }
  });
  const int rc = agent.Run();
  done = true;
  signals.join();
  return rc;
}

}  // namespace rtgw::app
