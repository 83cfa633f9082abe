#include "jobs/job_rules.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace rtgw::jobs {
namespace {

EventRecord Event(JobState state, std::string fingerprint = "fp-1",
                  std::string submission_id = "sub-1") {
  EventRecord e;
  e.tenant_id = "t";
  e.job_id = "j";
  e.event_id = "ev-1";
  e.submission_id = std::move(submission_id);
  e.state = state;
  e.received_at = "2026-12-06T10:00:00Z";
  e.fingerprint = std::move(fingerprint);
  return e;
}

const JobHead kQueued{
    .state = JobState::kQueued, .submission_id = "sub-1", .projection_version = 2};

TEST(JobRulesTest, AKnownEventIdDecidesBeforeTheSubmissionAndTheState) {
  // Same fingerprint: a replay, even from another submission or going back.
  EXPECT_EQ(DecideEvent(kQueued, "fp-1", Event(JobState::kRunning, "fp-1", "sub-old")),
            EventVerdict::kReplay);
  EXPECT_EQ(DecideEvent(kQueued, "fp-1", Event(JobState::kQueued)), EventVerdict::kReplay);
  // Another fingerprint: a conflict, whatever else the event says.
  EXPECT_EQ(DecideEvent(kQueued, "fp-other", Event(JobState::kRunning, "fp-1", "sub-old")),
            EventVerdict::kEventConflict);
}

TEST(JobRulesTest, ANewEventIsCheckedAgainstTheSubmissionThenTheState) {
  EXPECT_EQ(DecideEvent(kQueued, std::nullopt, Event(JobState::kRunning, "fp", "sub-old")),
            EventVerdict::kSubmissionMismatch);
  EXPECT_EQ(DecideEvent(kQueued, std::nullopt, Event(JobState::kRunning)), EventVerdict::kApply);
  // Same rank, lower rank, or anything after a terminal state: history only.
  EXPECT_EQ(DecideEvent(kQueued, std::nullopt, Event(JobState::kQueued)), EventVerdict::kKeep);
  const JobHead done{
      .state = JobState::kCompleted, .submission_id = "sub-1", .projection_version = 4};
  EXPECT_EQ(DecideEvent(done, std::nullopt, Event(JobState::kFailed)), EventVerdict::kKeep);
}

TEST(JobRulesTest, OutcomesReportWhatTheCallDid) {
  const EventRecord running = Event(JobState::kRunning);
  struct Case {
    EventVerdict verdict;
    bool applied;
    bool idempotent;
    std::optional<JobState> state;  // nullopt: not checked
    std::int64_t projection_version;
  };
  for (const Case& c : {Case{EventVerdict::kApply, true, false, JobState::kRunning, 3},
                        Case{EventVerdict::kKeep, false, false, JobState::kQueued, 2},
                        Case{EventVerdict::kReplay, false, true, std::nullopt, 2}}) {
    Result<EventOutcome> out = EventOutcomeFor(c.verdict, kQueued, running);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->applied, c.applied);
    EXPECT_EQ(out->idempotent, c.idempotent);
    if (c.state) {
      EXPECT_EQ(out->state, *c.state);
    }
    EXPECT_EQ(out->projection_version, c.projection_version);
  }

  Result<EventOutcome> conflict = EventOutcomeFor(EventVerdict::kEventConflict, kQueued, running);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().api_code, "event_conflict");
  Result<EventOutcome> mismatch =
      EventOutcomeFor(EventVerdict::kSubmissionMismatch, kQueued, running);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().api_code, "submission_mismatch");
}

TEST(JobRulesTest, UnappliedEventsAreRefusedAtTheCap) {
  EventRecord late = Event(JobState::kQueued);
  EXPECT_EQ(late.max_unapplied_events, kMaxUnappliedEventsPerJobDefault);
  late.max_unapplied_events = 3;
  EXPECT_TRUE(CheckUnappliedLimit(0, late).ok());
  EXPECT_TRUE(CheckUnappliedLimit(2, late).ok());
  for (const std::int64_t stored : {3, 4}) {
    Status refused = CheckUnappliedLimit(stored, late);
    ASSERT_FALSE(refused.ok()) << stored;
    EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
    EXPECT_EQ(refused.error().api_code, "event_limit");
    EXPECT_NE(refused.error().message.find("--max-unapplied-events-per-job"), std::string::npos);
  }
}

TEST(JobRulesTest, AnAppliedEventReplacesOnlyTheRefsItCarries) {
  JobRecord job;
  job.state = JobState::kRunning;
  job.projection_version = 3;
  job.result_ref_json = R"({"output_uri":"file:///a"})";
  EventRecord failed = Event(JobState::kFailed);
  failed.error_json = R"({"code":"x"})";
  ApplyEvent(job, failed);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.projection_version, 4);
  EXPECT_EQ(job.updated_at, "2026-12-06T10:00:00Z");
  EXPECT_EQ(job.result_ref_json, R"({"output_uri":"file:///a"})");  // kept
  EXPECT_EQ(job.error_json, R"({"code":"x"})");                     // replaced
}

SubmitRecord Submit() {
  SubmitRecord r;
  r.tenant_id = "t";
  r.job_id = "j";
  r.workspace_id = "ws";
  r.idempotency_key = "k";
  r.request_fingerprint = "fp";
  r.submission_id = "sub";
  r.accepted_at = "2026-12-06T10:00:00Z";
  r.response_json = R"({"new":true})";
  return r;
}

TEST(JobRulesTest, TheIdempotencyKeyDecidesASubmitBeforeTheJobId) {
  const SubmitRecord r = Submit();
  SubmitFinding same{.by_key = SubmitFinding::ByKey{"fp", R"({"old":true})"}, .job_id_taken = true};
  Result<SubmitOutcome> replay = DecideSubmit(same, r);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->response_json, R"({"old":true})");  // the stored bytes

  SubmitFinding other{.by_key = SubmitFinding::ByKey{"fp-2", "{}"}, .job_id_taken = true};
  EXPECT_EQ(DecideSubmit(other, r).error().api_code, "idempotency_conflict");
  EXPECT_EQ(DecideSubmit({.by_key = std::nullopt, .job_id_taken = true}, r).error().api_code,
            "job_id_conflict");
  Result<SubmitOutcome> fresh = DecideSubmit({}, r);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->replayed);
  EXPECT_EQ(fresh->response_json, r.response_json);
}

TEST(JobRulesTest, ASubmittedJobStartsAtVersionOne) {
  const JobRecord job = JobAfterSubmit(Submit());
  EXPECT_EQ(job.state, JobState::kSubmitted);
  EXPECT_EQ(job.projection_version, 1);
  EXPECT_EQ(job.updated_at, job.accepted_at);
  EXPECT_EQ(job.submission_id, "sub");
  EXPECT_FALSE(job.result_ref_json || job.error_json);
}

TEST(JobRulesTest, ACancelIsDecidedByNodeThenStateThenWhetherAnAgentHasIt) {
  const CancelFacts queued{.state = JobState::kQueued,
                           .management_node_id = "n1",
                           .cancel_recorded = false,
                           .ever_leased = true};
  EXPECT_EQ(DecideCancel(queued, std::string("n2"), "j").error().api_code, "node_mismatch");
  EXPECT_EQ(*DecideCancel(queued, std::string("n1"), "j"), CancelVerdict::kRecord);
  EXPECT_EQ(*DecideCancel(queued, std::nullopt, "j"), CancelVerdict::kRecord);

  CancelFacts done = queued;
  done.state = JobState::kFailed;
  Result<CancelVerdict> terminal = DecideCancel(done, std::nullopt, "j");
  EXPECT_EQ(terminal.error().api_code, "job_terminal");
  EXPECT_EQ(terminal.error().message, "job is already failed; it can no longer be cancelled");

  CancelFacts recorded = queued;
  recorded.cancel_recorded = true;
  EXPECT_EQ(*DecideCancel(recorded, std::nullopt, "j"), CancelVerdict::kAlreadyRequested);
  CancelFacts cancelled = queued;
  cancelled.state = JobState::kCancelled;
  EXPECT_EQ(*DecideCancel(cancelled, std::nullopt, "j"), CancelVerdict::kAlreadyRequested);

  // Submitted and never leased: no agent will ever hear of it, so the
  // gateway cancels it itself. Leased once: the agent must be told.
  CancelFacts fresh{.state = JobState::kSubmitted, .management_node_id = "n1"};
  EXPECT_EQ(*DecideCancel(fresh, std::nullopt, "j"), CancelVerdict::kRecordAndCancelNow);
  fresh.ever_leased = true;
  EXPECT_EQ(*DecideCancel(fresh, std::nullopt, "j"), CancelVerdict::kRecord);
}

}  // namespace
}  // namespace rtgw::jobs
