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
namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Rank(const std::string& state) {
  if (state == "queued") return 1;
  if (state == "running") return 2;
  if (state == "completed" || state == "failed" || state == "cancelled") return 3;
  return 0;
}

}  // namespace

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

bool Agent::TryBusy(const std::string& sid) {
  std::lock_guard lock(mu_);
  return busy_.insert(sid).second;
}

void Agent::ReleaseBusy(const std::string& sid) {
  std::lock_guard lock(mu_);
  busy_.erase(sid);
}

std::string Agent::OutputUri(const std::string& submission_id) const {
  std::error_code ec;
  const auto dir = std::filesystem::absolute(config_.work_dir, ec).lexically_normal();
  if (executor_->name() == "local") {
    return "file://" + (dir / BackendTag(submission_id) / "out").string();
  }
  return "file://" + (dir / (BackendTag(submission_id) + ".out")).string();
}

void Agent::Record(const JobSpec& spec, const std::string& state, const std::string& backend_id,
                   const JobObservation* obs, bool terminal) {
  const std::string body =
      BuildEventBody(spec, state, backend_id, FormatRfc3339(std::chrono::system_clock::now()), obs,
                     state == "completed" ? OutputUri(spec.submission_id) : "");
  Status st = journal_->RecordEvent(spec.submission_id, state, body, terminal);
  if (!st.ok()) {
    LogError(
        "journal write failed",
        {{"submission_id", spec.submission_id}, {"state", state}, {"error", st.error().message}});
    return;
  }
  LogInfo("job state", {{"trace_id", spec.trace_id},
                        {"tenant_id", spec.tenant_id},
                        {"job_id", spec.job_id},
                        {"submission_id", spec.submission_id},
                        {"execution_id", backend_id},
                        {"state", state},
                        {"error_code", obs != nullptr ? obs->error_code : std::string()}});
  cv_.notify_all();  // wake the sender
}

// ---- submission ---------------------------------------------------------------------------

void Agent::SubmitOne(const std::string& sid) {
  if (!TryBusy(sid)) return;
  struct Guard {
    Agent* a;
    const std::string& sid;
    ~Guard() { a->ReleaseBusy(sid); }
  } guard{this, sid};

  auto row_or = journal_->Get(sid);
  if (!row_or.ok() || !row_or->has_value()) return;
  JournalJob job = std::move(**row_or);
  if (job.phase != JournalPhase::kLeased && job.phase != JournalPhase::kSubmitting) return;

  if (job.phase == JournalPhase::kSubmitting) {
    // A previous attempt's outcome is unknown (crash, timeout): look it up by tag first.
    // The snapshot is taken now, after that attempt ended (its sbatch died with the old
    // process, or returned in this one), so a job it created is in it.
    auto snap = executor_->Snapshot();
    if (!snap.ok()) {
      LogWarn("backend snapshot failed; submission deferred",
              {{"submission_id", sid}, {"error", snap.error().message}});
      return;
    }
    auto it = snap->id_by_tag.find(BackendTag(sid));
    if (it != snap->id_by_tag.end()) {
      LogInfo("found earlier submission by tag; not submitting again",
              {{"submission_id", sid}, {"execution_id", it->second}, {"job_id", job.spec.job_id}});
      (void)journal_->MarkSubmitted(sid, it->second);
      Record(job.spec, "queued", it->second, nullptr, false);
      std::lock_guard lock(mu_);
      for (auto l = held_leases_.begin(); l != held_leases_.end();) {
        l = l->second.submission_id == sid ? held_leases_.erase(l) : std::next(l);
      }
      return;
    }
    const auto window = executor_->visibility_window();
    if (NowMs() - job.intent_at_ms >
        std::chrono::duration_cast<std::chrono::milliseconds>(window).count() - 30'000) {
      // It may have run and been purged: we cannot know. Never guess; never resubmit.
      JobObservation lost = VanishedJob("(unknown)");
      lost.message =
          "an earlier submission attempt may have created a job that is no longer "
          "visible to the backend; not resubmitting";
      Record(job.spec, "failed", "", &lost, true);
      return;
    }
  }

  if (Status st = journal_->MarkSubmitting(sid, NowMs()); !st.ok()) {
    LogError("journal: cannot record intent; not submitting",
             {{"submission_id", sid}, {"error", st.error().message}});
    return;
  }
  {
    std::lock_guard lock(mu_);
    sbatch_started_[sid] = Clock::now();
  }
  SubmitOutcome out = executor_->Submit(job.spec);
  if (out.kind == SubmitOutcome::Kind::kSubmitted && config_.test_crash_point == "after-sbatch") {
    ::raise(SIGKILL);  // test hook: die between sbatch and the journal update
  }
  switch (out.kind) {
    case SubmitOutcome::Kind::kSubmitted: {
      if (Status st = journal_->MarkSubmitted(sid, out.backend_id); !st.ok()) {
        LogError("journal: cannot record the backend id (the tag lookup will find it)",
                 {{"submission_id", sid}, {"error", st.error().message}});
        return;
      }
      Record(job.spec, "queued", out.backend_id, nullptr, false);
      break;
    }
    case SubmitOutcome::Kind::kRejected: {
      JobObservation rejected;
      rejected.phase = JobPhase::kFailed;
      rejected.error_code = out.error_code.empty() ? "submit_rejected" : out.error_code;
      rejected.message = out.message;
      Record(job.spec, "failed", "", &rejected, true);
      break;
    }
    case SubmitOutcome::Kind::kUnknown:
      LogWarn("submission outcome unknown; will look it up by tag and retry",
              {{"submission_id", sid}, {"job_id", job.spec.job_id}, {"error", out.message}});
      return;  // lease stays held (and renewed); phase stays submitting
  }
  std::lock_guard lock(mu_);
  for (auto l = held_leases_.begin(); l != held_leases_.end();) {
    l = l->second.submission_id == sid ? held_leases_.erase(l) : std::next(l);
  }
}

void Agent::HandleLease(const Lease& lease) {
  const JobSpec& spec = lease.spec;
  auto row = journal_->RecordLease(spec, lease.lease_id);
  if (!row.ok()) {
    LogError("journal: cannot record lease; releasing it",
             {{"submission_id", spec.submission_id}, {"error", row.error().message}});
    (void)gateway_->Release(lease.lease_id);
    return;
  }
  LogInfo("lease acquired", {{"trace_id", spec.trace_id},
                             {"job_id", spec.job_id},
                             {"submission_id", spec.submission_id},
                             {"lease_id", lease.lease_id},
                             {"phase", std::string(ToString(row->phase))},
                             {"partition", spec.partition}});
  if (row->phase != JournalPhase::kLeased && row->phase != JournalPhase::kSubmitting) return;
  {
    std::lock_guard lock(mu_);
    held_leases_[lease.lease_id] = {spec.submission_id, Clock::now()};
  }
  if (!config_.partitions.empty() && !spec.partition.empty() &&
      std::find(config_.partitions.begin(), config_.partitions.end(), spec.partition) ==
          config_.partitions.end()) {
    JobObservation rejected;
    rejected.phase = JobPhase::kFailed;
    rejected.error_code = "partition_not_allowed";
    rejected.message = "partition " + spec.partition + " is not served by node " + config_.node_id;
    if (journal_->MarkSubmitting(spec.submission_id, NowMs()).ok()) {
      Record(spec, "failed", "", &rejected, true);
    }
    return;
  }
  SubmitOne(spec.submission_id);
}

void Agent::HandleCancel(const Cancellation& cancel) {
  auto row = journal_->Get(cancel.submission_id);
  if (!row.ok() || !row->has_value()) {
    LogWarn("cancel for a job this agent does not know",
            {{"job_id", cancel.job_id}, {"submission_id", cancel.submission_id}});
    return;
  }
  const JournalJob& job = **row;
  if (job.phase == JournalPhase::kTerminal) return;  // its final event is on its way
  if (!job.cancel_requested) (void)journal_->MarkCancelRequested(cancel.submission_id);
  if (job.phase == JournalPhase::kSubmitted && !job.backend_id.empty()) {
    Status st = executor_->Cancel(job.backend_id);
    LogInfo("cancel requested", {{"trace_id", job.spec.trace_id},
                                 {"job_id", job.spec.job_id},
                                 {"submission_id", job.spec.submission_id},
                                 {"execution_id", job.backend_id},
                                 {"result", st.ok() ? std::string("sent") : st.error().message}});
  }
}

// ---- watching -----------------------------------------------------------------------------

void Agent::Apply(const JournalJob& job, const JobObservation& obs) {
  if (obs.phase == JobPhase::kUnknown) {
    LogWarn("backend reports a state we do not map; not guessing",
            {{"submission_id", job.spec.submission_id},
             {"execution_id", job.backend_id},
             {"backend_state", obs.raw_state}});
    return;
  }
  const int have = Rank(job.last_state);
  const bool ran = obs.phase == JobPhase::kRunning || obs.phase == JobPhase::kCompleted ||
                   (obs.phase == JobPhase::kFailed &&
                    (obs.error_code == "exit_code" || obs.error_code == "timeout" ||
                     obs.error_code == "out_of_memory"));
  if (have < 1) Record(job.spec, "queued", job.backend_id, nullptr, false);
  if (have < 2 && ran) Record(job.spec, "running", job.backend_id, nullptr, false);
  if (IsTerminal(obs.phase) && have < 3) {
    Record(job.spec, std::string(EventState(obs.phase)), job.backend_id, &obs, true);
  }
}

void Agent::Reconcile() {
  const Clock::time_point start = Clock::now();
  auto snap = executor_->Snapshot();  // the ONE backend query of this cycle
  if (!snap.ok()) {
    LogWarn("backend snapshot failed",
            {{"executor", executor_->name()}, {"error", snap.error().message}});
    return;
  }
  auto active = journal_->Active();
  if (!active.ok()) {
    LogError("journal read failed", {{"error", active.error().message}});
    return;
  }
  in_flight_ = static_cast<int>(active->size());
  for (const JournalJob& listed : *active) {
    if (stopping_) return;
    const std::string& sid = listed.spec.submission_id;
    bool started_after_snapshot = false;
    {
      std::lock_guard lock(mu_);
      auto it = sbatch_started_.find(sid);
      started_after_snapshot = it != sbatch_started_.end() && it->second >= start;
    }
    if (started_after_snapshot) continue;  // the snapshot cannot show it yet
    if (listed.phase == JournalPhase::kLeased || listed.phase == JournalPhase::kSubmitting) {
      SubmitOne(sid);  // resolves an earlier attempt by tag, or submits
      continue;
    }
    if (!TryBusy(sid)) continue;
    auto fresh = journal_->Get(sid);
    if (fresh.ok() && fresh->has_value() && (*fresh)->phase == JournalPhase::kSubmitted) {
      const JournalJob& job = **fresh;
      auto it = snap->by_id.find(job.backend_id);
      const JobObservation obs = it != snap->by_id.end() ? it->second : VanishedJob(job.backend_id);
      Apply(job, obs);
      if (job.cancel_requested && !IsTerminal(obs.phase)) {
        Status st = executor_->Cancel(job.backend_id);
        if (!st.ok())
          LogWarn("cancel failed; retrying next cycle",
                  {{"submission_id", sid}, {"error", st.error().message}});
      }
    }
    ReleaseBusy(sid);
  }
  {
    // Forget start times that no snapshot can be confused by any more.
    std::lock_guard lock(mu_);
    for (auto it = sbatch_started_.begin(); it != sbatch_started_.end();) {
      it = Clock::now() - it->second > std::chrono::minutes(10) ? sbatch_started_.erase(it)
                                                                : std::next(it);
    }
  }
}

// ---- loops --------------------------------------------------------------------------------

void Agent::LeaseLoop() {
  int failures = 0;
  while (!stopping_) {
    if (in_flight_ >= config_.max_in_flight) {
      SleepFor(config_.poll_interval);
      continue;
    }
    auto r = gateway_->Acquire(config_.max_jobs_per_lease, config_.lease_wait_seconds,
                               config_.lease_seconds);
    if (stopping_) break;
    if (!r.ok()) {
      ++failures;
      const auto delay = BackoffDelay(failures, config_.backoff_initial, config_.backoff_max, rng_);
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
    for (const Cancellation& c : r->cancellations) HandleCancel(c);
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
  while (!stopping_) {
    Reconcile();
    SleepFor(config_.poll_interval);
  }
}

void Agent::SenderLoop() {
  std::optional<Clock::time_point> deadline;
  while (true) {
    if (stopping_ && !deadline) deadline = Clock::now() + config_.shutdown_timeout;
    if (deadline && Clock::now() >= *deadline) break;
    auto due = journal_->DueEvents(NowMs(), 100);
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
      HttpResult r = events_gateway_->PostEvent(e.job_id, e.body);
      switch (ClassifyDelivery(r.status)) {
        case Delivery::kDelivered:
          (void)journal_->MarkDelivered(e.event_id, NowMs());
          LogInfo("event delivered", {{"event_id", e.event_id},
                                      {"job_id", e.job_id},
                                      {"http_status", static_cast<long long>(r.status)},
                                      {"attempts", e.attempts + 1}});
          break;
        case Delivery::kRetry: {
          const auto delay =
              BackoffDelay(e.attempts + 1, config_.backoff_initial, config_.backoff_max, rng_);
          (void)journal_->MarkRetry(e.event_id, e.attempts + 1, NowMs() + delay.count());
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
          config_.partitions, in_flight_.load());
      // Without a catalogue (Slurm down) no heartbeat is sent: the gateway sees the node
      // go stale rather than a catalogue that is not true.
      if (info.ok()) {
        HttpResult r = gateway_->Heartbeat(body);
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
                                                 config_.heartbeat_interval,
                                                 BackoffDelay(hb_failures, config_.backoff_initial,
                                                              config_.backoff_max, rng_)));
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
      HttpResult r = gateway_->Renew(id);
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
      HttpResult r = last.Release(lease_id);
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
