#ifndef RTGW_STORAGE_JOB_RETENTION_SQL_HPP_
#define RTGW_STORAGE_JOB_RETENTION_SQL_HPP_

// Private to the backends: the SQL of JobRetentionStore
// (storage/job_retention_store.hpp), written once with $N placeholders.
// SQLite takes them as ?N (RetentionSql('?')). Parameters are named in each
// comment; keep_undelivered is bound as 0/1.

#include <string>

namespace rtgw::storage {

// The prunable condition on a jobs row aliased j ($cutoff, $keep).
#define RTGW_PRUNABLE_WHERE(cutoff, keep)                                                    \
  "j.state IN ('completed', 'failed', 'cancelled') AND j.updated_at < " cutoff " AND (" keep \
  " = 0 OR NOT EXISTS (SELECT 1 FROM projection_outbox o"                                    \
  " WHERE o.tenant_id = j.tenant_id AND o.job_id = j.job_id))"

// $1 $2: the key after which to start; $3 cutoff; $4 keep; $5 limit.
inline constexpr const char* kRetentionKeys =
    "SELECT j.tenant_id, j.job_id FROM jobs j WHERE (j.tenant_id, j.job_id) > ($1, $2) "
    "AND " RTGW_PRUNABLE_WHERE("$3", "$4") " ORDER BY j.tenant_id, j.job_id LIMIT $5";

// $1 tenant; $2 job; $3 projection_version as read; $4 cutoff; $5 keep;
// $6 events as read. One row when the job is still prunable and unchanged.
inline constexpr const char* kRetentionRecheck =
    "SELECT 1 FROM jobs j WHERE j.tenant_id = $1 AND j.job_id = $2 AND j.projection_version = $3"
    " AND " RTGW_PRUNABLE_WHERE("$4", "$5")
    " AND (SELECT count(*) FROM job_events e WHERE e.tenant_id = $1 AND e.job_id = $2) = $6";

// $1 tenant, $2 job: the rows deleted with a job, children first (job_events
// has a foreign key on jobs).
inline constexpr const char* kRetentionDeleteEvents =
    "DELETE FROM job_events WHERE tenant_id = $1 AND job_id = $2";
inline constexpr const char* kRetentionDeleteOutbox =
    "DELETE FROM projection_outbox WHERE tenant_id = $1 AND job_id = $2";
inline constexpr const char* kRetentionDeleteLease =
    "DELETE FROM job_leases WHERE tenant_id = $1 AND job_id = $2";
inline constexpr const char* kRetentionDeleteCancel =
    "DELETE FROM job_cancels WHERE tenant_id = $1 AND job_id = $2";
inline constexpr const char* kRetentionDeleteUnappliedCount =
    "DELETE FROM job_unapplied_events WHERE tenant_id = $1 AND job_id = $2";
inline constexpr const char* kRetentionDeleteJob =
    "DELETE FROM jobs WHERE tenant_id = $1 AND job_id = $2";

// $1 cutoff; $2 keep: prunable jobs, their events, jobs kept as undelivered.
inline constexpr const char* kRetentionCount =
    "SELECT COALESCE(SUM(CASE WHEN u THEN 0 ELSE 1 END), 0),"
    " COALESCE(SUM(CASE WHEN u THEN 0 ELSE ev END), 0),"
    " COALESCE(SUM(CASE WHEN u THEN 1 ELSE 0 END), 0) FROM ("
    "SELECT ($2 <> 0 AND EXISTS (SELECT 1 FROM projection_outbox o"
    " WHERE o.tenant_id = j.tenant_id AND o.job_id = j.job_id)) AS u,"
    " (SELECT count(*) FROM job_events e WHERE e.tenant_id = j.tenant_id AND e.job_id = j.job_id)"
    " AS ev FROM jobs j WHERE " RTGW_PRUNABLE_WHERE("$1", "0") ") AS c";

#undef RTGW_PRUNABLE_WHERE

// `sql` with every '$' replaced by `placeholder` ('?' for SQLite's ?N).
inline std::string RetentionSql(const char* sql, char placeholder) {
  std::string out(sql);
  for (char& c : out) {
    if (c == '$') c = placeholder;
  }
  return out;
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_JOB_RETENTION_SQL_HPP_
