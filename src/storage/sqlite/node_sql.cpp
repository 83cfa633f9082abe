#include "storage/sqlite/node_sql.hpp"

#include <utility>

#include <sqlite3.h>

#include "common/random.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::storage::sqlite {
namespace {

struct Entry {
  Statement* stmt;
  const char* sql;
};

template <std::size_t N>
Status PrepareAll(Database& db, const Entry (&entries)[N]) {
  for (const Entry& e : entries) {
    Result<Statement> stmt = db.Prepare(e.sql);
    if (!stmt) return std::move(stmt).error();
    *e.stmt = std::move(stmt).value();
  }
  return Ok{};
}

constexpr const char* kNodeColumns =
    "tenant_id, node_id, sub, agent_version, executor, catalogue_json, in_flight,"
    " first_seen_ms, last_seen_ms";

NodeRecord ReadNode(const Statement& s) {
  NodeRecord n;
  n.tenant_id = s.ColumnText(0);
  n.node_id = s.ColumnText(1);
  n.sub = s.ColumnText(2);
  n.agent_version = s.ColumnText(3);
  n.executor = s.ColumnText(4);
  n.catalogue_json = s.ColumnOptionalText(5);
  n.in_flight = s.ColumnInt64(6);
  n.first_seen = FromEpochMs(s.ColumnInt64(7));
  n.last_seen = FromEpochMs(s.ColumnInt64(8));
  return n;
}

}  // namespace

Result<std::unique_ptr<NodeWriter>> NodeWriter::Create(Database& db) {
  std::unique_ptr<NodeWriter> w(new NodeWriter());
  const Entry entries[] = {
      {&w->upsert_node_,
       "INSERT INTO nodes (tenant_id, node_id, sub, agent_version, executor, catalogue_json,"
       " in_flight, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
       " ON CONFLICT (tenant_id, node_id) DO UPDATE SET sub = excluded.sub,"
       " agent_version = excluded.agent_version, executor = excluded.executor,"
       " catalogue_json = excluded.catalogue_json, in_flight = excluded.in_flight,"
       " last_seen_ms = excluded.last_seen_ms"},
      // Leasable: submitted, this node's, no cancel request, no live lease.
      // Served by the partial index jobs_submitted_by_node.
      {&w->select_leasable_,
       "SELECT j.tenant_id, j.job_id, j.workspace_id, j.submission_id, j.management_node_id,"
       " j.state, j.spec_json, j.result_ref_json, j.error_json, j.accepted_at, j.updated_at,"
       " j.trace_id, j.projection_version"
       " FROM jobs j LEFT JOIN job_leases l ON l.tenant_id = j.tenant_id AND l.job_id = j.job_id"
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
  };
  if (Status s = PrepareAll(db, entries); !s) return std::move(s).error();
  return w;
}

Status NodeWriter::UpsertNode(const NodeHeartbeat& hb) {
  ResetGuard reset(upsert_node_);
  upsert_node_.BindText(1, hb.tenant_id);
  upsert_node_.BindText(2, hb.node_id);
  upsert_node_.BindText(3, hb.sub);
  upsert_node_.BindText(4, hb.agent_version);
  upsert_node_.BindText(5, hb.executor);
  upsert_node_.BindOptionalText(6, hb.catalogue_json);
  upsert_node_.BindInt64(7, hb.in_flight);
  upsert_node_.BindInt64(8, ToEpochMs(hb.now));
  if (const int rc = upsert_node_.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, upsert_node_.db(), "upsert node");
  }
  return Ok{};
}

Result<std::vector<Lease>> NodeWriter::GrantLeases(const LeaseRequest& req) {
  const std::int64_t now_ms = ToEpochMs(req.now);
  const SystemTime expires = req.now + req.lease;
  std::vector<Lease> leases;
  {
    // Read every candidate first, then write: no statement steps over a table
    // while another one changes it.
    ResetGuard reset(select_leasable_);
    select_leasable_.BindText(1, req.tenant_id);
    select_leasable_.BindText(2, req.node_id);
    select_leasable_.BindInt64(3, now_ms);
    select_leasable_.BindInt64(4, req.max_jobs);
    for (;;) {
      const int rc = select_leasable_.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(rc, select_leasable_.db(), "select leasable");
      Lease lease;
      JobRecord& job = lease.job;
      job.tenant_id = select_leasable_.ColumnText(0);
      job.job_id = select_leasable_.ColumnText(1);
      job.workspace_id = select_leasable_.ColumnText(2);
      job.submission_id = select_leasable_.ColumnText(3);
      job.management_node_id = select_leasable_.ColumnText(4);
      job.state = jobs::JobState::kSubmitted;
      job.spec_json = select_leasable_.ColumnText(6);
      job.result_ref_json = select_leasable_.ColumnOptionalText(7);
      job.error_json = select_leasable_.ColumnOptionalText(8);
      job.accepted_at = select_leasable_.ColumnText(9);
      job.updated_at = select_leasable_.ColumnText(10);
      job.trace_id = select_leasable_.ColumnText(11);
      job.projection_version = select_leasable_.ColumnInt64(12);
      lease.lease_id = NewUuidV4();
      lease.expires_at = expires;
      leases.push_back(std::move(lease));
    }
  }
  for (const Lease& lease : leases) {
    ResetGuard reset(upsert_lease_);
    upsert_lease_.BindText(1, lease.job.tenant_id);
    upsert_lease_.BindText(2, lease.job.job_id);
    upsert_lease_.BindText(3, req.node_id);
    upsert_lease_.BindText(4, lease.lease_id);
    upsert_lease_.BindInt64(5, now_ms);
    upsert_lease_.BindInt64(6, ToEpochMs(expires));
    if (const int rc = upsert_lease_.Step(); rc != SQLITE_DONE) {
      return SqliteError(rc, upsert_lease_.db(), "grant lease");
    }
  }
  return leases;
}

Result<std::vector<CancelItem>> NodeWriter::ListCancellations(const std::string& tenant_id,
                                                              const std::string& node_id) {
  std::vector<CancelItem> out;
  ResetGuard reset(list_cancels_);
  list_cancels_.BindText(1, tenant_id);
  list_cancels_.BindText(2, node_id);
  for (;;) {
    const int rc = list_cancels_.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, list_cancels_.db(), "list cancellations");
    out.push_back(CancelItem{.job_id = list_cancels_.ColumnText(0),
                             .submission_id = list_cancels_.ColumnText(1),
                             .execution_id = list_cancels_.ColumnOptionalText(2)});
  }
  return out;
}

Result<bool> NodeWriter::MarkCancelsDelivered(const std::string& tenant_id,
                                              const std::string& node_id, SystemTime now) {
  ResetGuard reset(mark_delivered_);
  mark_delivered_.BindText(1, tenant_id);
  mark_delivered_.BindText(2, node_id);
  mark_delivered_.BindInt64(3, ToEpochMs(now));
  if (const int rc = mark_delivered_.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, mark_delivered_.db(), "mark cancels delivered");
  }
  return sqlite3_changes(mark_delivered_.db()) > 0;
}

Result<SystemTime> NodeWriter::RenewLease(const std::string& tenant_id, const std::string& node_id,
                                          const std::string& lease_id, SystemTime expires_at) {
  ResetGuard reset(renew_);
  renew_.BindText(1, tenant_id);
  renew_.BindText(2, node_id);
  renew_.BindText(3, lease_id);
  renew_.BindInt64(4, ToEpochMs(expires_at));
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
  release_.BindText(1, tenant_id);
  release_.BindText(2, node_id);
  release_.BindText(3, lease_id);
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
  find_cancel_target_.BindText(1, tenant_id);
  find_cancel_target_.BindText(2, job_id);
  const int rc = find_cancel_target_.Step();
  if (rc == SQLITE_DONE) return NotFound("job not found");
  if (rc != SQLITE_ROW) return SqliteError(rc, find_cancel_target_.db(), "find job to cancel");
  const std::string state_text = find_cancel_target_.ColumnText(0);
  auto state = jobs::ParseJobState(state_text, /*allow_submitted=*/true);
  if (!state) return Internal("stored job state is not a known state: '" + state_text + "'");
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
  ResetGuard reset(insert_cancel_);
  insert_cancel_.BindText(1, r.tenant_id);
  insert_cancel_.BindText(2, r.job_id);
  insert_cancel_.BindText(3, node_id);
  insert_cancel_.BindInt64(4, ToEpochMs(r.now));
  insert_cancel_.BindText(5, r.requested_by);
  insert_cancel_.BindText(6, r.trace_id);
  if (const int rc = insert_cancel_.Step(); rc != SQLITE_DONE) {
    return SqliteError(rc, insert_cancel_.db(), "record cancel");
  }
  return Ok{};
}

Result<std::unique_ptr<NodeReader>> NodeReader::Create(Database& db) {
  std::unique_ptr<NodeReader> r(new NodeReader());
  const std::string get =
      std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE tenant_id = ?1 AND node_id = ?2";
  const std::string list =
      std::string("SELECT ") + kNodeColumns + " FROM nodes ORDER BY tenant_id, node_id LIMIT 10000";
  const std::string list_tenant = std::string("SELECT ") + kNodeColumns +
                                  " FROM nodes WHERE tenant_id = ?1 ORDER BY node_id LIMIT 10000";
  const Entry entries[] = {
      {&r->get_node_, get.c_str()},
      {&r->list_nodes_, list.c_str()},
      {&r->list_tenant_nodes_, list_tenant.c_str()},
      {&r->find_submit_,
       "SELECT request_fingerprint, response_json FROM jobs"
       " WHERE tenant_id = ?1 AND idempotency_key = ?2"},
  };
  if (Status s = PrepareAll(db, entries); !s) return std::move(s).error();
  return r;
}

Result<NodeRecord> NodeReader::GetNode(const std::string& tenant_id, const std::string& node_id) {
  ResetGuard reset(get_node_);
  get_node_.BindText(1, tenant_id);
  get_node_.BindText(2, node_id);
  const int rc = get_node_.Step();
  if (rc == SQLITE_DONE) return NotFound("node not found");
  if (rc != SQLITE_ROW) return SqliteError(rc, get_node_.db(), "read node");
  return ReadNode(get_node_);
}

Result<std::vector<NodeRecord>> NodeReader::ListNodes(const std::optional<std::string>& tenant_id) {
  Statement& stmt = tenant_id ? list_tenant_nodes_ : list_nodes_;
  ResetGuard reset(stmt);
  if (tenant_id) stmt.BindText(1, *tenant_id);
  std::vector<NodeRecord> out;
  for (;;) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(rc, stmt.db(), "list nodes");
    out.push_back(ReadNode(stmt));
  }
  return out;
}

Result<std::optional<NodeStore::StoredSubmit>> NodeReader::FindSubmit(
    const std::string& tenant_id, const std::string& idempotency_key) {
  ResetGuard reset(find_submit_);
  find_submit_.BindText(1, tenant_id);
  find_submit_.BindText(2, idempotency_key);
  const int rc = find_submit_.Step();
  if (rc == SQLITE_DONE) return std::optional<NodeStore::StoredSubmit>();
  if (rc != SQLITE_ROW) return SqliteError(rc, find_submit_.db(), "find submit");
  return std::optional<NodeStore::StoredSubmit>(
      NodeStore::StoredSubmit{.request_fingerprint = find_submit_.ColumnText(0),
                              .response_json = find_submit_.ColumnText(1)});
}

}  // namespace rtgw::storage::sqlite
