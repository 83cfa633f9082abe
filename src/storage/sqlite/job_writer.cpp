#include "storage/sqlite/job_writer.hpp"

#include <string>
#include <utility>

#include <sqlite3.h>

#include "jobs/job_rules.hpp"
#include "jobs/job_state.hpp"
#include "storage/projection_update.hpp"

namespace rtgw::storage::sqlite {
namespace {

Status StepDone(Statement& stmt, std::string_view what) {
  const int rc = stmt.Step();
  if (rc != SQLITE_DONE) return SqliteError(rc, stmt.db(), what);
  return Ok{};
}

Status RunOnce(Statement& stmt, std::string_view what) {
  ResetGuard reset(stmt);
  return StepDone(stmt, what);
}

Result<jobs::JobState> ParseStoredState(const std::string& text) {
  std::optional<jobs::JobState> state = jobs::ParseJobState(text, /*allow_submitted=*/true);
  if (!state) return Internal("stored job state is not a known state: '" + text + "'");
  return *state;
}

}  // namespace

Result<std::unique_ptr<JobWriter>> JobWriter::Create(Database db, bool write_outbox) {
  std::unique_ptr<JobWriter> writer(new JobWriter(std::move(db), write_outbox));
  if (Status s = writer->PrepareAll(); !s) return std::move(s).error();
  Result<OutboxWriter> outbox = OutboxWriter::Create(writer->db_);
  if (!outbox) return std::move(outbox).error();
  writer->outbox_.emplace(std::move(outbox).value());
  Result<ValidatorRunWriter> runs = ValidatorRunWriter::Create(writer->db_);
  if (!runs) return std::move(runs).error();
  writer->validator_runs_.emplace(std::move(runs).value());
  auto nodes = NodeWriter::Create(writer->db_);
  if (!nodes) return std::move(nodes).error();
  writer->nodes_ = std::move(nodes).value();
  return writer;
}

Status JobWriter::InsertOutbox(const JobRecord& job, const std::string& occurred_at,
                               const std::string& trace_id) {
  Status s = outbox_->Insert(job.tenant_id, job.job_id, job.projection_version,
                             BuildProjectionUpdate(job, occurred_at, trace_id), NowMicros());
  if (s) ++outbox_inserts_;
  return s;
}

Status JobWriter::PrepareAll() {
  struct Entry {
    Statement* stmt;
    const char* sql;
  };
  const Entry entries[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&savepoint_, "SAVEPOINT w"},
      {&release_, "RELEASE w"},
      {&rollback_to_, "ROLLBACK TO w"},
      {&find_by_key_,
       "SELECT request_fingerprint, response_json FROM jobs"
       " WHERE tenant_id = ?1 AND idempotency_key = ?2"},
      {&job_exists_, "SELECT 1 FROM jobs WHERE tenant_id = ?1 AND job_id = ?2"},
      {&insert_job_,
       "INSERT INTO jobs (tenant_id, job_id, workspace_id, idempotency_key, management_node_id,"
       " request_fingerprint, spec_json, submission_id, accepted_at, trace_id, response_json,"
       " state, projection_version, result_ref_json, error_json, updated_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'submitted', 1, NULL, NULL, ?9)"},
      {&find_job_for_event_,
       "SELECT state, submission_id, projection_version, workspace_id, result_ref_json,"
       " error_json FROM jobs WHERE tenant_id = ?1 AND job_id = ?2"},
      {&find_event_,
       "SELECT fingerprint FROM job_events WHERE tenant_id = ?1 AND job_id = ?2 AND event_id = ?3"},
      {&insert_event_,
       "INSERT INTO job_events (tenant_id, job_id, event_id, workspace_id, submission_id,"
       " execution_id, state, occurred_at, received_at, trace_id, result_ref_json, error_json,"
       " fingerprint, applied)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"},
      // A given result_ref/error replaces the stored one; an absent one keeps it.
      {&apply_event_,
       "UPDATE jobs SET state = ?3, updated_at = ?4,"
       " result_ref_json = COALESCE(?5, result_ref_json),"
       " error_json = COALESCE(?6, error_json),"
       " projection_version = projection_version + 1"
       " WHERE tenant_id = ?1 AND job_id = ?2"},
      {&touch_health_,
       "INSERT INTO store_health (id, checked_at, write_count)"
       " VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1)"
       " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at,"
       " write_count = write_count + 1"},
  };
  for (const Entry& e : entries) {
    Result<Statement> stmt = db_.Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return Ok{};
}

Status JobWriter::Begin() { return RunOnce(begin_, "begin"); }

Status JobWriter::Commit() { return RunOnce(commit_, "commit"); }

void JobWriter::Rollback() {
  // ROLLBACK fails only when no transaction is open, which is what we want.
  if (db_.InTransaction()) (void)RunOnce(rollback_, "rollback");
}

Status JobWriter::Savepoint() { return RunOnce(savepoint_, "savepoint"); }

Status JobWriter::ReleaseSavepoint() { return RunOnce(release_, "release savepoint"); }

Status JobWriter::RollbackToSavepoint() {
  // ROLLBACK TO leaves the savepoint on the stack; RELEASE pops it so the
  // next write opens a fresh one at the same depth.
  if (Status s = RunOnce(rollback_to_, "rollback to savepoint"); !s) return s;
  return RunOnce(release_, "release savepoint");
}

Result<SubmitOutcome> JobWriter::Submit(const SubmitRecord& r) {
  // Looked up first, so a replay or conflict never attempts the insert.
  jobs::SubmitFinding found;
  {
    ResetGuard reset(find_by_key_);
    find_by_key_.BindText(1, r.tenant_id);
    find_by_key_.BindText(2, r.idempotency_key);
    const int rc = find_by_key_.Step();
    if (rc == SQLITE_ROW) {
      found.by_key = jobs::SubmitFinding::ByKey{.request_fingerprint = find_by_key_.ColumnText(0),
                                                .response_json = find_by_key_.ColumnText(1)};
    } else if (rc != SQLITE_DONE) {
      return SqliteError(rc, find_by_key_.db(), "find job by key");
    }
  }
  if (!found.by_key) {
    ResetGuard reset(job_exists_);
    job_exists_.BindText(1, r.tenant_id);
    job_exists_.BindText(2, r.job_id);
    const int rc = job_exists_.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return SqliteError(rc, job_exists_.db(), "find job by id");
    }
    found.job_id_taken = rc == SQLITE_ROW;
  }
  Result<SubmitOutcome> outcome = jobs::DecideSubmit(found, r);
  if (!outcome || outcome->replayed) return outcome;
  {
    ResetGuard reset(insert_job_);
    insert_job_.BindText(1, r.tenant_id);
    insert_job_.BindText(2, r.job_id);
    insert_job_.BindText(3, r.workspace_id);
    insert_job_.BindText(4, r.idempotency_key);
    insert_job_.BindText(5, r.management_node_id);
    insert_job_.BindText(6, r.request_fingerprint);
    insert_job_.BindText(7, r.spec_json);
    insert_job_.BindText(8, r.submission_id);
    insert_job_.BindText(9, r.accepted_at);
    insert_job_.BindText(10, r.trace_id);
    insert_job_.BindText(11, r.response_json);
    if (Status s = StepDone(insert_job_, "insert job"); !s) return std::move(s).error();
  }
  if (write_outbox_) {
    if (Status s = InsertOutbox(jobs::JobAfterSubmit(r), r.accepted_at, r.trace_id); !s) {
      return std::move(s).error();
    }
  }
  return outcome;
}

Result<EventOutcome> JobWriter::AppendEvent(const EventRecord& r) {
  jobs::JobHead head;
  JobRecord job{.tenant_id = r.tenant_id, .job_id = r.job_id};  // what the payload needs of it
  {
    ResetGuard reset(find_job_for_event_);
    find_job_for_event_.BindText(1, r.tenant_id);
    find_job_for_event_.BindText(2, r.job_id);
    const int rc = find_job_for_event_.Step();
    if (rc == SQLITE_DONE) return NotFound("job not found");
    if (rc != SQLITE_ROW) return SqliteError(rc, find_job_for_event_.db(), "find job for event");
    Result<jobs::JobState> state = ParseStoredState(find_job_for_event_.ColumnText(0));
    if (!state) return std::move(state).error();
    head = jobs::JobHead{.state = *state,
                         .submission_id = find_job_for_event_.ColumnText(1),
                         .projection_version = find_job_for_event_.ColumnInt64(2)};
    job.workspace_id = find_job_for_event_.ColumnText(3);
    job.result_ref_json = find_job_for_event_.ColumnOptionalText(4);
    job.error_json = find_job_for_event_.ColumnOptionalText(5);
  }
  std::optional<std::string> known_fingerprint;
  {
    ResetGuard reset(find_event_);
    find_event_.BindText(1, r.tenant_id);
    find_event_.BindText(2, r.job_id);
    find_event_.BindText(3, r.event_id);
    const int rc = find_event_.Step();
    if (rc == SQLITE_ROW) {
      known_fingerprint = find_event_.ColumnText(0);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(rc, find_event_.db(), "find event");
    }
  }
  const jobs::EventVerdict verdict = jobs::DecideEvent(head, known_fingerprint, r);
  Result<EventOutcome> outcome = jobs::EventOutcomeFor(verdict, head, r);
  if (verdict != jobs::EventVerdict::kApply && verdict != jobs::EventVerdict::kKeep) {
    return outcome;  // replay or conflict: nothing is written
  }
  const bool applied = verdict == jobs::EventVerdict::kApply;
  {
    ResetGuard reset(insert_event_);
    insert_event_.BindText(1, r.tenant_id);
    insert_event_.BindText(2, r.job_id);
    insert_event_.BindText(3, r.event_id);
    insert_event_.BindText(4, r.workspace_id);
    insert_event_.BindText(5, r.submission_id);
    insert_event_.BindText(6, r.execution_id);
    insert_event_.BindText(7, jobs::ToString(r.state));
    insert_event_.BindText(8, r.occurred_at);
    insert_event_.BindText(9, r.received_at);
    insert_event_.BindText(10, r.trace_id);
    insert_event_.BindOptionalText(11, r.result_ref_json);
    insert_event_.BindOptionalText(12, r.error_json);
    insert_event_.BindText(13, r.fingerprint);
    insert_event_.BindInt64(14, applied ? 1 : 0);
    if (Status s = StepDone(insert_event_, "insert event"); !s) return std::move(s).error();
  }
  if (!applied) return outcome;
  {
    ResetGuard reset(apply_event_);
    apply_event_.BindText(1, r.tenant_id);
    apply_event_.BindText(2, r.job_id);
    apply_event_.BindText(3, jobs::ToString(r.state));
    apply_event_.BindText(4, r.received_at);
    apply_event_.BindOptionalText(5, r.result_ref_json);
    apply_event_.BindOptionalText(6, r.error_json);
    if (Status s = StepDone(apply_event_, "apply event"); !s) return std::move(s).error();
  }
  if (write_outbox_) {
    // The row as the UPDATE left it: the ProjectionUpdate describes it.
    job.submission_id = head.submission_id;
    job.state = head.state;
    job.projection_version = head.projection_version;
    jobs::ApplyEvent(job, r);
    if (Status s = InsertOutbox(job, r.occurred_at, r.trace_id); !s) return std::move(s).error();
  }
  return outcome;
}

Status JobWriter::TouchHealth() { return RunOnce(touch_health_, "health write"); }

}  // namespace rtgw::storage::sqlite
