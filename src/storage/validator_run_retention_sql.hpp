#ifndef RTGW_STORAGE_VALIDATOR_RUN_RETENTION_SQL_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_RETENTION_SQL_HPP_

// Private to the backends: the SQL of ValidatorRunRetentionStore
// (storage/validator_run_retention_store.hpp), written once with $N
// placeholders (SQLite takes them as ?N: RetentionSql('?'),
// job_retention_sql.hpp). Parameters are named in each comment.

#include "storage/record_rows.hpp"
#include "storage/validator_run_retention_store.hpp"

namespace rtgw::storage {

// A run r with its current execution e.
#define RTGW_RUN_WITH_CURRENT \
  " FROM validator_runs r JOIN validator_executions e ON e.callback_id = r.current_callback_id"

// The prunable condition on that pair ($cutoff). event_synced is an integer
// 0/1 on SQLite and a boolean on PostgreSQL: `= TRUE` reads the same on both.
#define RTGW_RUN_PRUNABLE_WHERE(cutoff)                                             \
  "e.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND e.event_synced = TRUE AND " \
  "e.finished_at < " cutoff

// $1 $2: the (finished_at, run_id) after which to start; $3 cutoff; $4 limit.
// Oldest first. No index serves the order: each batch reads every run with
// its current execution (runs are few next to jobs; docs/contracts/retention.md).
inline constexpr const char* kRunRetentionKeys =
    "SELECT e.finished_at, r.run_id" RTGW_RUN_WITH_CURRENT
    " WHERE (e.finished_at, r.run_id) > ($1, $2) AND " RTGW_RUN_PRUNABLE_WHERE(
        "$3") " ORDER BY e.finished_at, r.run_id LIMIT $4";

// $1 run_id: every execution of the run with the run's columns
// (RTGW_RUN_COLUMNS) and, last, the run's current_callback_id; attempt order.
inline constexpr const char* kRunRetentionExecutions =
    "SELECT " RTGW_RUN_COLUMNS
    ", r.current_callback_id FROM validator_runs r JOIN validator_executions e"
    " ON e.run_id = r.run_id WHERE r.run_id = $1 ORDER BY e.attempt";

// $1 run_id; $2 current_callback_id as read; $3 cutoff; $4 executions as read.
// One row when the run is still prunable and unchanged.
inline constexpr const char* kRunRetentionRecheck =
    "SELECT 1" RTGW_RUN_WITH_CURRENT
    " WHERE r.run_id = $1 AND r.current_callback_id = $2 AND " RTGW_RUN_PRUNABLE_WHERE(
        "$3") " AND (SELECT count(*) FROM validator_executions x WHERE x.run_id = $1) = $4";

// $1 run_id: executions first (they reference the run).
inline constexpr const char* kRunRetentionDeleteExecutions =
    "DELETE FROM validator_executions WHERE run_id = $1";
inline constexpr const char* kRunRetentionDeleteRun =
    "DELETE FROM validator_runs WHERE run_id = $1";

// $1 cutoff: prunable runs and their executions.
inline constexpr const char* kRunRetentionCount =
    "SELECT count(*), CAST(COALESCE(SUM((SELECT count(*) FROM validator_executions x"
    " WHERE x.run_id = r.run_id)), 0) AS BIGINT)" RTGW_RUN_WITH_CURRENT
    " WHERE " RTGW_RUN_PRUNABLE_WHERE("$1");

#undef RTGW_RUN_PRUNABLE_WHERE
#undef RTGW_RUN_WITH_CURRENT

// The number of RTGW_RUN_COLUMNS: the index of current_callback_id in
// kRunRetentionExecutions.
inline constexpr int kRunColumns = 24;

// Adds one row of kRunRetentionExecutions to `out`: the execution to
// out.executions, and the run with its current execution to out.run.
template <class Row>
void AddRetentionRow(const Row& row, PrunableRun& out) {
  ValidatorRun r = ReadRunRow(row);
  const bool current = r.current.callback_id == row.Text(kRunColumns);
  out.executions.push_back(r.current);
  if (current || out.run.run_id.empty()) out.run = std::move(r);
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_VALIDATOR_RUN_RETENTION_SQL_HPP_
