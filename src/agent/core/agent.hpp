#ifndef RTGW_AGENT_CORE_AGENT_HPP_
#define RTGW_AGENT_CORE_AGENT_HPP_

// `rtgw agent`: leases work from the gateway, submits it to an Executor,
// watches it with one batched backend query per poll cycle, and delivers
// lifecycle events through the journal (docs/agent.md, docs/contracts/agent-protocol.md).
//
// Threads (all owned by Run()):
//   lease     leases:acquire long poll -> journal -> Submit; cancellations -> Cancel
//   watch     every poll interval: ONE Snapshot(), reconcile every active job
//   sender    delivers journaled events in order, retrying with backoff + jitter
//   keeper    heartbeat with the catalogue; renews leases that are still held
// Submission, reconciliation and duplicate safety live in JobRunner.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>

#include "agent/core/agent_config.hpp"
#include "agent/core/job_runner.hpp"
#include "agent/executor/executor.hpp"
#include "agent/gateway_client/gateway_client.hpp"
#include "agent/journal/journal.hpp"

namespace rtgw::agent {

class Agent {
 public:
  Agent(AgentConfig config, std::unique_ptr<Journal> journal, std::shared_ptr<Executor> executor,
        std::string agent_version);
  ~Agent();

  // Runs until Stop(); then releases unsubmitted leases and flushes events for at
  // most shutdown_timeout. Returns the process exit code.
  int Run();
  // Thread-safe; returns at once.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;

  void LeaseLoop();
  void WatchLoop();
  void SenderLoop();
  void KeeperLoop();

  void HandleLease(const Lease& lease);
  void DropLeasesOf(const std::string& submission_id);
  std::chrono::milliseconds Backoff(int attempt);  // thread-safe
  // Sleeps up to `d`, waking early on Stop().
  void SleepFor(std::chrono::milliseconds d);

  AgentConfig config_;
  std::unique_ptr<Journal> journal_;
  std::shared_ptr<Executor> executor_;
  std::string version_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<GatewayClient> gateway_;         // lease + keeper; aborted by Stop()
  std::unique_ptr<GatewayClient> events_gateway_;  // sender; not aborted, so it can flush

  std::mutex mu_;  // guards the members below and the condition variable
  std::condition_variable cv_;
  struct HeldLease {
    std::string submission_id;
    Clock::time_point renewed;
  };
  std::map<std::string, HeldLease> held_leases_;  // lease_id -> held lease
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
  std::unique_ptr<JobRunner> runner_;
};

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_CORE_AGENT_HPP_
