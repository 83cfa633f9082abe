#ifndef RTGW_STORAGE_SQLITE_NODE_SCHEMA_HPP_
#define RTGW_STORAGE_SQLITE_NODE_SCHEMA_HPP_

// Private to storage/sqlite: schema migration 3, the tables of NodeStore
// (storage/node_store.hpp; docs/contracts/storage-schema.md). Times are epoch
// milliseconds (INTEGER) so lease expiry compares as numbers.

namespace rtgw::storage::sqlite {

inline constexpr const char* kNodeSchemaV3 = R"sql(
CREATE TABLE nodes (
  tenant_id      TEXT    NOT NULL,
  node_id        TEXT    NOT NULL,
  sub            TEXT    NOT NULL,
  agent_version  TEXT    NOT NULL,
  executor       TEXT    NOT NULL,
  catalogue_json TEXT,
  in_flight      INTEGER NOT NULL,
  first_seen_ms  INTEGER NOT NULL,
  last_seen_ms   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, node_id)
) STRICT;

CREATE TABLE job_leases (
  tenant_id     TEXT    NOT NULL,
  job_id        TEXT    NOT NULL,
  node_id       TEXT    NOT NULL,
  lease_id      TEXT    NOT NULL UNIQUE,
  granted_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  released      INTEGER NOT NULL CHECK (released IN (0, 1)),
  grants        INTEGER NOT NULL CHECK (grants >= 1),
  PRIMARY KEY (tenant_id, job_id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, job_id)
) STRICT;

CREATE TABLE job_cancels (
  tenant_id       TEXT    NOT NULL,
  job_id          TEXT    NOT NULL,
  node_id         TEXT    NOT NULL,
  requested_at_ms INTEGER NOT NULL,
  requested_by    TEXT    NOT NULL,
  trace_id        TEXT    NOT NULL,
  delivered_at_ms INTEGER,
  PRIMARY KEY (tenant_id, job_id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, job_id)
) STRICT;

CREATE INDEX job_cancels_by_node ON job_cancels (tenant_id, node_id);

CREATE INDEX jobs_submitted_by_node ON jobs (tenant_id, management_node_id, accepted_at)
  WHERE state = 'submitted';
)sql";

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_NODE_SCHEMA_HPP_
