#ifndef RTGW_STORAGE_RECORD_ROWS_HPP_
#define RTGW_STORAGE_RECORD_ROWS_HPP_

// Shared by the SQL backends (storage/sqlite, storage/postgres): the column
// lists of the records both read back, and the one mapping from such a row to
// the record. The SQL around the columns stays with each backend.
//
// A Row is the current row of a backend's result, read by column index:
//   std::string Text(int) const;  std::optional<std::string> OptText(int) const;
//   std::int64_t Int(int) const;  bool Bool(int) const;
// (sqlite::Statement, postgres::PgRow). Each column list below is in the
// order its Read*Row expects; the macro argument is a table alias prefix
// ("j." or ""), so the lists concatenate into SQL literals at compile time.

#include <utility>

#include "common/error.hpp"
#include "jobs/job_records.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_feed_store.hpp"
#include "storage/node_store.hpp"
#include "storage/revocation_store.hpp"
#include "storage/validator_run_store.hpp"

// jobs: kJobColumns (14) columns.
#define RTGW_JOB_COLUMNS(p)                                                                      \
  p "tenant_id, " p "job_id, " p "workspace_id, " p "submission_id, " p "management_node_id, " p \
    "state, " p "spec_json, " p "result_ref_json, " p "error_json, " p "accepted_at, " p         \
    "updated_at, " p "trace_id, " p "projection_version, " p "submitted_by"

// job_events as a job's detail shows them: 12 columns.
#define RTGW_EVENT_COLUMNS                                                                   \
  "seq, event_id, execution_id, state, occurred_at, received_at, trace_id, result_ref_json," \
  " error_json, applied, actor_sub, actor_node_id"

// job_changes as ChangeRecord: 9 columns (ReadChangeRow).
#define RTGW_CHANGE_COLUMNS                                                 \
  "seq, tenant_id, job_id, workspace_id, management_node_id, requested_by," \
  " projection_version, payload_json, created_us"

// token_revocations: 5 columns.
#define RTGW_REVOCATION_COLUMNS "tenant_id, jti, expires_at_ms, revoked_at_ms, revoked_by"

// nodes: 9 columns.
#define RTGW_NODE_COLUMNS                                                        \
  "tenant_id, node_id, sub, agent_version, executor, catalogue_json, in_flight," \
  " first_seen_ms, last_seen_ms"

// A validator run (alias r) then its execution (alias e): 24 columns.
#define RTGW_RUN_COLUMNS                                                                 \
  "r.run_id, r.tenant_id, r.workspace_id, r.validator, r.version, r.launcher,"           \
  " r.requested_by, r.created_at,"                                                       \
  " e.callback_id, e.attempt, e.job_id, e.submission_id, e.execution_name, e.status,"    \
  " e.input_uri, e.result_uri, e.findings_json, e.error, e.receipt_json, e.finished_at," \
  " e.trace_id, e.deadline_us, e.event_synced, e.created_at"

namespace rtgw::storage {

// The number of RTGW_JOB_COLUMNS: the index of a column selected after them.
inline constexpr int kJobColumns = 14;

// RTGW_JOB_COLUMNS. Internal when the stored state is not a known one.
template <class Row>
Result<JobRecord> ReadJobRow(const Row& row) {
  Result<jobs::JobState> state = jobs::ParseStoredJobState(row.Text(5), /*allow_submitted=*/true);
  if (!state) return std::move(state).error();
  JobRecord job;
  job.tenant_id = row.Text(0);
  job.job_id = row.Text(1);
  job.workspace_id = row.Text(2);
  job.submission_id = row.Text(3);
  job.management_node_id = row.Text(4);
  job.state = *state;
  job.spec_json = row.Text(6);
  job.result_ref_json = row.OptText(7);
  job.error_json = row.OptText(8);
  job.accepted_at = row.Text(9);
  job.updated_at = row.Text(10);
  job.trace_id = row.Text(11);
  job.projection_version = row.Int(12);
  job.submitted_by = row.OptText(13).value_or("");  // NULL: stored before the actor trail
  return job;
}

// RTGW_EVENT_COLUMNS. Internal when the stored state is not a known one.
template <class Row>
Result<EventView> ReadEventRow(const Row& row) {
  Result<jobs::JobState> state = jobs::ParseStoredJobState(row.Text(3), /*allow_submitted=*/false);
  if (!state) return std::move(state).error();
  EventView event;
  event.seq = row.Int(0);
  event.event_id = row.Text(1);
  event.execution_id = row.Text(2);
  event.state = *state;
  event.occurred_at = row.Text(4);
  event.received_at = row.Text(5);
  event.trace_id = row.Text(6);
  event.result_ref_json = row.OptText(7);
  event.error_json = row.OptText(8);
  event.applied = row.Bool(9);
  event.actor = jobs::Actor{.sub = row.OptText(10).value_or(""), .node_id = row.OptText(11)};
  return event;
}

// RTGW_CHANGE_COLUMNS.
template <class Row>
ChangeRecord ReadChangeRow(const Row& row) {
  ChangeRecord c;
  c.seq = row.Int(0);
  c.tenant_id = row.Text(1);
  c.job_id = row.Text(2);
  c.workspace_id = row.Text(3);
  c.management_node_id = row.Text(4);
  c.requested_by = row.Text(5);
  c.projection_version = row.Int(6);
  c.payload_json = row.Text(7);
  c.created_us = row.Int(8);
  return c;
}

// RTGW_NODE_COLUMNS.
template <class Row>
NodeRecord ReadNodeRow(const Row& row) {
  NodeRecord n;
  n.tenant_id = row.Text(0);
  n.node_id = row.Text(1);
  n.sub = row.Text(2);
  n.agent_version = row.Text(3);
  n.executor = row.Text(4);
  n.catalogue_json = row.OptText(5);
  n.in_flight = row.Int(6);
  n.first_seen = FromEpochMs(row.Int(7));
  n.last_seen = FromEpochMs(row.Int(8));
  return n;
}

// RTGW_REVOCATION_COLUMNS.
template <class Row>
TokenRevocation ReadRevocationRow(const Row& row) {
  return TokenRevocation{.tenant_id = row.Text(0),
                         .jti = row.Text(1),
                         .expires_at = FromEpochMs(row.Int(2)),
                         .revoked_at = FromEpochMs(row.Int(3)),
                         .revoked_by = row.Text(4)};
}

// RTGW_RUN_COLUMNS.
template <class Row>
ValidatorRun ReadRunRow(const Row& row) {
  ValidatorRun r;
  r.run_id = row.Text(0);
  r.tenant_id = row.Text(1);
  r.workspace_id = row.Text(2);
  r.validator = row.Text(3);
  r.version = row.Text(4);
  r.launcher = row.Text(5);
  r.requested_by = row.Text(6);
  r.created_at = row.Text(7);
  ValidatorExecution& e = r.current;
  e.run_id = r.run_id;
  e.callback_id = row.Text(8);
  e.attempt = row.Int(9);
  e.job_id = row.Text(10);
  e.submission_id = row.Text(11);
  e.execution_name = row.Text(12);
  e.status = row.Text(13);
  e.input_uri = row.Text(14);
  e.result_uri = row.Text(15);
  e.findings_json = row.OptText(16);
  e.error = row.OptText(17);
  e.receipt_json = row.OptText(18);
  e.finished_at = row.Text(19);
  e.trace_id = row.Text(20);
  e.deadline_us = row.Int(21);
  e.event_synced = row.Bool(22);
  e.created_at = row.Text(23);
  return r;
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_RECORD_ROWS_HPP_
