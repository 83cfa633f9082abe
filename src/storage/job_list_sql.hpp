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
// condition bounds accepted_at from above, so with one filter the page is a
// single backward range read of that filter's index (schema migration 6),
// whose key ends with accepted_at (job_id, the order's tie-breaker, comes from
// the row: only the rows of one accepted_at are sorted by it). States are one
// such range per state, each limited, merged by UNION ALL and cut to the limit
// again, so at most states x (limit + 1) rows are ever sorted. A list with no
// workspace filter and no state filter reads every state this way: there is
// no index on (tenant_id, accepted_at) alone, which saves every submit one
// index write (storage-schema.md "Cost on the write path"), and the node and
// user indexes have the state before accepted_at.
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
    // (accepted_at, job_id) < (at, id), spelled so that both backends read
    // it as the index range accepted_at <= at plus a check of the ties.
    const std::string at = param(q.after->accepted_at);
    where += " AND accepted_at <= " + at + " AND (accepted_at < " + at + " OR job_id < " +
             param(q.after->job_id) + ")";
  }
  const std::string order = " ORDER BY accepted_at DESC, job_id DESC LIMIT ";
  const std::string limit = param(static_cast<std::int64_t>(q.limit) + 1);

  std::vector<std::string> states;
  for (jobs::JobState s : q.states) states.emplace_back(jobs::ToString(s));
  if (states.empty() && !q.workspace_id) {
    for (jobs::JobState s :
         {jobs::JobState::kSubmitted, jobs::JobState::kQueued, jobs::JobState::kRunning,
          jobs::JobState::kCompleted, jobs::JobState::kFailed, jobs::JobState::kCancelled}) {
      states.emplace_back(jobs::ToString(s));
    }
  }
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

// Retention, step 1: the tenants whose oldest change (the one after
// pruned_through; a tenant's seqs are gap-free) was created before
// ?1 older_than_us, as (tenant_id, pruned_through), tenants ascending. Step 2,
// per tenant in that order: the highest seq to delete among the next ?3 of its
// changes (?1 tenant, ?2 pruned_through, ?3 max rows, ?4 older_than_us; no
// row: none), read along the primary key (created_us grows with seq, so these form
// a prefix of the feed; after a step back of the clock a few newer rows may go
// with them, never a hole). Step 3: raise pruned_through to it and delete the
// tenant's changes up to it.
inline std::string PruneTenantsSql(char p) {
  const std::string n(1, p);
  return "SELECT h.tenant_id, h.pruned_through FROM job_change_heads h"
         " WHERE h.last_seq > h.pruned_through AND (SELECT c.created_us FROM job_changes c"
         " WHERE c.tenant_id = h.tenant_id AND c.seq = h.pruned_through + 1) < " +
         n + "1 ORDER BY h.tenant_id";
}
inline std::string PruneThroughSql(char p) {
  const std::string n(1, p);
  return "SELECT through FROM (SELECT MAX(seq) AS through FROM job_changes WHERE tenant_id = " + n +
         "1 AND seq > " + n + "2 AND seq <= " + n + "2 + " + n + "3 AND created_us < " + n +
         "4) AS m WHERE through IS NOT NULL";
}
inline std::string PruneDeleteSql(char p) {
  const std::string n(1, p);
  return "DELETE FROM job_changes WHERE tenant_id = " + n + "1 AND seq <= " + n + "2";
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_LIST_SQL_HPP_
