#ifndef RTGW_STORAGE_JOB_LIST_SQL_HPP_
#define RTGW_STORAGE_JOB_LIST_SQL_HPP_

// Shared by the SQL backends (storage/sqlite, storage/postgres): the SQL of a
// JobListQuery page and of the change feed reads, which both backends run
// alike; only the placeholder syntax differs ('?' for SQLite's ?N, '$' for
// PostgreSQL's $N). Binding and row reading stay with each backend.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "jobs/job_state.hpp"
#include "storage/job_feed_store.hpp"
#include "storage/record_rows.hpp"

namespace rtgw::storage {

// A statement and its parameters, in order (?1/$1 first).
struct SqlWithParams {
  std::string sql;
  std::vector<std::variant<std::string, std::int64_t>> params;
};

// One page of `q` (limit + 1 rows, to tell whether there is more), newest
// first. Every filter is an equality or range on the jobs row; the keyset
// condition is a row-value comparison with the order's columns, so with one
// filter the page is a single backward range scan of that filter's index
// (schema migration 6). Several states: one such range per state, each
// limited, merged by UNION ALL and cut to the limit again, so at most
// states x (limit + 1) rows are ever sorted.
inline SqlWithParams BuildJobListSql(const JobListQuery& q, char placeholder) {
  SqlWithParams out;
  auto param = [&](std::variant<std::string, std::int64_t> value) {
    out.params.push_back(std::move(value));
    return std::string(1, placeholder) + std::to_string(out.params.size());
  };
  std::string where = " WHERE tenant_id = " + param(q.tenant_id);
  if (q.workspace_id) where += " AND workspace_id = " + param(*q.workspace_id);
  if (q.management_node_id) where += " AND management_node_id = " + param(*q.management_node_id);
  if (q.requested_by) where += " AND requested_by = " + param(*q.requested_by);
  // The update-time bounds filter the rows of the list order's index (there
  // is no index on updated_at: it would cost every event two index writes).
  if (q.updated_after) where += " AND updated_at > " + param(*q.updated_after);
  if (q.updated_before) where += " AND updated_at < " + param(*q.updated_before);
  if (q.after) {
    const std::string at = param(q.after->accepted_at);
    where += " AND (accepted_at, job_id) < (" + at + ", " + param(q.after->job_id) + ")";
  }
  const std::string order = " ORDER BY accepted_at DESC, job_id DESC LIMIT ";
  const std::string limit = param(static_cast<std::int64_t>(q.limit) + 1);

  std::vector<std::string> states;
  for (jobs::JobState s : q.states) states.emplace_back(jobs::ToString(s));
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());

  const std::string select = "SELECT " RTGW_JOB_COLUMNS("") " FROM jobs";
  if (states.size() <= 1) {
    out.sql = select + where;
    if (states.size() == 1) out.sql += " AND state = " + param(states[0]);
    out.sql += order + limit;
    return out;
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (i > 0) out.sql += " UNION ALL ";
    out.sql += "SELECT * FROM (";
    out.sql += select;
    out.sql += where;
    out.sql += " AND state = ";
    out.sql += param(states[i]);
    out.sql += order;
    out.sql += limit;
    out.sql += ") AS s";
    out.sql += std::to_string(i);
  }
  out.sql += order + limit;
  return out;
}

// The changes of a tenant after a seq: ?1 tenant, ?2 after_seq, ?3 limit.
inline std::string ReadChangesSql(char p) {
  const std::string n(1, p);
  return "SELECT " RTGW_CHANGE_COLUMNS " FROM job_changes WHERE tenant_id = " + n + "1 AND seq > " +
         n + "2 ORDER BY seq LIMIT " + n + "3";
}

// A tenant's head: ?1 tenant. No row: {0, 0}.
inline std::string ReadHeadSql(char p) {
  return std::string("SELECT last_seq, pruned_through FROM job_change_heads WHERE tenant_id = ") +
         p + "1";
}

// Retention, step 1: the oldest changes (?1 older_than_us, ?2 max_rows) as
// (tenant_id, highest seq) per tenant, tenants ascending. Step 2, per tenant
// in that order: raise pruned_through to that seq, delete the tenant's
// changes up to it (a prefix of its feed, so the feed never has a hole).
inline std::string PruneCandidatesSql(char p) {
  const std::string n(1, p);
  return "SELECT tenant_id, MAX(seq) FROM (SELECT tenant_id, seq FROM job_changes"
         " WHERE created_us < " +
         n + "1 ORDER BY created_us LIMIT " + n + "2) AS d GROUP BY tenant_id ORDER BY tenant_id";
}
inline std::string PruneDeleteSql(char p) {
  const std::string n(1, p);
  return "DELETE FROM job_changes WHERE tenant_id = " + n + "1 AND seq <= " + n + "2";
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_LIST_SQL_HPP_
