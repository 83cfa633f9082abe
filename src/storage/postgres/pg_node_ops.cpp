#include "storage/postgres/pg_node_ops.hpp"

#include <utility>

#include "jobs/job_rules.hpp"
#include "jobs/job_state.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_job_ops.hpp"
#include "storage/record_rows.hpp"

namespace rtgw::storage::postgres {
namespace {

constexpr const char* kUpsertNode =
    "INSERT INTO nodes (tenant_id, node_id, sub, agent_version, executor, catalogue_json,"
    " in_flight, first_seen_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
    " ON CONFLICT (tenant_id, node_id) DO UPDATE SET sub = excluded.sub,"
    " agent_version = excluded.agent_version, executor = excluded.executor,"
    " catalogue_json = excluded.catalogue_json, in_flight = excluded.in_flight,"
    " last_seen_ms = excluded.last_seen_ms";

// Step 1 of a grant: lock this node's leasable jobs, oldest first, skipping
// rows another transaction holds (a replica granting or cancelling them).
constexpr const char* kLockLeasable =
    "SELECT j.job_id FROM jobs j"
    " LEFT JOIN job_leases l ON l.tenant_id = j.tenant_id AND l.job_id = j.job_id"
    " WHERE j.tenant_id = $1 AND j.management_node_id = $2 AND j.state = 'submitted'"
    " AND (l.job_id IS NULL OR l.released OR l.expires_at_ms <= $3)"
    " AND NOT EXISTS (SELECT 1 FROM job_cancels c"
    "                 WHERE c.tenant_id = j.tenant_id AND c.job_id = j.job_id)"
    " ORDER BY j.accepted_at, j.job_id LIMIT $4"
    " FOR UPDATE OF j SKIP LOCKED";

// Step 2: with the job rows locked, a new statement (a new snapshot) re-checks
// each one and upserts its lease; ON CONFLICT DO UPDATE sees the latest
// committed lease row and only takes it over when released or expired.
constexpr const char* kGrant =
    "WITH g AS ("
    " INSERT INTO job_leases (tenant_id, job_id, node_id, lease_id, granted_at_ms,"
    " expires_at_ms, released, grants)"
    " SELECT j.tenant_id, j.job_id, $2, gen_random_uuid()::text, $3, $4, false, 1"
    " FROM jobs j WHERE j.tenant_id = $1 AND j.job_id = ANY ($5::text[])"
    " AND j.management_node_id = $2 AND j.state = 'submitted'"
    " AND NOT EXISTS (SELECT 1 FROM job_cancels c"
    "                 WHERE c.tenant_id = j.tenant_id AND c.job_id = j.job_id)"
    " ON CONFLICT (tenant_id, job_id) DO UPDATE SET node_id = excluded.node_id,"
    " lease_id = excluded.lease_id, granted_at_ms = excluded.granted_at_ms,"
    " expires_at_ms = excluded.expires_at_ms, released = false,"
    " grants = job_leases.grants + 1"
    " WHERE job_leases.released OR job_leases.expires_at_ms <= $3"
    " RETURNING job_id, lease_id)"
    " SELECT " RTGW_JOB_COLUMNS("j.") ", g.lease_id"
    " FROM g JOIN jobs j ON j.tenant_id = $1 AND j.job_id = g.job_id"
    " ORDER BY j.accepted_at, j.job_id";

constexpr const char* kMarkDelivered =
    "UPDATE job_cancels c SET delivered_at_ms = $3"
    " WHERE c.tenant_id = $1 AND c.node_id = $2 AND c.delivered_at_ms IS NULL"
    " AND EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = c.tenant_id"
    "             AND j.job_id = c.job_id AND j.state IN ('submitted', 'queued', 'running'))";

constexpr const char* kListCancels =
    "SELECT j.job_id, j.submission_id,"
    " (SELECT e.execution_id FROM job_events e WHERE e.tenant_id = j.tenant_id"
    "   AND e.job_id = j.job_id AND e.execution_id <> '' ORDER BY e.seq DESC LIMIT 1)"
    " FROM job_cancels c JOIN jobs j ON j.tenant_id = c.tenant_id AND j.job_id = c.job_id"
    " WHERE c.tenant_id = $1 AND c.node_id = $2"
    " AND j.state IN ('submitted', 'queued', 'running')"
    " ORDER BY c.requested_at_ms, c.job_id LIMIT 1000";

// Renew first takes the lease's job row lock (the lock every grant and cancel
// of that job holds), so the UPDATE after it sees any cancel or regrant that
// committed before: a renew never outlives a cancel request.
constexpr const char* kLockLeaseJob =
    "SELECT j.job_id FROM job_leases l"
    " JOIN jobs j ON j.tenant_id = l.tenant_id AND j.job_id = l.job_id"
    " WHERE l.lease_id = $3 AND l.tenant_id = $1 AND l.node_id = $2 FOR UPDATE OF j";

constexpr const char* kRenew =
    "UPDATE job_leases l SET expires_at_ms = $4 FROM jobs j"
    " WHERE l.lease_id = $3 AND l.tenant_id = $1 AND l.node_id = $2 AND NOT l.released"
    " AND j.tenant_id = l.tenant_id AND j.job_id = l.job_id AND j.state = 'submitted'"
    " AND NOT EXISTS (SELECT 1 FROM job_cancels c WHERE c.tenant_id = l.tenant_id"
    "                 AND c.job_id = l.job_id)"
    " RETURNING l.expires_at_ms";

constexpr const char* kRelease =
    "UPDATE job_leases SET released = true"
    " WHERE lease_id = $3 AND tenant_id = $1 AND node_id = $2 AND NOT released";

constexpr const char* kLockCancelTarget =
    "SELECT state, workspace_id, submission_id, management_node_id FROM jobs"
    " WHERE tenant_id = $1 AND job_id = $2 FOR UPDATE";

// Run after the job row lock was taken: sees every cancel and grant committed
// before it (both happen under that lock).
constexpr const char* kCancelFacts =
    "SELECT EXISTS (SELECT 1 FROM job_cancels WHERE tenant_id = $1 AND job_id = $2),"
    " EXISTS (SELECT 1 FROM job_leases WHERE tenant_id = $1 AND job_id = $2)";

constexpr const char* kInsertCancel =
    "INSERT INTO job_cancels (tenant_id, job_id, node_id, requested_at_ms, requested_by,"
    " trace_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, job_id) DO NOTHING";

constexpr const char* kFindSubmit =
    "SELECT request_fingerprint, response_json FROM jobs"
    " WHERE tenant_id = $1 AND idempotency_key = $2";

// A text[] literal: every element double-quoted, '"' and '\' escaped.
std::string ArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Result<std::vector<Lease>> GrantLeases(PgConn& conn, const LeaseRequest& req) {
  const std::int64_t now_ms = ToEpochMs(req.now);
  const SystemTime expires = req.now + req.lease;
  Result<PgResult> locked = conn.QueryPrepared(
      "node_lock_leasable", kLockLeasable,
      Params::Of(req.tenant_id, req.node_id, now_ms, req.max_jobs), "lock leasable jobs");
  if (!locked) return std::move(locked).error();
  std::vector<Lease> leases;
  if (locked->rows() == 0) return leases;
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(locked->rows()));
  for (int i = 0; i < locked->rows(); ++i) ids.push_back(locked->Text(i, 0));
  const std::string array = ArrayLiteral(ids);
  Result<PgResult> granted = conn.QueryPrepared(
      "node_grant", kGrant,
      Params::Of(req.tenant_id, req.node_id, now_ms, ToEpochMs(expires), array), "grant leases");
  if (!granted) return std::move(granted).error();
  for (int i = 0; i < granted->rows(); ++i) {
    Result<JobRecord> job = ReadJobRow(PgRow(*granted, i));
    if (!job) return std::move(job).error();
    leases.push_back(Lease{.lease_id = granted->Text(i, kJobColumns),
                           .expires_at = expires,
                           .job = std::move(job).value()});
  }
  return leases;
}

}  // namespace

Status PgRecordHeartbeat(PgConn& conn, const NodeHeartbeat& hb) {
  return conn.ExecPrepared(
      "node_upsert", kUpsertNode,
      Params::Of(hb.tenant_id, hb.node_id, hb.sub, hb.agent_version, hb.executor, hb.catalogue_json,
                 hb.in_flight, ToEpochMs(hb.now)),
      "upsert node");
}

Result<AcquireResult> PgAcquireLeases(PgConn& conn, const LeaseRequest& req) {
  AcquireResult out;
  Result<std::vector<Lease>> leases = GrantLeases(conn, req);
  if (!leases) return std::move(leases).error();
  out.leases = std::move(leases).value();
  Result<bool> marked = conn.ExecPreparedChanged(
      "node_mark_delivered", kMarkDelivered,
      Params::Of(req.tenant_id, req.node_id, ToEpochMs(req.now)), "mark cancels delivered");
  if (!marked) return std::move(marked).error();
  out.new_cancellations = *marked;
  Result<PgResult> cancels =
      conn.QueryPrepared("node_list_cancels", kListCancels, Params::Of(req.tenant_id, req.node_id),
                         "list cancellations");
  if (!cancels) return std::move(cancels).error();
  out.cancellations = MapRows(*cancels, [](const PgRow& row) {
    return CancelItem{
        .job_id = row.Text(0), .submission_id = row.Text(1), .execution_id = row.OptText(2)};
  });
  return out;
}

Result<SystemTime> PgRenewLease(PgConn& conn, const std::string& tenant_id,
                                const std::string& node_id, const std::string& lease_id,
                                SystemTime expires_at) {
  Result<PgResult> locked =
      conn.QueryPrepared("node_lock_lease_job", kLockLeaseJob,
                         Params::Of(tenant_id, node_id, lease_id), "lock leased job");
  if (!locked) return std::move(locked).error();
  const Error lost = Conflict("lease " + lease_id +
                                  " is no longer held: it was granted again, released, the job "
                                  "left 'submitted' or a cancel was requested",
                              "lease_lost");
  if (locked->rows() == 0) return lost;
  Result<PgResult> r = conn.QueryPrepared(
      "node_renew", kRenew, Params::Of(tenant_id, node_id, lease_id, ToEpochMs(expires_at)),
      "renew lease");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return lost;
  return FromEpochMs(r->Int(0, 0));
}

Status PgReleaseLease(PgConn& conn, const std::string& tenant_id, const std::string& node_id,
                      const std::string& lease_id) {
  return conn.ExecPrepared("node_release", kRelease, Params::Of(tenant_id, node_id, lease_id),
                           "release lease");
}

Result<CancelOutcome> PgRequestCancel(PgConn& conn, const CancelRequest& r) {
  Result<PgResult> job =
      conn.QueryPrepared("node_lock_cancel_target", kLockCancelTarget,
                         Params::Of(r.tenant_id, r.job_id), "lock job to cancel");
  if (!job) return std::move(job).error();
  if (job->rows() == 0) return NotFound("job not found");
  Result<jobs::JobState> state =
      jobs::ParseStoredJobState(job->Text(0, 0), /*allow_submitted=*/true);
  if (!state) return std::move(state).error();
  const std::string workspace_id = job->Text(0, 1);
  const std::string submission_id = job->Text(0, 2);
  const std::string node_id = job->Text(0, 3);
  Result<PgResult> facts =
      conn.QueryPrepared("node_cancel_facts", kCancelFacts, Params::Of(r.tenant_id, r.job_id),
                         "read cancel and lease");
  if (!facts) return std::move(facts).error();
  Result<jobs::CancelVerdict> verdict =
      jobs::DecideCancel(jobs::CancelFacts{.state = *state,
                                           .management_node_id = node_id,
                                           .cancel_recorded = facts->Bool(0, 0),
                                           .ever_leased = facts->Bool(0, 1)},
                         r.node_id, r.job_id);
  if (!verdict) return std::move(verdict).error();
  CancelOutcome out;
  out.state = *state;
  out.management_node_id = node_id;
  if (*verdict == jobs::CancelVerdict::kAlreadyRequested) {
    out.already_requested = true;
    return out;
  }
  if (Status s = conn.ExecPrepared(
          "node_insert_cancel", kInsertCancel,
          Params::Of(r.tenant_id, r.job_id, node_id, ToEpochMs(r.now), r.requested_by, r.trace_id),
          "record cancel");
      !s) {
    return std::move(s).error();
  }
  if (*verdict == jobs::CancelVerdict::kRecordAndCancelNow) {
    Result<EventOutcome> applied =
        PgAppendEvent(conn, GatewayCancelEvent(r, workspace_id, submission_id));
    if (!applied) return std::move(applied).error();
    out.state = applied->state;
    out.cancelled_now = applied->applied;
  }
  return out;
}

Result<NodeRecord> PgGetNode(PgConn& conn, const std::string& tenant_id,
                             const std::string& node_id) {
  Result<PgResult> r = conn.QueryPrepared(
      "node_get", "SELECT " RTGW_NODE_COLUMNS " FROM nodes WHERE tenant_id = $1 AND node_id = $2",
      Params::Of(tenant_id, node_id), "read node");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return NotFound("node not found");
  return ReadNodeRow(PgRow(*r, 0));
}

Result<std::vector<NodeRecord>> PgListNodes(PgConn& conn,
                                            const std::optional<std::string>& tenant_id) {
  Result<PgResult> r = conn.QueryPrepared("node_list",
                                          "SELECT " RTGW_NODE_COLUMNS
                                          " FROM nodes WHERE ($1::text IS NULL OR tenant_id = $1)"
                                          " ORDER BY tenant_id, node_id LIMIT 10000",
                                          Params::Of(tenant_id), "list nodes");
  if (!r) return std::move(r).error();
  return MapRows(*r, ReadNodeRow<PgRow>);
}

Result<std::optional<NodeStore::StoredSubmit>> PgFindSubmit(PgConn& conn,
                                                            const std::string& tenant_id,
                                                            const std::string& idempotency_key) {
  Result<PgResult> r = conn.QueryPrepared("node_find_submit", kFindSubmit,
                                          Params::Of(tenant_id, idempotency_key), "find submit");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return std::optional<NodeStore::StoredSubmit>();
  return std::optional<NodeStore::StoredSubmit>(NodeStore::StoredSubmit{
      .request_fingerprint = r->Text(0, 0), .response_json = r->Text(0, 1)});
}

}  // namespace rtgw::storage::postgres
