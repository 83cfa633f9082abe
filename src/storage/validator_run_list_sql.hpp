#ifndef RTGW_STORAGE_VALIDATOR_RUN_LIST_SQL_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_LIST_SQL_HPP_

// Shared by the SQL backends (storage/sqlite, storage/postgres): the SQL of a
// RunListQuery page (ValidatorRunStore::ListRuns), which both backends run
// alike; only the placeholder syntax differs ('?' for SQLite's ?N, '$' for
// PostgreSQL's $N). Binding and row reading stay with each backend.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "storage/job_list_sql.hpp"
#include "storage/record_rows.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage {

// The shapes a page's SQL has: with or without the validator filter, first
// page or after a key. The text depends only on the shape, so a backend can
// prepare the four once (RunListShape() indexes them).
inline constexpr int kRunListShapes = 4;
inline int RunListShape(const RunListQuery& q) { return (q.validator ? 2 : 0) + (q.after ? 1 : 0); }

// One page of `q` (limit + 1 rows, to tell whether there is more), newest
// first. Each status is one branch reading a backward range of one index
// (schema migration 7): validator_runs_list_status (tenant_id, current_status,
// created_at, run_id), or with a validator filter validator_runs_list_validator
// (tenant_id, validator, current_status, created_at, run_id). The index ends
// with the list order, so each branch reads its range in that order and stops
// after limit + 1 entries; the five are merged by UNION ALL and cut to
// limit + 1 again, then joined to their rows and current executions by
// primary key. So a page reads at most 5 x (limit + 1) index entries and
// limit + 1 rows of each table, and sorts no more than those keys, whatever
// the tenant holds (plans: docs/contracts/storage-schema.md, migration 7).
// The keyset bound is spelled as in BuildJobListSql (created_at <= at, then
// the ties by run_id).
inline SqlWithParams BuildRunListSql(const RunListQuery& q, char placeholder) {
  SqlWithParams out;
  auto param = [&](std::variant<std::string, std::int64_t> value) {
    out.params.push_back(std::move(value));
    return std::string(1, placeholder) + std::to_string(out.params.size());
  };
  std::string where = " WHERE tenant_id = " + param(q.tenant_id);
  if (q.validator) where += " AND validator = " + param(*q.validator);
  if (q.after) {
    const std::string at = param(q.after->created_at);
    where += " AND created_at <= " + at + " AND (created_at < " + at + " OR run_id < " +
             param(q.after->run_id) + ")";
  }
  // One branch per status a run can have (kRunStatuses): those asked for,
  // each once, in that order, then "" (which no row has) for the rest.
  std::array<std::string, kRunStatuses.size()> statuses;
  std::size_t used = 0;
  for (const char* s : kRunStatuses) {
    bool wanted = q.statuses.empty();
    for (const std::string& asked : q.statuses) wanted = wanted || asked == s;
    if (wanted) statuses[used++] = s;
  }
  std::array<std::string, kRunStatuses.size()> status_params;
  for (std::size_t i = 0; i < statuses.size(); ++i) status_params[i] = param(statuses[i]);
  const std::string limit = param(static_cast<std::int64_t>(q.limit) + 1);
  const std::string order = " ORDER BY created_at DESC, run_id DESC LIMIT " + limit;

  std::string keys;
  for (std::size_t i = 0; i < status_params.size(); ++i) {
    if (i > 0) keys += " UNION ALL ";
    keys += "SELECT * FROM (SELECT created_at, run_id FROM validator_runs" + where +
            " AND current_status = " + status_params[i] + order + ") AS s" + std::to_string(i);
  }
  out.sql = "SELECT " RTGW_RUN_COLUMNS " FROM (" + keys + order +
            ") AS p JOIN validator_runs AS r ON r.run_id = p.run_id"
            " JOIN validator_executions AS e ON e.callback_id = r.current_callback_id"
            " ORDER BY p.created_at DESC, p.run_id DESC";
  return out;
}

// The statement that keeps validator_runs.current_status equal to its current
// execution's status after an UPDATE of that execution's status (MarkLaunched,
// FinishWithoutCallback, ApplyCallback): ?1/$1 callback_id, ?2/$2 the status.
// Only the run whose current execution it is changes (an older execution of a
// rerun run is terminal and never updated; the condition keeps it so). Both
// lookups are by primary key.
inline std::string SyncRunStatusSql(char p) {
  const std::string n(1, p);
  return "UPDATE validator_runs SET current_status = " + n +
         "2 WHERE run_id = (SELECT run_id FROM validator_executions WHERE callback_id = " + n +
         "1) AND current_callback_id = " + n + "1";
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_VALIDATOR_RUN_LIST_SQL_HPP_
