#ifndef RTGW_STORAGE_STORE_COPY_HPP_
#define RTGW_STORAGE_STORE_COPY_HPP_

// `rtgw store copy`: moves a deployment from one store to another (the
// promotion path SQLite -> PostgreSQL), verified.

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::storage {

struct CopyOptions {
  std::string from_url;
  std::string to_url;
  bool replace = false;  // target not empty: delete its rows first (else refuse)
};

struct TableReport {
  std::string table;
  std::int64_t source_rows = 0;
  std::int64_t target_rows = 0;
  std::string source_sha256;  // over the canonical rows in primary-key order
  std::string target_sha256;
  bool ok() const { return source_rows == target_rows && source_sha256 == target_sha256; }
};

struct CopyReport {
  std::vector<TableReport> tables;
  bool ok() const {
    for (const TableReport& t : tables) {
      if (!t.ok()) return false;
    }
    return true;
  }
};

// Copies jobs, job_events (with their seq), projection_outbox, nodes,
// job_leases, job_cancels, validator_runs and validator_executions (each when
// the source has it) in ONE target transaction, then re-reads both sides and
// compares row counts and a SHA-256 per table. The source must be at this
// build's schema version and is only read (SQLite: its file lock is taken, so
// no server may be running on it); the target is migrated first. Refuses
// (InvalidArgument) a target that already holds jobs unless `replace`.
// store_health and schema_migrations are not copied. The report has a line per
// table, then one for the submit idempotency records (jobs: key, fingerprint,
// stored 202 body) and one for the event ids (job_events: event_id, fingerprint),
// hashed the same way.
Result<CopyReport> CopyStore(const CopyOptions& options);

// The report as printed by the CLI: one line per table and a verdict.
std::string FormatCopyReport(const CopyReport& report);

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_STORE_COPY_HPP_
