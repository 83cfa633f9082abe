#include "jobs/job_rules.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace rtgw::jobs {

JobRecord JobAfterSubmit(const SubmitRecord& r) {
  return JobRecord{.tenant_id = r.tenant_id,
                   .job_id = r.job_id,
                   .workspace_id = r.workspace_id,
                   .submission_id = r.submission_id,
                   .management_node_id = r.management_node_id,
                   .state = JobState::kSubmitted,
                   .spec_json = r.spec_json,
                   .result_ref_json = std::nullopt,
                   .error_json = std::nullopt,
                   .accepted_at = r.accepted_at,
                   .updated_at = r.accepted_at,
                   .trace_id = r.trace_id,
                   .projection_version = 1,
                   .submitted_by = r.submitted_by};
}

Result<SubmitOutcome> DecideSubmit(const SubmitFinding& found, const SubmitRecord& r) {
  if (found.by_key) {
    if (found.by_key->request_fingerprint != r.request_fingerprint) {
      return Conflict("idempotency_key reused with a different payload", "idempotency_conflict");
    }
    return SubmitOutcome{.replayed = true, .response_json = found.by_key->response_json};
  }
  if (found.job_id_taken) {
    return Conflict("job_id already used in this tenant with another idempotency_key",
                    "job_id_conflict");
  }
  return SubmitOutcome{.replayed = false, .response_json = r.response_json};
}

Status CheckSubmitQuota(const SubmitRecord& r, const ActiveJobCounts& active) {
  auto over = [](std::string_view limit, std::int64_t value, std::string_view whose) -> Status {
    return TooManyRequests("quota exceeded: " + std::string(limit) + " is " +
                               std::to_string(value) + " for " + std::string(whose) +
                               " (jobs submitted, queued or running); nothing stored, submit "
                               "again once one has finished",
                           "quota_exceeded");
  };
  if (r.max_active_jobs && active.tenant >= *r.max_active_jobs) {
    return over("max_active_jobs", *r.max_active_jobs, "this tenant");
  }
  if (r.max_active_jobs_per_user && active.user >= *r.max_active_jobs_per_user) {
    return over("max_active_jobs_per_user", *r.max_active_jobs_per_user,
                "this requested_by.user_id");
  }
  return Ok{};
}

EventVerdict DecideEvent(const JobHead& job, const std::optional<std::string>& known_fingerprint,
                         const EventRecord& e) {
  if (known_fingerprint) {
    return *known_fingerprint == e.fingerprint ? EventVerdict::kReplay
                                               : EventVerdict::kEventConflict;
  }
  if (e.submission_id != job.submission_id) return EventVerdict::kSubmissionMismatch;
  return ShouldApply(job.state, e.state) ? EventVerdict::kApply : EventVerdict::kKeep;
}

Result<EventOutcome> EventOutcomeFor(EventVerdict verdict, const JobHead& job,
                                     const EventRecord& e) {
  const EventOutcome unchanged{.idempotent = false,
                               .applied = false,
                               .state = job.state,
                               .projection_version = job.projection_version};
  switch (verdict) {
    case EventVerdict::kApply:
      return EventOutcome{.idempotent = false,
                          .applied = true,
                          .state = e.state,
                          .projection_version = job.projection_version + 1};
    case EventVerdict::kKeep:
      return unchanged;
    case EventVerdict::kReplay: {
      // A replay changes nothing, so it applies nothing either: `applied`
      // reports what this call did.
      EventOutcome replay = unchanged;
      replay.idempotent = true;
      return replay;
    }
    case EventVerdict::kEventConflict:
      return Conflict("event_id reused with a different payload", "event_conflict");
    case EventVerdict::kSubmissionMismatch:
      return Conflict("submission_id is not the job's current submission", "submission_mismatch");
  }
  return Internal("unknown event verdict");
}

Status CheckUnappliedLimit(std::int64_t stored_unapplied, const EventRecord& e) {
  if (stored_unapplied < e.max_unapplied_events) return Ok{};
  return Conflict("job " + e.job_id + " holds " + std::to_string(e.max_unapplied_events) +
                      " events that were never applied (late or stale states); no more are "
                      "stored (--max-unapplied-events-per-job)",
                  "event_limit");
}

void ApplyEvent(JobRecord& job, const EventRecord& e) {
  job.state = e.state;
  job.updated_at = e.received_at;
  if (e.result_ref_json) job.result_ref_json = e.result_ref_json;
  if (e.error_json) job.error_json = e.error_json;
  ++job.projection_version;
}

Result<CancelVerdict> DecideCancel(const CancelFacts& facts,
                                   const std::optional<std::string>& requesting_node,
                                   const std::string& job_id) {
  if (requesting_node && *requesting_node != facts.management_node_id) {
    return PermissionDenied("job " + job_id + " belongs to another management node",
                            "node_mismatch");
  }
  if (facts.state == JobState::kCompleted || facts.state == JobState::kFailed) {
    return Conflict(
        "job is already " + std::string(ToString(facts.state)) + "; it can no longer be cancelled",
        "job_terminal");
  }
  if (facts.state == JobState::kCancelled || facts.cancel_recorded) {
    return CancelVerdict::kAlreadyRequested;
  }
  if (facts.state == JobState::kSubmitted && !facts.ever_leased) {
    return CancelVerdict::kRecordAndCancelNow;
  }
  return CancelVerdict::kRecord;
}

}  // namespace rtgw::jobs
