#include "storage/sqlite/node_sql.hpp"

#include <utility>

#include <sqlite3.h>

#include "common/random.hpp"
#include "jobs/job_state.hpp"
#include "storage/record_rows.hpp"

namespace rtgw::storage::sqlite {

Result<std::unique_ptr<NodeWriter>> NodeWriter::Create(Database& db) {
  std::unique_ptr<NodeWriter> w(new NodeWriter());
  Status prepared = db.PrepareAll({
      {&w->upsert_node_,
       "INSERT INTO nodes (tenant_id, node_id, sub, agent_version, executor, catalogue_json,"
       " in_flight, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
       " ON CONFLICT (tenant_id, node_id) DO UPDATE SET sub = excluded.sub,"
       " agent_version = excluded.agent_version, executor = excluded.executor,"
       " catalogue_json = excluded.catalogue_json, in_flight = excluded.in_flight,"
       " last_seen_ms = excluded.last_seen_ms"},
      // Leasable: submitted, this node's, no cancel request, no live lease.
      // Served by the index jobs_by_node (tenant, node, state, accepted_at).
      {&w->select_leasable_,
       "SELECT " RTGW_JOB_COLUMNS(
           "j.") " FROM jobs j LEFT JOIN job_leases l ON l.tenant_id = j.tenant_id AND l.job_id = "
                 "j.job_id"
                 " WHERE j.tenant_id = ?1 AND j.management_node_id = ?2 AND j.state = 'submitted'"
                 " AND (l.job_id IS NULL OR l.released = 1 OR l.expires_at_ms <= ?3)"
                 " AND NOT EXISTS (SELECT 1 FROM job_cancels c"
                 "                 WHERE c.tenant_id = j.tenant_id AND c.job_id = j.job_id)"
                 " ORDER BY j.accepted_at, j.job_id LIMIT ?4"},
      {&w->upsert_lease_,
       "INSERT INTO job_leases (tenant_id, job_id, node_id, lease_id, granted_at_ms,"
       " expires_at_ms, released, grants) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 1)"
       " ON CONFLICT (tenant_id, job_id) DO UPDATE SET node_id = excluded.node_id,"
       " lease_id = excluded.lease_id, granted_at_ms = excluded.granted_at_ms,"
       " expires_at_ms = excluded.expires_at_ms, released = 0, grants = grants + 1"},
      {&w->list_cancels_,
       "SELECT j.job_id, j.submission_id,"
       " (SELECT e.execution_id FROM job_events e WHERE e.tenant_id = j.tenant_id"
       "   AND e.job_id = j.job_id AND e.execution_id <> '' ORDER BY e.seq DESC LIMIT 1)"
       " FROM job_cancels c JOIN jobs j ON j.tenant_id = c.tenant_id AND j.job_id = c.job_id"
       " WHERE c.tenant_id = ?1 AND c.node_id = ?2"
       " AND j.state IN ('submitted', 'queued', 'running')"
       " ORDER BY c.requested_at_ms, c.job_id LIMIT 1000"},
      {&w->mark_delivered_,
       "UPDATE job_cancels SET delivered_at_ms = ?3"
       " WHERE tenant_id = ?1 AND node_id = ?2 AND delivered_at_ms IS NULL"
       " AND EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = job_cancels.tenant_id"
       "             AND j.job_id = job_cancels.job_id"
       "             AND j.state IN ('submitted', 'queued', 'running'))"},
      {&w->renew_,
       "UPDATE job_leases SET expires_at_ms = ?4"
       " WHERE lease_id = ?3 AND tenant_id = ?1 AND node_id = ?2 AND released = 0"
       " AND EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = job_leases.tenant_id"
       "             AND j.job_id = job_leases.job_id AND j.state = 'submitted')"
       " AND NOT EXISTS (SELECT 1 FROM job_cancels c WHERE c.tenant_id = job_leases.tenant_id"
       "                 AND c.job_id = job_leases.job_id)"
       " RETURNING expires_at_ms"},
      {&w->release_,
       "UPDATE job_leases SET released = 1"
       " WHERE lease_id = ?3 AND tenant_id = ?1 AND node_id = ?2 AND released = 0"
       " RETURNING job_id"},
      {&w->find_cancel_target_,
       "SELECT j.state, j.workspace_id, j.submission_id, j.management_node_id,"
       " EXISTS (SELECT 1 FROM job_cancels c WHERE c.tenant_id = j.tenant_id"
       "         AND c.job_id = j.job_id),"
       " EXISTS (SELECT 1 FROM job_leases l WHERE l.tenant_id = j.tenant_id"
       "         AND l.job_id = j.job_id)"
       " FROM jobs j WHERE j.tenant_id = ?1 AND j.job_id = ?2"},
      {&w->insert_cancel_,
       "INSERT INTO job_cancels (tenant_id, job_id, node_id, requested_at_ms, requested_by,"
       " trace_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (tenant_id, job_id) DO NOTHING"},
  });
  if (!prepared) return std::move(prepared).error();
  return w;
}

Status NodeWriter::UpsertNode(const NodeHeartbeat& hb) {
  return upsert_node_.Run("upsert node", hb.tenant_id, hb.node_id, hb.sub, hb.agent_version,
                          hb.executor, hb.catalogue_json, hb.in_flight, ToEpochMs(hb.now));
}

Result<std::vector<Lease>> NodeWriter::GrantLeases(const LeaseRequest& req) {
  const std::int64_t now_ms = ToEpochMs(req.now);
  const SystemTime expires = req.now + req.lease;
  std::vector<Lease> leases;
  {
    // Read every candidate first, then write: no statement steps over a table
    // while another one changes it.
    ResetGuard reset(select_leasable_);
    select_leasable_.Bind(req.tenant_id, req.node_id, now_ms, req.max_jobs);
    Status read =
        select_leasable_.ForEachRow("select leasable", [&](const Statement& row) -> Status {
          Result<JobRecord> job = ReadJobRow(row);
          if (!job) return std::move(job).error();
          leases.push_back(
              Lease{.lease_id = NewUuidV4(), .expires_at = expires, .job = std::move(job).value()});
          return Ok{};
        });
    if (!read) return std::move(read).error();
  }
  for (const Lease& lease : leases) {
    if (Status s = upsert_lease_.Run("grant lease", lease.job.tenant_id, lease.job.job_id,
                                     req.node_id, lease.lease_id, now_ms, ToEpochMs(expires));
        !s) {
      return std::move(s).error();
    }
  }
  return leases;
}

Result<std::vector<CancelItem>> NodeWriter::ListCancellations(const std::string& tenant_id,
                                                              const std::string& node_id) {
  std::vector<CancelItem> out;
  ResetGuard reset(list_cancels_);
  list_cancels_.Bind(tenant_id, node_id);
  Status read = list_cancels_.ForEachRow("list cancellations", [&](const Statement& row) {
    out.push_back(CancelItem{.job_id = row.ColumnText(0),
                             .submission_id = row.ColumnText(1),
                             .execution_id = row.ColumnOptionalText(2)});
  });
  if (!read) return std::move(read).error();
  return out;
}

Result<bool> NodeWriter::MarkCancelsDelivered(const std::string& tenant_id,
                                              const std::string& node_id, SystemTime now) {
  if (Status s = mark_delivered_.Run("mark cancels delivered", tenant_id, node_id, ToEpochMs(now));
      !s) {
    return std::move(s).error();
  }
  return mark_delivered_.Changes() > 0;
}

Result<SystemTime> NodeWriter::RenewLease(const std::string& tenant_id, const std::string& node_id,
                                          const std::string& lease_id, SystemTime expires_at) {
  ResetGuard reset(renew_);
  renew_.Bind(tenant_id, node_id, lease_id, ToEpochMs(expires_at));
  const int rc = renew_.Step();
  if (rc == SQLITE_DONE) {
    return Conflict("lease " + lease_id +
                        " is no longer held: it was granted again, released, the job left "
                        "'submitted' or a cancel was requested",
                    "lease_lost");
  }
  if (rc != SQLITE_ROW) return SqliteError(rc, renew_.db(), "renew lease");
  const SystemTime stored = FromEpochMs(renew_.ColumnInt64(0));
  // Drain RETURNING so the UPDATE completes before the statement is reset.
  if (const int done = renew_.Step(); done != SQLITE_DONE) {
    return SqliteError(done, renew_.db(), "renew lease");
  }
  return stored;
}

Result<bool> NodeWriter::ReleaseLease(const std::string& tenant_id, const std::string& node_id,
                                      const std::string& lease_id) {
  ResetGuard reset(release_);
  release_.Bind(tenant_id, node_id, lease_id);
  const int rc = release_.Step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return SqliteError(rc, release_.db(), "release lease");
  if (const int done = release_.Step(); done != SQLITE_DONE) {
    return SqliteError(done, release_.db(), "release lease");
  }
  return true;
}

Result<NodeWriter::CancelTarget> NodeWriter::FindCancelTarget(const std::string& tenant_id,
                                                              const std::string& job_id) {
  ResetGuard reset(find_cancel_target_);
  Result<bool> row = find_cancel_target_.FirstRow("find job to cancel", tenant_id, job_id);
  if (!row) return std::move(row).error();
  if (!*row) return NotFound("job not found");
  Result<jobs::JobState> state =
      jobs::ParseStoredJobState(find_cancel_target_.ColumnText(0), /*allow_submitted=*/true);
  if (!state) return std::move(state).error();
  CancelTarget t;
  t.state = *state;
  t.workspace_id = find_cancel_target_.ColumnText(1);
  t.submission_id = find_cancel_target_.ColumnText(2);
  t.management_node_id = find_cancel_target_.ColumnText(3);
  t.cancel_recorded = find_cancel_target_.ColumnInt64(4) != 0;
  t.ever_leased = find_cancel_target_.ColumnInt64(5) != 0;
  return t;
}

Status NodeWriter::InsertCancel(const CancelRequest& r, const std::string& node_id) {
  return insert_cancel_.Run("record cancel", r.tenant_id, r.job_id, node_id, ToEpochMs(r.now),
                            r.requested_by, r.trace_id);
}

Result<std::unique_ptr<NodeReader>> NodeReader::Create(Database& db) {
  std::unique_ptr<NodeReader> r(new NodeReader());
  Status prepared = db.PrepareAll({
      {&r->get_node_,
       "SELECT " RTGW_NODE_COLUMNS " FROM nodes WHERE tenant_id = ?1 AND node_id = ?2"},
      {&r->list_nodes_,
       "SELECT " RTGW_NODE_COLUMNS " FROM nodes ORDER BY tenant_id, node_id LIMIT 10000"},
      {&r->list_tenant_nodes_,
       "SELECT " RTGW_NODE_COLUMNS " FROM nodes WHERE tenant_id = ?1 ORDER BY node_id LIMIT 10000"},
      {&r->find_submit_,
       "SELECT request_fingerprint, response_json FROM jobs"
       " WHERE tenant_id = ?1 AND idempotency_key = ?2"},
  });
  if (!prepared) return std::move(prepared).error();
  return r;
}

Result<NodeRecord> NodeReader::GetNode(const std::string& tenant_id, const std::string& node_id) {
  ResetGuard reset(get_node_);
  Result<bool> row = get_node_.FirstRow("read node", tenant_id, node_id);
  if (!row) return std::move(row).error();
  if (!*row) return NotFound("node not found");
  return ReadNodeRow(get_node_);
}

Result<std::vector<NodeRecord>> NodeReader::ListNodes(const std::optional<std::string>& tenant_id) {
  Statement& stmt = tenant_id ? list_tenant_nodes_ : list_nodes_;
  ResetGuard reset(stmt);
  if (tenant_id) stmt.Bind(*tenant_id);
  std::vector<NodeRecord> out;
  Status read =
      stmt.ForEachRow("list nodes", [&](const Statement& row) { out.push_back(ReadNodeRow(row)); });
  if (!read) return std::move(read).error();
  return out;
}

Result<std::optional<NodeStore::StoredSubmit>> NodeReader::FindSubmit(
    const std::string& tenant_id, const std::string& idempotency_key) {
  ResetGuard reset(find_submit_);
  Result<bool> row = find_submit_.FirstRow("find submit", tenant_id, idempotency_key);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<NodeStore::StoredSubmit>();
  return std::optional<NodeStore::StoredSubmit>(
      NodeStore::StoredSubmit{.request_fingerprint = find_submit_.ColumnText(0),
                              .response_json = find_submit_.ColumnText(1)});
}

}  // namespace rtgw::storage::sqlite
