#include "agent/core/job_runner.hpp"

#include <signal.h>

#include "agent/core/event_body.hpp"
#include "common/logging.hpp"
#include "common/time_format.hpp"

namespace rtgw::agent {
namespace {

int Rank(const std::string& state) {
  if (state == "queued") return 1;
  if (state == "running") return 2;
  if (state == "completed" || state == "failed" || state == "cancelled") return 3;
  return 0;
}

// Margin kept from the backend's visibility window before we stop trusting "not found".
constexpr std::int64_t kWindowMarginMs = 30'000;

}  // namespace

JobRunner::JobRunner(Journal* journal, std::shared_ptr<Executor> executor, Options options,
                     std::function<void()> on_event)
    : journal_(journal),
      executor_(std::move(executor)),
      options_(std::move(options)),
      on_event_(std::move(on_event)) {}

int JobRunner::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

bool JobRunner::TryBusy(const std::string& sid) {
  std::lock_guard lock(mu_);
  return busy_.insert(sid).second;
}

void JobRunner::ReleaseBusy(const std::string& sid) {
  std::lock_guard lock(mu_);
  busy_.erase(sid);
}

std::string JobRunner::OutputUri(const std::string& submission_id) const {
  if (executor_->name() == "local") {
    return "file://" + options_.work_dir + "/" + BackendTag(submission_id) + "/out";
  }
  return "file://" + options_.work_dir + "/" + BackendTag(submission_id) + ".out";
}

void JobRunner::Record(const JobSpec& spec, const std::string& state, const std::string& backend_id,
                       const JobObservation* obs, bool terminal, bool submitted) {
  const std::string body =
      BuildEventBody(spec, state, backend_id, FormatRfc3339(std::chrono::system_clock::now()), obs,
                     state == "completed" ? OutputUri(spec.submission_id) : "");
  Status st = journal_->RecordEvent(spec.submission_id, state, body, terminal,
                                    submitted ? backend_id : std::string());
  if (!st.ok()) {
    LogError(
        "journal write failed",
        {{"submission_id", spec.submission_id}, {"state", state}, {"error", st.error().message}});
    return;
  }
  LogInfo("job state", {{"trace_id", spec.trace_id},
                        {"tenant_id", spec.tenant_id},
                        {"workspace_id", spec.workspace_id},
                        {"job_id", spec.job_id},
                        {"submission_id", spec.submission_id},
                        {"execution_id", backend_id},
                        {"state", state},
                        {"error_code", obs != nullptr ? obs->error_code : std::string()},
                        {"exit_code", obs != nullptr ? obs->exit_code : 0}});
  if (on_event_) on_event_();
}

void JobRunner::Refuse(const JobSpec& spec, const std::string& error_code,
                       const std::string& message) {
  if (!TryBusy(spec.submission_id)) return;
  JobObservation rejected;
  rejected.phase = JobPhase::kFailed;
  rejected.error_code = error_code;
  rejected.message = message;
  auto row = journal_->Get(spec.submission_id);
  if (row.ok() && row->has_value() && (*row)->phase == JournalPhase::kLeased) {
    Record(spec, "failed", "", &rejected, true);
  }
  ReleaseBusy(spec.submission_id);
}

JobRunner::SubmitResult JobRunner::Submit(const std::string& sid) {
  if (!TryBusy(sid)) return SubmitResult::kSkipped;
  BusyGuard guard{this, sid};

  auto row_or = journal_->Get(sid);
  if (!row_or.ok() || !row_or->has_value()) return SubmitResult::kSkipped;
  return SubmitLocked(std::move(**row_or), false);
}

JobRunner::SubmitResult JobRunner::SubmitLease(const JobSpec& spec, const std::string& lease_id) {
  const std::string& sid = spec.submission_id;
  if (!TryBusy(sid)) return SubmitResult::kSkipped;
  BusyGuard guard{this, sid};
  auto row_or = journal_->Get(sid);
  if (!row_or.ok()) return SubmitResult::kPending;
  if (!row_or->has_value()) {
    if (Status st = journal_->RecordIntent(spec, lease_id, UnixNow<std::chrono::milliseconds>());
        !st.ok()) {
      LogError("journal: cannot record the intent; not submitting",
               {{"submission_id", sid}, {"error", st.error().message}});
      return SubmitResult::kPending;
    }
    JournalJob job;
    job.spec = spec;
    job.lease_id = lease_id;
    job.phase = JournalPhase::kSubmitting;
    return SubmitLocked(std::move(job), true);
  }
  auto row = journal_->RecordLease(spec, lease_id);  // known: keep its phase, new lease id
  if (!row.ok()) return SubmitResult::kPending;
  return SubmitLocked(std::move(*row), false);
}

// Caller holds the busy slot of job.spec.submission_id.
JobRunner::SubmitResult JobRunner::SubmitLocked(JournalJob job, bool intent_recorded) {
  const std::string sid = job.spec.submission_id;
  if (job.phase != JournalPhase::kLeased && job.phase != JournalPhase::kSubmitting) {
    return SubmitResult::kDone;
  }

  if (job.phase == JournalPhase::kSubmitting && !intent_recorded) {
    // An earlier attempt's outcome is unknown (crash, timeout). Look it up by tag in a
    // snapshot taken now, after that attempt ended: its sbatch either returned in this
    // process or died with the old one (PR_SET_PDEATHSIG), so a job it created is listed.
    auto snap = executor_->Snapshot();
    if (!snap.ok()) {
      LogWarn("backend snapshot failed; submission deferred",
              {{"submission_id", sid}, {"error", snap.error().message}});
      return SubmitResult::kPending;
    }
    auto it = snap->id_by_tag.find(BackendTag(sid));
    if (it != snap->id_by_tag.end()) {
      LogInfo("found the earlier submission by its tag; not submitting again",
              {{"trace_id", job.spec.trace_id},
               {"job_id", job.spec.job_id},
               {"submission_id", sid},
               {"execution_id", it->second}});
      Record(job.spec, "queued", it->second, nullptr, false, /*submitted=*/true);
      return SubmitResult::kDone;
    }
    const auto window_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(executor_->visibility_window())
            .count();
    if (UnixNow<std::chrono::milliseconds>() - job.intent_at_ms > window_ms - kWindowMarginMs) {
      // It may have run and been purged since: we cannot know. Never guess, never resubmit.
      JobObservation lost = VanishedJob("(unknown)");
      lost.message =
          "an earlier submission attempt may have created a job that the backend no longer "
          "lists; not submitting again";
      Record(job.spec, "failed", "", &lost, true);
      return SubmitResult::kDone;
    }
  }

  if (job.cancel_requested) {
    // A cancel arrived before sbatch (and no earlier attempt created a job, see above).
    JobObservation obs;
    obs.phase = JobPhase::kCancelled;
    obs.error_code = "cancelled";
    obs.message = "cancelled before submission";
    Record(job.spec, "cancelled", "", &obs, true);
    return SubmitResult::kDone;
  }
  if (!intent_recorded) {
    if (Status st = journal_->MarkSubmitting(sid, UnixNow<std::chrono::milliseconds>()); !st.ok()) {
      LogError("journal: cannot record the intent; not submitting",
               {{"submission_id", sid}, {"error", st.error().message}});
      return SubmitResult::kPending;
    }
  }
  {
    std::lock_guard lock(mu_);
    sbatch_started_[sid] = Clock::now();
  }
  SubmitOutcome out = executor_->Submit(job.spec);
  if (out.kind == SubmitOutcome::Kind::kSubmitted && options_.crash_point == "after-sbatch") {
    ::raise(SIGKILL);  // test hook: die between sbatch and the journal update
  }
  switch (out.kind) {
    case SubmitOutcome::Kind::kSubmitted:
      LogInfo("job submitted", {{"trace_id", job.spec.trace_id},
                                {"job_id", job.spec.job_id},
                                {"submission_id", sid},
                                {"execution_id", out.backend_id},
                                {"executor", executor_->name()},
                                {"partition", job.spec.partition}});
      // The Slurm id and the `queued` event in one commit. Should it fail, the journal still
      // says submitting and the tag lookup finds the job.
      Record(job.spec, "queued", out.backend_id, nullptr, false, /*submitted=*/true);
      return SubmitResult::kDone;
    case SubmitOutcome::Kind::kRejected: {
      JobObservation rejected;
      rejected.phase = JobPhase::kFailed;
      rejected.error_code = out.error_code.empty() ? "submit_rejected" : out.error_code;
      rejected.message = out.message;
      Record(job.spec, "failed", "", &rejected, true);
      return SubmitResult::kDone;
    }
    case SubmitOutcome::Kind::kUnknown:
      LogWarn("submission outcome unknown; will look it up by tag before retrying",
              {{"submission_id", sid}, {"job_id", job.spec.job_id}, {"error", out.message}});
      return SubmitResult::kPending;
  }
  return SubmitResult::kPending;
}

void JobRunner::Cancel(const std::string& sid) {
  auto row = journal_->Get(sid);
  if (!row.ok() || !row->has_value()) {
    LogWarn("cancel for a job this agent does not know", {{"submission_id", sid}});
    return;
  }
  const JournalJob& job = **row;
  if (job.phase == JournalPhase::kTerminal || job.phase == JournalPhase::kReleased) return;
  if (!job.cancel_requested) (void)journal_->MarkCancelRequested(sid);
  if (job.phase == JournalPhase::kLeased) {
    // Never reached sbatch: cancel it here, unless a submit is running right now (then
    // Submit sees cancel_requested before sbatch, or Reconcile scancels after it).
    if (!TryBusy(sid)) return;
    auto fresh = journal_->Get(sid);
    if (fresh.ok() && fresh->has_value() && (*fresh)->phase == JournalPhase::kLeased) {
      JobObservation obs;
      obs.phase = JobPhase::kCancelled;
      obs.error_code = "cancelled";
      obs.message = "cancelled before submission";
      Record(job.spec, "cancelled", "", &obs, true);
    }
    ReleaseBusy(sid);
    return;
  }
  if (job.phase == JournalPhase::kSubmitted && !job.backend_id.empty()) SendCancel(job);
  // leased/submitting: Reconcile cancels it as soon as it has a backend id.
}

void JobRunner::SendCancel(const JournalJob& job) {
  const std::string& sid = job.spec.submission_id;
  int attempt = 0;
  {
    std::lock_guard lock(mu_);
    CancelAttempt& a = cancels_[sid];
    if (a.taken || a.sending || Clock::now() < a.next_try) return;
    a.sending = true;
    attempt = a.failures + 1;
  }
  const Status st = executor_->Cancel(job.backend_id);
  std::chrono::milliseconds retry_in{0};
  {
    std::lock_guard lock(mu_);
    CancelAttempt& a = cancels_[sid];
    a.sending = false;
    if (st.ok()) {
      a.taken = true;
    } else {
      a.failures = attempt;
      retry_in =
          BackoffDelay(attempt, options_.cancel_retry_initial, options_.cancel_retry_max, rng_);
      a.next_try = Clock::now() + retry_in;
    }
  }
  if (st.ok()) {
    LogInfo("cancel sent to the backend", {{"trace_id", job.spec.trace_id},
                                           {"job_id", job.spec.job_id},
                                           {"submission_id", sid},
                                           {"execution_id", job.backend_id},
                                           {"attempt", attempt}});
  } else {
    LogWarn("the backend did not take the cancel; retrying with backoff",
            {{"trace_id", job.spec.trace_id},
             {"submission_id", sid},
             {"execution_id", job.backend_id},
             {"attempt", attempt},
             {"retry_in_ms", static_cast<long long>(retry_in.count())},
             {"error", st.error().message}});
  }
}

void JobRunner::Apply(const JournalJob& job, const JobObservation& obs) {
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

void JobRunner::Reconcile() {
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
  {
    std::lock_guard lock(mu_);
    in_flight_ = static_cast<int>(active->size());
  }
  for (const JournalJob& listed : *active) {
    const std::string& sid = listed.spec.submission_id;
    bool started_after_snapshot = false;
    {
      std::lock_guard lock(mu_);
      auto it = sbatch_started_.find(sid);
      started_after_snapshot = it != sbatch_started_.end() && it->second >= start;
    }
    if (started_after_snapshot) continue;  // this snapshot cannot show it yet
    if (listed.phase == JournalPhase::kLeased || listed.phase == JournalPhase::kSubmitting) {
      (void)Submit(sid);  // resolves an earlier attempt by tag, or submits
      continue;
    }
    if (!TryBusy(sid)) continue;
    auto fresh = journal_->Get(sid);
    if (fresh.ok() && fresh->has_value() && (*fresh)->phase == JournalPhase::kSubmitted) {
      const JournalJob& job = **fresh;
      auto it = snap->by_id.find(job.backend_id);
      const JobObservation obs = it != snap->by_id.end() ? it->second : VanishedJob(job.backend_id);
      Apply(job, obs);
      if (IsTerminal(obs.phase)) {
        std::lock_guard lock(mu_);
        cancels_.erase(sid);
      } else if (job.cancel_requested) {
        SendCancel(job);  // once; again only if the backend did not take it
      }
    }
    ReleaseBusy(sid);
  }
  std::lock_guard lock(mu_);
  for (auto it = sbatch_started_.begin(); it != sbatch_started_.end();) {
    it = Clock::now() - it->second > std::chrono::minutes(10) ? sbatch_started_.erase(it)
                                                              : std::next(it);
  }
}

}  // namespace rtgw::agent
