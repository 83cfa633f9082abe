#include "storage/sqlite/schema.hpp"

#include <array>
#include <charconv>
#include <string>
#include <utility>

#include "storage/sqlite/node_schema.hpp"

namespace rtgw::storage::sqlite {
namespace {

// Version 1: jobs, their event history, and the health-check row.
// See docs/contracts/storage-schema.md for the meaning of every column.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE jobs (
  tenant_id           TEXT    NOT NULL,
  job_id              TEXT    NOT NULL,
  workspace_id        TEXT    NOT NULL,
  idempotency_key     TEXT    NOT NULL,
  management_node_id  TEXT    NOT NULL,
  request_fingerprint TEXT    NOT NULL,
  spec_json           TEXT    NOT NULL,
  submission_id       TEXT    NOT NULL,
  accepted_at         TEXT    NOT NULL,
  trace_id            TEXT    NOT NULL,
  response_json       TEXT    NOT NULL,
  state               TEXT    NOT NULL CHECK (state IN
                        ('submitted', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  projection_version  INTEGER NOT NULL CHECK (projection_version >= 1),
  result_ref_json     TEXT,
  error_json          TEXT,
  updated_at          TEXT    NOT NULL,
  PRIMARY KEY (tenant_id, job_id),
  UNIQUE (tenant_id, idempotency_key)
) STRICT;

CREATE TABLE job_events (
  seq             INTEGER PRIMARY KEY,
  tenant_id       TEXT    NOT NULL,
  job_id          TEXT    NOT NULL,
  event_id        TEXT    NOT NULL,
  workspace_id    TEXT    NOT NULL,
  submission_id   TEXT    NOT NULL,
  execution_id    TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN
                    ('queued', 'running', 'completed', 'failed', 'cancelled')),
  occurred_at     TEXT    NOT NULL,
  received_at     TEXT    NOT NULL,
  trace_id        TEXT    NOT NULL,
  result_ref_json TEXT,
  error_json      TEXT,
  fingerprint     TEXT    NOT NULL,
  applied         INTEGER NOT NULL CHECK (applied IN (0, 1)),
  UNIQUE (tenant_id, job_id, event_id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, job_id)
) STRICT;


CREATE TABLE store_health (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  checked_at  TEXT    NOT NULL,
  write_count INTEGER NOT NULL
) STRICT;
)sql";

// Version 2: the transactional outbox of ProjectionUpdates
// (storage/outbox_store.hpp). Times are integer microseconds since the Unix
// epoch so that comparisons are exact; created_at is also kept as RFC 3339.
// The head index serves "lowest undelivered version per job".
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE projection_outbox (
  id                 INTEGER PRIMARY KEY,
  tenant_id          TEXT    NOT NULL,
  job_id             TEXT    NOT NULL,
  projection_version INTEGER NOT NULL CHECK (projection_version >= 1),
  payload_json       TEXT    NOT NULL,
  created_at         TEXT    NOT NULL,
  created_us         INTEGER NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_us    INTEGER NOT NULL,
  lease_owner        TEXT,
  lease_expires_us   INTEGER,
  last_error         TEXT,
  dead_us            INTEGER,
  UNIQUE (tenant_id, job_id, projection_version)
) STRICT;

CREATE INDEX projection_outbox_dead ON projection_outbox (dead_us) WHERE dead_us IS NOT NULL;
)sql";

// Version 4: validator runs and their executions (storage/validator_run_store.hpp,
// docs/contracts/validator-callback.md). One execution per launch/rerun, keyed
// by its callback_id; the run points at its current one. Times in *_us are
// integer microseconds since the Unix epoch.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE validator_runs (
  run_id              TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL,
  workspace_id        TEXT NOT NULL,
  validator           TEXT NOT NULL,
  version             TEXT NOT NULL,
  launcher            TEXT NOT NULL,
  requested_by        TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  current_callback_id TEXT NOT NULL
) STRICT;

CREATE TABLE validator_executions (
  callback_id    TEXT    PRIMARY KEY,
  run_id         TEXT    NOT NULL REFERENCES validator_runs (run_id),
  attempt        INTEGER NOT NULL CHECK (attempt >= 1),
  job_id         TEXT    NOT NULL,
  submission_id  TEXT    NOT NULL,
  execution_name TEXT    NOT NULL DEFAULT '',
  status         TEXT    NOT NULL CHECK (status IN
                   ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  input_uri      TEXT    NOT NULL,
  result_uri     TEXT    NOT NULL DEFAULT '',
  findings_json  TEXT,
  error          TEXT,
  receipt_json   TEXT,
  finished_at    TEXT    NOT NULL DEFAULT '',
  trace_id       TEXT    NOT NULL,
  deadline_us    INTEGER NOT NULL,
  event_synced   INTEGER NOT NULL DEFAULT 0 CHECK (event_synced IN (0, 1)),
  created_at     TEXT    NOT NULL,
  UNIQUE (run_id, attempt)
) STRICT;

CREATE INDEX validator_executions_open ON validator_executions (deadline_us)
  WHERE status IN ('PENDING', 'RUNNING');
CREATE INDEX validator_executions_unsynced ON validator_executions (deadline_us)
  WHERE event_synced = 0;
)sql";

// Version 5 (docs/contracts/jwt.md): the actor trail (who submitted a job,
// who posted an event; NULL on rows from before) and token revocations
// (storage/revocation_store.hpp), times in epoch milliseconds like the nodes
// tables. Kept until expires_at_ms, which the index serves.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE jobs ADD COLUMN submitted_by TEXT;
ALTER TABLE job_events ADD COLUMN actor_sub TEXT;
ALTER TABLE job_events ADD COLUMN actor_node_id TEXT;

CREATE TABLE token_revocations (
  tenant_id     TEXT    NOT NULL,
  jti           TEXT    NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL,
  revoked_by    TEXT    NOT NULL,
  PRIMARY KEY (tenant_id, jti)
) STRICT;

CREATE INDEX token_revocations_expiry ON token_revocations (expires_at_ms);
)sql";

// Version 6 (issue 17, storage/job_feed_store.hpp): listing jobs and the
// per-tenant change feed. jobs.requested_by is requested_by.user_id of the
// submit (backfilled from spec_json; NULL where the spec has none).
// job_unapplied_events counts a job's stored events that were never applied
// (backfilled), for --max-unapplied-events-per-job: read with the job row the
// event write reads anyway, upserted when such an event is stored. A small row
// of its own, not a jobs column: an UPDATE rewrites a whole ~1.5 KB jobs row.
// The list indexes are few and small because every one of them is written by
// every submit (docs/contracts/storage-schema.md "Cost on the write path"):
// each starts with tenant_id and ends with accepted_at, the list's order (the
// rare ties on accepted_at are ordered by job_id from the row), so a page is a
// backward range read of one index. A list without a workspace or user filter
// reads jobs_list_state once per state and merges (job_list_sql.hpp), which
// is why there is no index on (tenant_id, accepted_at) alone. jobs_by_node
// serves both the node filter and the agent's lease query, replacing
// migration 3's partial jobs_submitted_by_node; it and jobs_list_requested_by
// have the state before accepted_at, so a node's or a user's active jobs are
// counted without reading the finished ones (the lease query; the per-user
// quota of docs/contracts/limits.md), and their lists merge the state ranges.
// Ascending, not DESC: a new job's entries go at the right end of each index,
// where an insert touches the fewest pages. No index on updated_at: the
// update-time filters read the list order's index.
// job_changes holds one row per committed change (submit or applied event),
// numbered per tenant by job_change_heads.last_seq at commit time;
// pruned_through is the highest seq retention removed. It is a rowid table, so
// a commit's changes are appended at the table's end, with its primary key as
// a small separate index; retention walks that key from pruned_through (seqs
// are gap-free and created_us grows with them), so created_us needs no index.
// Times in *_us are integer microseconds since the Unix epoch.
constexpr const char* kSchemaV6 = R"sql(
ALTER TABLE jobs ADD COLUMN requested_by TEXT;
UPDATE jobs SET requested_by = json_extract(spec_json, '$.requested_by.user_id');

CREATE TABLE job_unapplied_events (
  tenant_id TEXT    NOT NULL,
  job_id    TEXT    NOT NULL,
  stored    INTEGER NOT NULL CHECK (stored >= 0),
  PRIMARY KEY (tenant_id, job_id)
) STRICT, WITHOUT ROWID;
INSERT INTO job_unapplied_events (tenant_id, job_id, stored)
  SELECT tenant_id, job_id, count(*) FROM job_events WHERE applied = 0
  GROUP BY tenant_id, job_id;

DROP INDEX jobs_submitted_by_node;
CREATE INDEX jobs_by_node ON jobs (tenant_id, management_node_id, state, accepted_at);
CREATE INDEX jobs_list_state ON jobs (tenant_id, state, accepted_at);
CREATE INDEX jobs_list_workspace ON jobs (tenant_id, workspace_id, accepted_at);
CREATE INDEX jobs_list_requested_by ON jobs (tenant_id, requested_by, state, accepted_at);

CREATE TABLE job_changes (
  tenant_id          TEXT    NOT NULL,
  seq                INTEGER NOT NULL CHECK (seq >= 1),
  job_id             TEXT    NOT NULL,
  workspace_id       TEXT    NOT NULL,
  management_node_id TEXT    NOT NULL,
  requested_by       TEXT    NOT NULL,
  projection_version INTEGER NOT NULL CHECK (projection_version >= 1),
  payload_json       TEXT    NOT NULL,
  created_us         INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, seq)
) STRICT;

CREATE TABLE job_change_heads (
  tenant_id      TEXT    NOT NULL PRIMARY KEY,
  last_seq       INTEGER NOT NULL CHECK (last_seq >= 0),
  pruned_through INTEGER NOT NULL DEFAULT 0 CHECK (pruned_through BETWEEN 0 AND last_seq)
) STRICT, WITHOUT ROWID;
)sql";

// Version 7 (GET /api/runtime/validations, storage/validator_run_list_sql.hpp):
// the run row carries its current execution's status (current_status, kept
// equal to it by every write that changes it, in the same transaction), so the
// run list's filters and order are all on one row and each page is a backward
// range read of one index per status: validator_runs_list_status for the
// tenant's runs, validator_runs_list_validator with a validator filter. Both
// end with the list order (created_at, run_id) so no page sorts. Backfilled
// from each run's current execution.
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE validator_runs ADD COLUMN current_status TEXT NOT NULL DEFAULT 'PENDING'
  CHECK (current_status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'));
UPDATE validator_runs SET current_status = COALESCE((SELECT e.status FROM validator_executions AS e
  WHERE e.callback_id = validator_runs.current_callback_id), current_status);
CREATE INDEX validator_runs_list_status
  ON validator_runs (tenant_id, current_status, created_at, run_id);
CREATE INDEX validator_runs_list_validator
  ON validator_runs (tenant_id, validator, current_status, created_at, run_id);
)sql";

constexpr std::array<Migration, 7> kMigrations = {{
    {1, "jobs, job_events, store_health", kSchemaV1},
    {2, "projection_outbox", kSchemaV2},
    {3, "nodes, job_leases, job_cancels", kNodeSchemaV3},
    {4, "validator_runs, validator_executions", kSchemaV4},
    {5, "actor trail, token_revocations", kSchemaV5},
    {6, "jobs.requested_by, list indexes, job_changes, job_change_heads", kSchemaV6},
    {7, "validator_runs.current_status, run list indexes", kSchemaV7},
}};

// Plain (not STRICT) so that any SQLite, and any build, can read the version.
constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " applied_at TEXT NOT NULL)";

Result<int> ParseVersion(const std::string& text) {
  int version = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, version);
  if (ec != std::errc() || ptr != end) {
    return Internal("schema_migrations holds a non-integer version: '" + text + "'");
  }
  return version;
}

Result<int> MigrateInTransaction(Database& db) {
  if (Status s = db.Exec(kCreateMigrationsTable, "create schema_migrations"); !s) {
    return std::move(s).error();
  }
  Result<std::string> max_text = db.QueryText(
      "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "read schema version");
  if (!max_text) return std::move(max_text).error();
  Result<int> found = ParseVersion(*max_text);
  if (!found) return found;
  const int latest = LatestSchemaVersion();
  if (*found > latest) {
    return SchemaNewerThanBuild(*found, latest, "open it");
  }
  Result<Statement> record = db.Prepare(
      "INSERT INTO schema_migrations (version, applied_at)"
      " VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  if (!record) return std::move(record).error();
  for (const Migration& m : kMigrations) {
    if (m.version <= *found) continue;
    if (Status s = db.Exec(m.sql, "apply migration " + std::to_string(m.version)); !s) {
      return std::move(s).error();
    }
    if (Status s = record->Run("record migration " + std::to_string(m.version), m.version); !s) {
      return std::move(s).error();
    }
  }
  return found;
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

Result<int> MigrateSchema(Database& db) {
  // IMMEDIATE takes the write lock up front, so two processes opening the same
  // new file cannot both decide to apply migration 1.
  if (Status s = db.Exec("BEGIN IMMEDIATE", "begin migration"); !s) return std::move(s).error();
  Result<int> found = MigrateInTransaction(db);
  if (!found) {
    (void)db.Exec("ROLLBACK", "rollback migration");
    return found;
  }
  if (Status s = db.Exec("COMMIT", "commit migration"); !s) {
    (void)db.Exec("ROLLBACK", "rollback migration");
    return std::move(s).error();
  }
  return found;
}

}  // namespace rtgw::storage::sqlite
