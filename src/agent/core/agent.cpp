#include "agent/core/agent.hpp"

#include <signal.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "agent/core/event_body.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"

namespace rtgw::agent {

Agent::Agent(AgentConfig config, std::unique_ptr<Journal> journal,
             std::shared_ptr<Executor> executor, std::string agent_version)
    : config_(std::move(config)),
      journal_(std::move(journal)),
      executor_(std::move(executor)),
      version_(std::move(agent_version)) {
  GatewayClientOptions o;
  o.base_url = config_.gateway_url;
  o.node_id = config_.node_id;
  o.token = config_.token;
  events_gateway_ = std::make_unique<GatewayClient>(o);
  o.abort = &stopping_;
  gateway_ = std::make_unique<GatewayClient>(o);
  std::uint64_t seed;
  FillRandom(&seed, sizeof seed);
  rng_.seed(seed);
  std::error_code ec;
  JobRunner::Options ro;
  ro.work_dir = std::filesystem::absolute(config_.work_dir, ec).lexically_normal().string();
  ro.crash_point = config_.test_crash_point;
  runner_ =
      std::make_unique<JobRunner>(journal_.get(), executor_, ro, [this] { cv_.notify_all(); });
}

Agent::~Agent() = default;

void Agent::Stop() {
  stopping_ = true;
  cv_.notify_all();
}

void Agent::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(); });
}

std::chrono::milliseconds Agent::Backoff(int attempt) {
  std::lock_guard lock(rng_mu_);
  return BackoffDelay(attempt, config_.backoff_initial, config_.backoff_max, rng_);
}

void Agent::DropLeasesOf(const std::string& sid) {
  std::lock_guard lock(mu_);
  for (auto l = held_leases_.begin(); l != held_leases_.end();) {
    l = l->second.submission_id == sid ? held_leases_.erase(l) : std::next(l);
  }
}

void Agent::HandleLease(const Lease& lease) {
  const JobSpec& spec = lease.spec;
  LogInfo("lease acquired", {{"trace_id", spec.trace_id},
                             {"tenant_id", spec.tenant_id},
                             {"job_id", spec.job_id},
                             {"submission_id", spec.submission_id},
                             {"lease_id", lease.lease_id},
                             {"partition", spec.partition}});
  {
    std::lock_guard lock(mu_);
    held_leases_[lease.lease_id] = {spec.submission_id, Clock::now()};
  }
  if (!config_.partitions.empty() && !spec.partition.empty() &&
      std::find(config_.partitions.begin(), config_.partitions.end(), spec.partition) ==
          config_.partitions.end()) {
    if (journal_->RecordLease(spec, lease.lease_id).ok()) {
      runner_->Refuse(spec, "partition_not_allowed",
                      "partition " + spec.partition + " is not served by node " + config_.node_id);
    }
    DropLeasesOf(spec.submission_id);
    return;
  }
  if (runner_->SubmitLease(spec, lease.lease_id) == JobRunner::SubmitResult::kDone) {
    DropLeasesOf(spec.submission_id);
  }
}

// ---- loops --------------------------------------------------------------------------------

void Agent::LeaseLoop() {
  int failures = 0;
  while (!stopping_) {
    if (runner_->in_flight() >= config_.max_in_flight) {
      SleepFor(config_.poll_interval);
      continue;
    }
    auto r = gateway_->Acquire(config_.max_jobs_per_lease, config_.lease_wait_seconds,
                               config_.lease_seconds);
    if (stopping_) break;
    if (!r.ok()) {
      ++failures;
      const auto delay = Backoff(failures);
      LogWarn("leases:acquire failed", {{"error", r.error().message},
                                        {"retry_in_ms", static_cast<long long>(delay.count())}});
      SleepFor(delay);
      continue;
    }
    failures = 0;
    for (const std::string& id : r->malformed_lease_ids) {
      LogError("malformed lease; releasing it", {{"lease_id", id}});
      (void)gateway_->Release(id);
    }
    for (const Cancellation& c : r->cancellations) runner_->Cancel(c.submission_id);
    for (const Lease& l : r->leases) {
      if (stopping_) {
        (void)gateway_->Release(l.lease_id);
        continue;
      }
      HandleLease(l);
    }
  }
}

void Agent::WatchLoop() {
  Clock::time_point next_prune = Clock::now();
  while (!stopping_) {
    runner_->Reconcile();
    if (Clock::now() >= next_prune) {
      next_prune = Clock::now() + std::chrono::hours(1);
      const auto cutoff = std::chrono::system_clock::now() - config_.journal_retention;
      auto pruned = journal_->Prune(
          std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count());
      if (pruned.ok() && *pruned > 0)
        LogInfo("journal pruned", {{"jobs_removed", static_cast<long long>(*pruned)}});
    }
    // Leases of jobs that reached the backend (or were refused) are no longer held.
    std::vector<std::string> sids;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, held] : held_leases_) sids.push_back(held.submission_id);
    }
    for (const std::string& sid : sids) {
      auto row = journal_->Get(sid);
      if (row.ok() && row->has_value() && (*row)->phase != JournalPhase::kLeased &&
          (*row)->phase != JournalPhase::kSubmitting) {
        DropLeasesOf(sid);
      }
    }
    SleepFor(config_.poll_interval);
  }
}

void Agent::SenderLoop() {
  std::optional<Clock::time_point> deadline;
  while (true) {
    if (stopping_ && !deadline) deadline = Clock::now() + config_.shutdown_timeout;
    if (deadline && Clock::now() >= *deadline) break;
    auto due = journal_->DueEvents(UnixNow<std::chrono::milliseconds>(), 100);
    if (!due.ok()) {
      LogError("journal read failed", {{"error", due.error().message}});
      SleepFor(std::chrono::milliseconds(500));
      continue;
    }
    if (due->empty()) {
      if (stopping_) {
        auto left = journal_->UndeliveredCount();
        if (left.ok() && *left == 0) break;
        // Only events waiting for their backoff remain: wait a little, within the deadline.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    std::set<std::string> blocked;  // jobs whose earlier event failed: keep per-job order
    for (const JournalEvent& e : *due) {
      if (blocked.count(e.job_id) != 0) continue;
      net::HttpResponse r = events_gateway_->PostEvent(e.job_id, e.body);
      switch (ClassifyDelivery(r.status)) {
        case Delivery::kDelivered:
          (void)journal_->MarkDelivered(e.event_id, UnixNow<std::chrono::milliseconds>());
          LogInfo("event delivered", {{"event_id", e.event_id},
                                      {"job_id", e.job_id},
                                      {"http_status", static_cast<long long>(r.status)},
                                      {"attempts", e.attempts + 1}});
          break;
        case Delivery::kRetry: {
          const auto delay = Backoff(e.attempts + 1);
          (void)journal_->MarkRetry(e.event_id, e.attempts + 1,
                                    UnixNow<std::chrono::milliseconds>() + delay.count());
          blocked.insert(e.job_id);
          LogWarn("event not delivered; will retry",
                  {{"event_id", e.event_id},
                   {"http_status", static_cast<long long>(r.status)},
                   {"error", r.status == 0 ? r.error : r.body.substr(0, 300)},
                   {"attempt", e.attempts + 1},
                   {"retry_in_ms", static_cast<long long>(delay.count())}});
          break;
        }
        case Delivery::kPermanent:
          if (r.status == 409 && r.body.find("event_conflict") != std::string::npos) {
            // The gateway already holds an event with this deterministic id for this job, so it
            // came from us (re-derived after a power loss dropped the journal's copy, with
            // another occurred_at): the state is known there. Count it as delivered.
            (void)journal_->MarkDelivered(e.event_id, UnixNow<std::chrono::milliseconds>());
            LogWarn("event already recorded by the gateway with another body; treated as delivered",
                    {{"event_id", e.event_id}, {"job_id", e.job_id}});
            break;
          }
          (void)journal_->MarkDead(
              e.event_id, "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 500));
          LogError("event refused by the gateway; kept in the journal, not retried",
                   {{"event_id", e.event_id},
                    {"job_id", e.job_id},
                    {"http_status", static_cast<long long>(r.status)},
                    {"body", r.body.substr(0, 300)}});
          break;
      }
      if (r.status == 0) break;  // gateway unreachable: stop this round
    }
  }
}

void Agent::KeeperLoop() {
  Clock::time_point next_heartbeat = Clock::now();
  int hb_failures = 0;
  while (!stopping_) {
    const auto now = Clock::now();
    if (now >= next_heartbeat) {
      auto info = executor_->Describe();
      if (!info.ok()) {
        LogWarn("catalogue unavailable", {{"error", info.error().message}});
      }
      const std::string body = BuildHeartbeatBody(
          version_, executor_->name(), info.ok() ? *info : std::optional<slurm::ClusterInfo>(),
          config_.partitions, runner_->in_flight());
      // Without a catalogue (Slurm down) no heartbeat is sent: the gateway sees the node
      // go stale rather than a catalogue that is not true.
      if (info.ok()) {
        net::HttpResponse r = gateway_->Heartbeat(body);
        if (r.status == 200) {
          hb_failures = 0;
        } else {
          ++hb_failures;
          LogWarn("heartbeat failed", {{"http_status", static_cast<long long>(r.status)},
                                       {"error", r.status == 0 ? r.error : r.body.substr(0, 300)}});
        }
      }
      next_heartbeat =
          Clock::now() + (hb_failures == 0 ? config_.heartbeat_interval
                                           : std::min<std::chrono::milliseconds>(
                                                 config_.heartbeat_interval, Backoff(hb_failures)));
    }
    std::vector<std::pair<std::string, std::string>> to_renew;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, held] : held_leases_) {
        if (now - held.renewed >= std::chrono::seconds(config_.lease_seconds) / 3) {
          to_renew.emplace_back(id, held.submission_id);
        }
      }
    }
    for (const auto& [id, sid] : to_renew) {
      net::HttpResponse r = gateway_->Renew(id, config_.lease_seconds);
      std::lock_guard lock(mu_);
      if (r.status == 200) {
        auto it = held_leases_.find(id);
        if (it != held_leases_.end()) it->second.renewed = Clock::now();
      } else if (r.status == 409 || r.status == 404) {
        held_leases_.erase(id);  // lease_lost: the job left submitted, or the lease was re-granted
      }
    }
    SleepFor(std::chrono::milliseconds(250));
  }
}

int Agent::Run() {
  if (Status st = journal_->ReannounceInFlight(); !st.ok()) {
    LogError("journal: cannot re-announce in-flight jobs", {{"error", st.error().message}});
  }
  auto active = journal_->Active();
  LogInfo("agent starting",
          {{"node_id", config_.node_id},
           {"executor", executor_->name()},
           {"gateway_url", config_.gateway_url},
           {"journal", config_.journal_path},
           {"in_flight", active.ok() ? static_cast<long long>(active->size()) : -1LL}});
  std::thread sender([this] { SenderLoop(); });
  std::thread keeper([this] { KeeperLoop(); });
  std::thread watch([this] { WatchLoop(); });
  std::thread lease([this] { LeaseLoop(); });
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopping_.load(); });
  }
  LogInfo("agent stopping: no new leases", {{"node_id", config_.node_id}});
  lease.join();
  watch.join();
  keeper.join();
  // Give back the leases of jobs that never reached sbatch.
  std::map<std::string, HeldLease> held;
  {
    std::lock_guard lock(mu_);
    held.swap(held_leases_);
  }
  // gateway_ aborts every call now that stopping_ is set: use a client without the flag.
  GatewayClientOptions o;
  o.base_url = config_.gateway_url;
  o.node_id = config_.node_id;
  o.token = config_.token;
  o.request_timeout = std::chrono::milliseconds(3000);
  GatewayClient last(o);
  int released = 0;
  for (const auto& [lease_id, h] : held) {
    auto row = journal_->Get(h.submission_id);
    if (row.ok() && row->has_value() && (*row)->phase == JournalPhase::kLeased) {
      net::HttpResponse r = last.Release(lease_id);
      if (r.status == 200) {
        (void)journal_->MarkReleased(h.submission_id);
        ++released;
      }
    }
  }
  sender.join();
  auto left = journal_->UndeliveredCount();
  LogInfo("agent stopped",
          {{"leases_released", released},
           {"events_undelivered", left.ok() ? static_cast<long long>(*left) : -1LL}});
  return 0;
}

}  // namespace rtgw::agent
