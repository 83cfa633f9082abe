#include "storage/sqlite/job_writer.hpp"

#include <string>
#include <utility>
#include <vector>

#include "jobs/job_rules.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_list_sql.hpp"
#include "storage/projection_update.hpp"

namespace rtgw::storage::sqlite {

Result<std::unique_ptr<JobWriter>> JobWriter::Create(Database db, bool write_outbox,
                                                     const Clock* outbox_clock) {
  std::unique_ptr<JobWriter> writer(new JobWriter(std::move(db), write_outbox));
  if (Status s = writer->PrepareAll(); !s) return std::move(s).error();
  Result<OutboxWriter> outbox = OutboxWriter::Create(writer->db_, outbox_clock);
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

Status JobWriter::RecordChange(const JobRecord& job, std::string requested_by,
                               const std::string& occurred_at, const std::string& trace_id) {
  std::string payload = BuildProjectionUpdate(job, occurred_at, trace_id);
  if (write_outbox_) {
    if (Status s = outbox_->Insert(job.tenant_id, job.job_id, job.projection_version, payload);
        !s) {
      return s;
    }
    ++outbox_inserts_;
  }
  changes_.Add(MakeChange(job, std::move(requested_by), std::move(payload)));
  return Ok{};
}

Status JobWriter::FlushChanges() {
  return changes_.Flush(NowMicros(),
                        [this](const std::string& tenant_id, std::span<ChangeRecord> changes) {
                          return WriteTenantChanges(tenant_id, changes);
                        });
}

Status JobWriter::WriteTenantChanges(const std::string& tenant_id,
                                     std::span<ChangeRecord> changes) {
  const auto n = static_cast<std::int64_t>(changes.size());
  std::int64_t last_seq = 0;
  {
    ResetGuard reset(advance_head_);
    Result<bool> row = advance_head_.FirstRow("advance change head", tenant_id, n);
    if (!row) return std::move(row).error();
    if (!*row) return Internal("sqlite: change head upsert returned no row");
    last_seq = advance_head_.ColumnInt64(0);
  }
  std::int64_t seq = last_seq - n;
  for (ChangeRecord& c : changes) {
    c.seq = ++seq;
    if (Status s = insert_change_.Run("insert change", c.tenant_id, c.seq, c.job_id, c.workspace_id,
                                      c.management_node_id, c.requested_by, c.projection_version,
                                      c.payload_json, c.created_us);
        !s) {
      return s;
    }
  }
  return Ok{};
}

Status JobWriter::PrepareAll() {
  return db_.PrepareAll({
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
      // Active jobs for the quotas, at most ?2 / ?3 of them: index-only range
      // reads of jobs_list_state / jobs_list_requested_by, one per state.
      {&count_active_,
       "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = ?1"
       " AND state IN ('submitted', 'queued', 'running') LIMIT ?2)"},
      {&count_user_active_,
       "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = ?1 AND requested_by = ?2"
       " AND state IN ('submitted', 'queued', 'running') LIMIT ?3)"},
      {&insert_job_,
       "INSERT INTO jobs (tenant_id, job_id, workspace_id, idempotency_key, management_node_id,"
       " request_fingerprint, spec_json, submission_id, accepted_at, trace_id, response_json,"
       " state, projection_version, result_ref_json, error_json, updated_at, submitted_by,"
       " requested_by)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'submitted', 1, NULL, NULL, ?9,"
       " ?12, ?13)"},
      {&find_job_for_event_,
       "SELECT state, submission_id, projection_version, workspace_id, result_ref_json,"
       " error_json, management_node_id, requested_by,"
       " (SELECT u.stored FROM job_unapplied_events u"
       "  WHERE u.tenant_id = jobs.tenant_id AND u.job_id = jobs.job_id)"
       " FROM jobs WHERE tenant_id = ?1 AND job_id = ?2"},
      {&find_event_,
       "SELECT fingerprint FROM job_events WHERE tenant_id = ?1 AND job_id = ?2 AND event_id = ?3"},
      // Which of the two runs is known from the count read with the job row (a
      // row exists from its first such event on, stored >= 1): a plain INSERT
      // or UPDATE is cheaper than an upsert that first tries the insert.
      {&first_unapplied_,
       "INSERT INTO job_unapplied_events (tenant_id, job_id, stored) VALUES (?1, ?2, 1)"},
      {&count_unapplied_,
       "UPDATE job_unapplied_events SET stored = stored + 1 WHERE tenant_id = ?1 AND job_id = ?2"},
      {&insert_event_,
       "INSERT INTO job_events (tenant_id, job_id, event_id, workspace_id, submission_id,"
       " execution_id, state, occurred_at, received_at, trace_id, result_ref_json, error_json,"
       " fingerprint, applied, actor_sub, actor_node_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"},
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
      // The tenant's head row, advanced by n (created at n): the transaction
      // holds the write lock, so the n seqs below last_seq are its own.
      {&advance_head_,
       "INSERT INTO job_change_heads (tenant_id, last_seq, pruned_through) VALUES (?1, ?2, 0)"
       " ON CONFLICT (tenant_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq"
       " RETURNING last_seq"},
      {&insert_change_,
       "INSERT INTO job_changes (tenant_id, seq, job_id, workspace_id, management_node_id,"
       " requested_by, projection_version, payload_json, created_us)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&prune_tenants_, PruneTenantsSql('?')},
      {&prune_through_, PruneThroughSql('?')},
      {&prune_head_,
       "UPDATE job_change_heads SET pruned_through = MAX(pruned_through, ?2) WHERE tenant_id = ?1"},
      {&prune_delete_, PruneDeleteSql('?')},
  });
}

Status JobWriter::Begin() { return begin_.Run("begin"); }

Status JobWriter::Commit() { return commit_.Run("commit"); }

void JobWriter::Rollback() {
  // ROLLBACK fails only when no transaction is open, which is what we want.
  if (db_.InTransaction()) (void)rollback_.Run("rollback");
}

Status JobWriter::Savepoint() { return savepoint_.Run("savepoint"); }

Status JobWriter::ReleaseSavepoint() { return release_.Run("release savepoint"); }

Status JobWriter::RollbackToSavepoint() {
  // ROLLBACK TO leaves the savepoint on the stack; RELEASE pops it so the
  // next write opens a fresh one at the same depth.
  if (Status s = rollback_to_.Run("rollback to savepoint"); !s) return s;
  return release_.Run("release savepoint");
}

Result<SubmitOutcome> JobWriter::Submit(const SubmitRecord& r) {
  // Looked up first, so a replay or conflict never attempts the insert.
  jobs::SubmitFinding found;
  {
    ResetGuard reset(find_by_key_);
    Result<bool> row = find_by_key_.FirstRow("find job by key", r.tenant_id, r.idempotency_key);
    if (!row) return std::move(row).error();
    if (*row) {
      found.by_key = jobs::SubmitFinding::ByKey{.request_fingerprint = find_by_key_.ColumnText(0),
                                                .response_json = find_by_key_.ColumnText(1)};
    }
  }
  if (!found.by_key && (r.max_active_jobs || r.max_active_jobs_per_user)) {
    // After the key (a replay is answered whatever the quota), before the job
    // id, as on PostgreSQL. Exact as it stands: this connection is the only
    // writer, and the count and the insert share its transaction.
    Result<jobs::ActiveJobCounts> active = CountActive(r);
    if (!active) return std::move(active).error();
    if (Status s = jobs::CheckSubmitQuota(r, *active); !s) return std::move(s).error();
  }
  if (!found.by_key) {
    ResetGuard reset(job_exists_);
    Result<bool> row = job_exists_.FirstRow("find job by id", r.tenant_id, r.job_id);
    if (!row) return std::move(row).error();
    found.job_id_taken = *row;
  }
  Result<SubmitOutcome> outcome = jobs::DecideSubmit(found, r);
  if (!outcome || outcome->replayed) return outcome;
  if (Status s = insert_job_.Run("insert job", r.tenant_id, r.job_id, r.workspace_id,
                                 r.idempotency_key, r.management_node_id, r.request_fingerprint,
                                 r.spec_json, r.submission_id, r.accepted_at, r.trace_id,
                                 r.response_json, r.submitted_by, r.requested_by);
      !s) {
    return std::move(s).error();
  }
  if (Status s = RecordChange(jobs::JobAfterSubmit(r), r.requested_by, r.accepted_at, r.trace_id);
      !s) {
    return std::move(s).error();
  }
  return outcome;
}

Result<jobs::ActiveJobCounts> JobWriter::CountActive(const SubmitRecord& r) {
  jobs::ActiveJobCounts active;
  if (r.max_active_jobs) {
    ResetGuard reset(count_active_);
    Result<bool> row = count_active_.FirstRow("count active jobs", r.tenant_id, *r.max_active_jobs);
    if (!row) return std::move(row).error();
    active.tenant = count_active_.ColumnInt64(0);
  }
  if (r.max_active_jobs_per_user) {
    ResetGuard reset(count_user_active_);
    Result<bool> row = count_user_active_.FirstRow("count active jobs of the user", r.tenant_id,
                                                   r.requested_by, *r.max_active_jobs_per_user);
    if (!row) return std::move(row).error();
    active.user = count_user_active_.ColumnInt64(0);
  }
  return active;
}

Result<EventOutcome> JobWriter::AppendEvent(const EventRecord& r) {
  jobs::JobHead head;
  JobRecord job{.tenant_id = r.tenant_id, .job_id = r.job_id};  // what the payload needs of it
  std::string requested_by;  // "" for a job stored before migration 6 without one
  {
    ResetGuard reset(find_job_for_event_);
    Result<bool> row = find_job_for_event_.FirstRow("find job for event", r.tenant_id, r.job_id);
    if (!row) return std::move(row).error();
    if (!*row) return NotFound("job not found");
    Result<jobs::JobState> state =
        jobs::ParseStoredJobState(find_job_for_event_.ColumnText(0), /*allow_submitted=*/true);
    if (!state) return std::move(state).error();
    head = jobs::JobHead{.state = *state,
                         .submission_id = find_job_for_event_.ColumnText(1),
                         .projection_version = find_job_for_event_.ColumnInt64(2),
                         .unapplied_events = find_job_for_event_.ColumnInt64(8)};
    job.workspace_id = find_job_for_event_.ColumnText(3);
    job.result_ref_json = find_job_for_event_.ColumnOptionalText(4);
    job.error_json = find_job_for_event_.ColumnOptionalText(5);
    job.management_node_id = find_job_for_event_.ColumnText(6);
    requested_by = find_job_for_event_.ColumnOptionalText(7).value_or("");
  }
  std::optional<std::string> known_fingerprint;
  {
    ResetGuard reset(find_event_);
    Result<bool> row = find_event_.FirstRow("find event", r.tenant_id, r.job_id, r.event_id);
    if (!row) return std::move(row).error();
    if (*row) known_fingerprint = find_event_.ColumnText(0);
  }
  const jobs::EventVerdict verdict = jobs::DecideEvent(head, known_fingerprint, r);
  Result<EventOutcome> outcome = jobs::EventOutcomeFor(verdict, head, r);
  if (verdict != jobs::EventVerdict::kApply && verdict != jobs::EventVerdict::kKeep) {
    return outcome;  // replay or conflict: nothing is written
  }
  const bool applied = verdict == jobs::EventVerdict::kApply;
  if (!applied) {
    // Only a never-applied event with a new event_id gets here: the cap's count.
    if (Status s = jobs::CheckUnappliedLimit(head.unapplied_events, r); !s) {
      return std::move(s).error();
    }
    Statement& count = head.unapplied_events == 0 ? first_unapplied_ : count_unapplied_;
    if (Status s = count.Run("count unapplied event", r.tenant_id, r.job_id); !s) {
      return std::move(s).error();
    }
  }
  const std::string_view state = jobs::ToString(r.state);
  if (Status s = insert_event_.Run(
          "insert event", r.tenant_id, r.job_id, r.event_id, r.workspace_id, r.submission_id,
          r.execution_id, state, r.occurred_at, r.received_at, r.trace_id, r.result_ref_json,
          r.error_json, r.fingerprint, applied, r.actor.sub, r.actor.node_id);
      !s) {
    return std::move(s).error();
  }
  if (!applied) return outcome;
  if (Status s = apply_event_.Run("apply event", r.tenant_id, r.job_id, state, r.received_at,
                                  r.result_ref_json, r.error_json);
      !s) {
    return std::move(s).error();
  }
  // The row as the UPDATE left it: the ProjectionUpdate describes it.
  job.submission_id = head.submission_id;
  job.state = head.state;
  job.projection_version = head.projection_version;
  jobs::ApplyEvent(job, r);
  if (Status s = RecordChange(job, std::move(requested_by), r.occurred_at, r.trace_id); !s) {
    return std::move(s).error();
  }
  return outcome;
}

Result<std::int64_t> JobWriter::PruneChanges(std::int64_t older_than_us, int max_rows) {
  std::vector<std::pair<std::string, std::int64_t>> tenants;  // tenant, pruned_through
  {
    ResetGuard reset(prune_tenants_);
    prune_tenants_.Bind(older_than_us);
    Status read = prune_tenants_.ForEachRow("find changes to prune", [&](const Statement& row) {
      tenants.emplace_back(row.ColumnText(0), row.ColumnInt64(1));
    });
    if (!read) return std::move(read).error();
  }
  std::int64_t deleted = 0;
  for (const auto& [tenant, pruned] : tenants) {
    if (deleted >= max_rows) break;
    std::int64_t through = 0;
    {
      ResetGuard reset(prune_through_);
      Result<bool> row = prune_through_.FirstRow("find changes to prune", tenant, pruned,
                                                 max_rows - deleted, older_than_us);
      if (!row) return std::move(row).error();
      if (!*row) continue;
      through = prune_through_.ColumnInt64(0);
    }
    if (Status s = prune_head_.Run("raise pruned_through", tenant, through); !s) {
      return std::move(s).error();
    }
    if (Status s = prune_delete_.Run("prune changes", tenant, through); !s) {
      return std::move(s).error();
    }
    deleted += prune_delete_.Changes();
  }
  return deleted;
}

Status JobWriter::TouchHealth() { return touch_health_.Run("health write"); }

}  // namespace rtgw::storage::sqlite
