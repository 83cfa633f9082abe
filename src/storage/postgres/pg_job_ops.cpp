#include "storage/postgres/pg_job_ops.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "jobs/job_rules.hpp"
#include "jobs/job_state.hpp"
#include "storage/change_batch.hpp"
#include "storage/job_list_sql.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/projection_update.hpp"
#include "storage/record_rows.hpp"

namespace rtgw::storage::postgres {
namespace {

constexpr const char* kInsertJob =
    "WITH j AS ("
    " INSERT INTO jobs (tenant_id, job_id, workspace_id, idempotency_key, management_node_id,"
    " request_fingerprint, spec_json, submission_id, accepted_at, trace_id, response_json,"
    " state, projection_version, result_ref_json, error_json, updated_at, submitted_by,"
    " requested_by)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'submitted', 1, NULL, NULL, $9, $13,"
    " $14)"
    " ON CONFLICT DO NOTHING RETURNING tenant_id, job_id)"
    " INSERT INTO projection_outbox (tenant_id, job_id, projection_version, payload_json)"
    " SELECT tenant_id, job_id, 1, $12 FROM j RETURNING id";

// The active jobs of a quota-checked submit: at most $3 of the tenant's and
// $4 of the user's (0: not counted; a LIMIT 0 reads nothing). Index-only
// range reads of jobs_list_state and jobs_list_requested_by.
constexpr const char* kCountActive =
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = $1"
    " AND state IN ('submitted', 'queued', 'running') LIMIT $3::bigint) AS t),"
    " (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = $1 AND requested_by = $2"
    " AND state IN ('submitted', 'queued', 'running') LIMIT $4::bigint) AS u)";

// The quota locks of a batch's tenants ($1, a text array), in ascending key
// order (a volatile function in the select list runs after the ORDER BY).
// Two-key advisory locks: a key space apart from the one-key locks of the
// revocations and the migrations.
constexpr const char* kLockQuotaTenants =
    "SELECT pg_advisory_xact_lock(hashtext('rtgw.job_quota'), k)"
    " FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest($1::text[]) AS t) AS keys ORDER BY k";

constexpr const char* kFindByKey =
    "SELECT request_fingerprint, response_json FROM jobs"
    " WHERE tenant_id = $1 AND idempotency_key = $2";

// The job row, locked until the batch commits. (Not joined with job_events: a
// row lock that waited re-reads the job row but not the joined rows, which
// would be from before the wait.)
constexpr const char* kLockJob =
    "SELECT state, submission_id, projection_version, workspace_id, result_ref_json, error_json,"
    " management_node_id, requested_by, (SELECT u.stored FROM job_unapplied_events u"
    " WHERE u.tenant_id = jobs.tenant_id AND u.job_id = jobs.job_id)"
    " FROM jobs WHERE tenant_id = $1 AND job_id = $2 FOR UPDATE OF jobs";

constexpr const char* kFindEvent =
    "SELECT fingerprint FROM job_events WHERE tenant_id = $1 AND job_id = $2 AND event_id = $3";

// A never-applied event, counted in job_unapplied_events when it is new.
constexpr const char* kInsertUnappliedEvent =
    "WITH ins AS (INSERT INTO job_events (tenant_id, job_id, event_id, workspace_id,"
    " submission_id, execution_id, state, occurred_at, received_at, trace_id, result_ref_json,"
    " error_json, fingerprint, applied, actor_sub, actor_node_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    " ON CONFLICT (tenant_id, job_id, event_id) DO NOTHING RETURNING seq),"
    " counted AS (INSERT INTO job_unapplied_events (tenant_id, job_id, stored)"
    " SELECT $1, $2, 1 WHERE EXISTS (SELECT 1 FROM ins) ON CONFLICT (tenant_id, job_id)"
    " DO UPDATE SET stored = job_unapplied_events.stored + 1)"
    " SELECT seq FROM ins";

// Event row, job update (a given result_ref/error replaces the stored one, an
// absent one keeps it) and outbox row, in one statement. $17 is the payload,
// $18 the expected new projection_version.
constexpr const char* kInsertAppliedEvent =
    "WITH e AS ("
    " INSERT INTO job_events (tenant_id, job_id, event_id, workspace_id, submission_id,"
    " execution_id, state, occurred_at, received_at, trace_id, result_ref_json, error_json,"
    " fingerprint, applied, actor_sub, actor_node_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    " ON CONFLICT (tenant_id, job_id, event_id) DO NOTHING RETURNING seq),"
    " u AS ("
    " UPDATE jobs SET state = $7, updated_at = $9,"
    " result_ref_json = COALESCE($11, result_ref_json),"
    " error_json = COALESCE($12, error_json),"
    " projection_version = projection_version + 1"
    " WHERE tenant_id = $1 AND job_id = $2 AND EXISTS (SELECT 1 FROM e)"
    " RETURNING projection_version),"
    " o AS ("
    " INSERT INTO projection_outbox (tenant_id, job_id, projection_version, payload_json)"
    " SELECT $1, $2, projection_version, $17 FROM u RETURNING projection_version)"
    " SELECT projection_version FROM o WHERE projection_version = $18::bigint";

// A tenant's changes of one transaction (change_batch.hpp), in one statement:
// advance the tenant's head row by n (its row lock is held until COMMIT, so
// the next transaction of the tenant, on any replica, numbers after this one
// and commits after it), insert the n changes below the new last_seq in
// order, and notify the LISTEN connections (delivered at COMMIT). created_us
// is the server's clock, read under the head lock: ascending with seq.
// $3.. are arrays, one element per change.
constexpr const char* kWriteTenantChanges =
    "WITH h AS ("
    " INSERT INTO job_change_heads AS h (tenant_id, last_seq, pruned_through)"
    " VALUES ($1, $2::bigint, 0)"
    " ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + excluded.last_seq"
    " RETURNING last_seq),"
    " c AS ("
    " INSERT INTO job_changes (tenant_id, seq, job_id, workspace_id, management_node_id,"
    " requested_by, projection_version, payload_json, created_us)"
    " SELECT $1, h.last_seq - $2::bigint + c.ord, c.job_id, c.workspace_id, c.node,"
    " c.requested_by, c.version, c.payload,"
    " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
    " FROM h, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])"
    " WITH ORDINALITY AS c (job_id, workspace_id, node, requested_by, version, payload, ord)"
    " RETURNING seq)"
    " SELECT h.last_seq, (SELECT count(*) FROM c), pg_notify('rtgw_job_changes', $1) FROM h";

// The `field` of every item as a PostgreSQL text array literal: {"a","b\\"c"}.
// (`field`: a member pointer, or std::identity for strings.)
template <class Range, class Field>
std::string TextArray(const Range& items, Field field) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : std::invoke(field, item)) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

constexpr const char* kTouchHealth =
    "INSERT INTO store_health (id, checked_at, write_count) VALUES (1, now(), 1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at,"
    " write_count = store_health.write_count + 1";

constexpr const char* kGetJob =
    "SELECT " RTGW_JOB_COLUMNS("") " FROM jobs WHERE tenant_id = $1 AND job_id = $2";

constexpr const char* kListEvents = "SELECT " RTGW_EVENT_COLUMNS
                                    " FROM job_events WHERE tenant_id = $1 AND job_id = $2"
                                    " ORDER BY seq";

// Runs `fn` in a transaction begun with `begin`: COMMIT when it succeeds,
// ROLLBACK otherwise.
constexpr const char* kReadSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

template <class T, class Fn>
Result<T> InTransaction(PgConn& conn, const char* begin, Fn&& fn) {
  if (Status s = conn.Exec(begin, "begin"); !s) return std::move(s).error();
  Result<T> out = fn();
  Status end = conn.Exec(out ? "COMMIT" : "ROLLBACK", "end transaction");
  if (out && !end) return std::move(end).error();
  return out;
}

// An insert that must have changed a row did not: another transaction got
// there in between, which the job row lock rules out. Retried by the caller.
Error Raced(const char* what) {
  return Unavailable(
      std::string("postgresql: concurrent change while ") + what + "; not stored, retry",
      "store_unavailable");
}

}  // namespace

Status PgLockQuotaTenants(PgConn& conn, std::span<const std::string> tenants) {
  if (tenants.empty()) return Ok{};
  const std::string array = TextArray(tenants, std::identity{});
  return conn.ExecPrepared("lock_quota_tenants", kLockQuotaTenants, Params::Of(array),
                           "lock tenant quotas");
}

Result<SubmitOutcome> PgSubmit(PgConn& conn, const SubmitRecord& r) {
  if (r.max_active_jobs || r.max_active_jobs_per_user) {
    // The batch holds the tenant's quota lock (PgLockQuotaTenants), so every
    // quota-checked insert of the tenant since this count is this batch's own.
    Result<PgResult> count =
        conn.QueryPrepared("count_active_jobs", kCountActive,
                           Params::Of(r.tenant_id, r.requested_by, r.max_active_jobs.value_or(0),
                                      r.max_active_jobs_per_user.value_or(0)),
                           "count active jobs");
    if (!count) return std::move(count).error();
    if (Status s = jobs::CheckSubmitQuota(
            r, jobs::ActiveJobCounts{.tenant = count->Int(0, 0), .user = count->Int(0, 1)});
        !s) {
      // Over quota, but the idempotency key decides first: a replay gets its
      // original answer, another body idempotency_conflict.
      Result<PgResult> by_key = conn.QueryPrepared(
          "find_by_key", kFindByKey, Params::Of(r.tenant_id, r.idempotency_key), "find job by key");
      if (!by_key) return std::move(by_key).error();
      if (by_key->rows() == 0) return std::move(s).error();
      return jobs::DecideSubmit(
          jobs::SubmitFinding{
              .by_key = jobs::SubmitFinding::ByKey{.request_fingerprint = by_key->Text(0, 0),
                                                   .response_json = by_key->Text(0, 1)}},
          r);
    }
  }
  // Inserted first: the unique keys are the check, so a new job costs one
  // statement. Only a taken key is looked at.
  const std::string payload =
      BuildProjectionUpdate(jobs::JobAfterSubmit(r), r.accepted_at, r.trace_id);
  Result<PgResult> ins = conn.QueryPrepared(
      "insert_job", kInsertJob,
      Params::Of(r.tenant_id, r.job_id, r.workspace_id, r.idempotency_key, r.management_node_id,
                 r.request_fingerprint, r.spec_json, r.submission_id, r.accepted_at, r.trace_id,
                 r.response_json, payload, r.submitted_by, r.requested_by),
      "insert job");
  if (!ins) return std::move(ins).error();
  if (ins->rows() == 1) {
    conn.changes().Add(MakeChange(jobs::JobAfterSubmit(r), r.requested_by, payload));
    return SubmitOutcome{.replayed = false, .response_json = r.response_json};
  }
  // A unique key was taken (by a committed row: ON CONFLICT waited for any
  // in-flight insert of it): the idempotency key, or else the job id.
  Result<PgResult> by_key = conn.QueryPrepared(
      "find_by_key", kFindByKey, Params::Of(r.tenant_id, r.idempotency_key), "find job by key");
  if (!by_key) return std::move(by_key).error();
  jobs::SubmitFinding found{.by_key = std::nullopt, .job_id_taken = true};
  if (by_key->rows() == 1) {
    found.by_key = jobs::SubmitFinding::ByKey{.request_fingerprint = by_key->Text(0, 0),
                                              .response_json = by_key->Text(0, 1)};
  }
  return jobs::DecideSubmit(found, r);
}

Result<EventOutcome> PgAppendEvent(PgConn& conn, const EventRecord& r) {
  Result<PgResult> row =
      conn.QueryPrepared("lock_job", kLockJob, Params::Of(r.tenant_id, r.job_id), "lock job");
  if (!row) return std::move(row).error();
  if (row->rows() == 0) return NotFound("job not found");
  Result<jobs::JobState> state =
      jobs::ParseStoredJobState(row->Text(0, 0), /*allow_submitted=*/true);
  if (!state) return std::move(state).error();
  const jobs::JobHead head{.state = *state,
                           .submission_id = row->Text(0, 1),
                           .projection_version = row->Int(0, 2),
                           .unapplied_events = row->Int(0, 8)};
  JobRecord after;  // the job row after an applied event, as the UPDATE leaves it

  // The fingerprint of the stored event with this id, looked up only when the
  // optimistic verdict needs it (jobs::DecideEvent).
  auto find_known = [&]() -> Result<std::optional<std::string>> {
    Result<PgResult> found = conn.QueryPrepared(
        "find_event", kFindEvent, Params::Of(r.tenant_id, r.job_id, r.event_id), "find event");
    if (!found) return std::move(found).error();
    if (found->rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(found->Text(0, 0));
  };

  const jobs::EventVerdict verdict = jobs::DecideEvent(head, std::nullopt, r);
  if (verdict == jobs::EventVerdict::kSubmissionMismatch) {
    Result<std::optional<std::string>> known = find_known();
    if (!known) return std::move(known).error();
    return jobs::EventOutcomeFor(jobs::DecideEvent(head, *known, r), head, r);
  }
  const bool applied = verdict == jobs::EventVerdict::kApply;
  const std::string state_text(jobs::ToString(r.state));
  Params p =
      Params::Of(r.tenant_id, r.job_id, r.event_id, r.workspace_id, r.submission_id, r.execution_id,
                 state_text, r.occurred_at, r.received_at, r.trace_id, r.result_ref_json,
                 r.error_json, r.fingerprint, applied, r.actor.sub, r.actor.node_id);
  // The insert is the check: ON CONFLICT on the unique event key does nothing
  // for a known event_id, which is then looked up.
  Result<PgResult> ins = Internal("unreachable");
  std::string payload;  // outlives the query: Params keep pointers
  if (!applied) {
    // The cap (jobs::CheckUnappliedLimit) on the job row's counter, read under
    // its lock. At the cap, a known event_id is still answered as before
    // (replay or event_conflict); only a new one is refused.
    if (Status s = jobs::CheckUnappliedLimit(head.unapplied_events, r); !s) {
      Result<std::optional<std::string>> known = find_known();
      if (!known) return std::move(known).error();
      if (!*known) return std::move(s).error();
      return jobs::EventOutcomeFor(jobs::DecideEvent(head, *known, r), head, r);
    }
    ins = conn.QueryPrepared("insert_event", kInsertUnappliedEvent, p, "insert event");
  } else {
    after = JobRecord{.tenant_id = r.tenant_id,
                      .job_id = r.job_id,
                      .workspace_id = row->Text(0, 3),
                      .submission_id = head.submission_id,
                      .management_node_id = row->Text(0, 6),
                      .state = head.state,
                      .result_ref_json = row->OptText(0, 4),
                      .error_json = row->OptText(0, 5),
                      .projection_version = head.projection_version};
    jobs::ApplyEvent(after, r);
    payload = BuildProjectionUpdate(after, r.occurred_at, r.trace_id);
    p.Text(payload).Int(after.projection_version);
    ins = conn.QueryPrepared("insert_applied_event", kInsertAppliedEvent, p, "apply event");
  }
  if (!ins) return std::move(ins).error();
  if (ins->rows() == 1) {
    // NULL requested_by: a job stored before migration 6 without one.
    if (applied) conn.changes().Add(MakeChange(after, row->OptText(0, 7).value_or(""), payload));
    return jobs::EventOutcomeFor(verdict, head, r);
  }
  Result<std::optional<std::string>> known = find_known();
  if (!known) return std::move(known).error();
  if (!*known) return Raced("inserting the event");
  return jobs::EventOutcomeFor(jobs::DecideEvent(head, *known, r), head, r);
}

Status PgWriteTenantChanges(PgConn& conn, const std::string& tenant_id,
                            std::span<ChangeRecord> changes) {
  const std::span<const ChangeRecord> c(changes.data(), changes.size());
  const std::string job_ids = TextArray(c, &ChangeRecord::job_id);
  const std::string workspaces = TextArray(c, &ChangeRecord::workspace_id);
  const std::string nodes = TextArray(c, &ChangeRecord::management_node_id);
  const std::string requested_by = TextArray(c, &ChangeRecord::requested_by);
  std::string versions = "{";
  for (const ChangeRecord& x : c) {
    if (versions.size() > 1) versions += ',';
    versions += std::to_string(x.projection_version);
  }
  versions += '}';
  const std::string payloads = TextArray(c, &ChangeRecord::payload_json);
  const auto n = static_cast<std::int64_t>(changes.size());
  Result<PgResult> r = conn.QueryPrepared(
      "write_tenant_changes", kWriteTenantChanges,
      Params::Of(tenant_id, n, job_ids, workspaces, nodes, requested_by, versions, payloads),
      "write job changes");
  if (!r) return std::move(r).error();
  if (r->rows() != 1 || r->Int(0, 1) != n) {
    return Internal("postgresql: write job changes: head or change rows missing");
  }
  std::int64_t seq = r->Int(0, 0) - n;
  for (ChangeRecord& x : changes) x.seq = ++seq;
  return Ok{};
}

Status PgTouchHealth(PgConn& conn) {
  return conn.ExecPrepared("touch_health", kTouchHealth, Params(), "health write");
}

Result<JobRecord> PgGetJob(PgConn& conn, const std::string& tenant_id, const std::string& job_id) {
  Result<PgResult> r =
      conn.QueryPrepared("get_job", kGetJob, Params::Of(tenant_id, job_id), "read job");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return NotFound("job not found");
  return ReadJobRow(PgRow(*r, 0));
}

Result<JobDetail> PgGetDetail(PgConn& conn, const std::string& tenant_id,
                              const std::string& job_id) {
  // One snapshot for the job and its events.
  return InTransaction<JobDetail>(conn, kReadSnapshot, [&]() -> Result<JobDetail> {
    Result<JobRecord> job = PgGetJob(conn, tenant_id, job_id);
    if (!job) return std::move(job).error();
    JobDetail detail;
    detail.job = std::move(job).value();
    Result<PgResult> ev = conn.QueryPrepared("list_events", kListEvents,
                                             Params::Of(tenant_id, job_id), "read events");
    if (!ev) return std::move(ev).error();
    detail.events.reserve(static_cast<std::size_t>(ev->rows()));
    for (int i = 0; i < ev->rows(); ++i) {
      Result<EventView> event = ReadEventRow(PgRow(*ev, i));
      if (!event) return std::move(event).error();
      detail.events.push_back(std::move(event).value());
    }
    return detail;
  });
}

namespace {

Result<ChangeHead> ReadHead(PgConn& conn, const std::string& tenant_id) {
  static const std::string kSql = ReadHeadSql('$');
  Result<PgResult> r =
      conn.QueryPrepared("feed_read_head", kSql.c_str(), Params::Of(tenant_id), "read change head");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return ChangeHead{};
  return ChangeHead{.last_seq = r->Int(0, 0), .pruned_through = r->Int(0, 1)};
}

}  // namespace

Result<JobPage> PgListJobs(PgConn& conn, const JobListQuery& query) {
  // Head first: a change committed after it has a higher seq, so a watch
  // from head.last_seq sees every change the page may miss.
  std::optional<ChangeHead> head;
  if (query.with_head) {
    Result<ChangeHead> h = ReadHead(conn, query.tenant_id);
    if (!h) return std::move(h).error();
    head = *h;
  }
  const SqlWithParams list = BuildJobListSql(query, '$');
  const Params p = Params::OfValues(list.params);
  // Not prepared: the statement differs per filter combination, and a
  // custom plan per call suits the ranges.
  Result<PgResult> r = conn.Query(list.sql, p, "list jobs");
  if (!r) return std::move(r).error();
  JobPage page;
  page.head = head;
  const int rows = std::min(r->rows(), query.limit);
  page.more = r->rows() > query.limit;
  page.jobs.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    Result<JobRecord> job = ReadJobRow(PgRow(*r, i));
    if (!job) return std::move(job).error();
    page.jobs.push_back(std::move(job).value());
  }
  return page;
}

Result<ChangePage> PgReadChanges(PgConn& conn, const std::string& tenant_id, std::int64_t after_seq,
                                 int limit) {
  static const std::string kSql = ReadChangesSql('$');
  return InTransaction<ChangePage>(conn, kReadSnapshot, [&]() -> Result<ChangePage> {
    ChangePage page;
    Result<ChangeHead> head = ReadHead(conn, tenant_id);
    if (!head) return std::move(head).error();
    page.head = *head;
    Result<PgResult> r = conn.QueryPrepared(
        "feed_read_changes", kSql.c_str(), Params::Of(tenant_id, after_seq, limit), "read changes");
    if (!r) return std::move(r).error();
    page.changes = MapRows(*r, [](const PgRow& row) { return ReadChangeRow(row); });
    return page;
  });
}

Result<std::int64_t> PgPruneChanges(PgConn& conn, std::int64_t older_than_us, int max_rows) {
  static const std::string kTenants = PruneTenantsSql('$');
  static const std::string kThrough = PruneThroughSql('$');
  static const std::string kRemove = PruneDeleteSql('$');
  return InTransaction<std::int64_t>(conn, "BEGIN", [&]() -> Result<std::int64_t> {
    Result<PgResult> found = conn.QueryPrepared("feed_prune_tenants", kTenants.c_str(),
                                                Params::Of(older_than_us), "find changes to prune");
    if (!found) return std::move(found).error();
    std::int64_t deleted = 0;
    // Tenants ascending (the query's order): head rows are locked in the
    // order every change flush locks them, so pruning never deadlocks writers.
    for (int i = 0; i < found->rows() && deleted < max_rows; ++i) {
      const std::string tenant = found->Text(i, 0);
      Result<PgResult> through = conn.QueryPrepared(
          "feed_prune_through", kThrough.c_str(),
          Params::Of(tenant, found->Int(i, 1), static_cast<std::int64_t>(max_rows) - deleted,
                     older_than_us),
          "find changes to prune");
      if (!through) return std::move(through).error();
      if (through->rows() == 0) continue;
      const std::int64_t seq = through->Int(0, 0);
      if (Status s = conn.ExecPrepared(
              "feed_prune_head",
              "UPDATE job_change_heads SET pruned_through = GREATEST(pruned_through, $2)"
              " WHERE tenant_id = $1",
              Params::Of(tenant, seq), "raise pruned_through");
          !s) {
        return std::move(s).error();
      }
      Result<PgResult> del = conn.QueryPrepared("feed_prune_delete", kRemove.c_str(),
                                                Params::Of(tenant, seq), "prune changes");
      if (!del) return std::move(del).error();
      deleted += del->Affected();
    }
    return deleted;
  });
}

}  // namespace rtgw::storage::postgres
