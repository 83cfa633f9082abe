#include "storage/store_copy.hpp"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

#include "crypto/crypto.hpp"
#include "storage/open_store.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/table_io.hpp"

namespace rtgw::storage {
namespace {

using K = ColumnKind;

// What is copied, in dependency order. Column kinds make both backends render
// the same canonical text (see table_io.hpp).
const std::vector<TableSpec>& CopiedTables() {
  static const std::vector<TableSpec> kTables = {
      {"jobs",
       {{"tenant_id", K::kText},
        {"job_id", K::kText},
        {"workspace_id", K::kText},
        {"idempotency_key", K::kText},
        {"management_node_id", K::kText},
        {"request_fingerprint", K::kText},
        {"spec_json", K::kText},
        {"submission_id", K::kText},
        {"accepted_at", K::kText},
        {"trace_id", K::kText},
        {"response_json", K::kText},
        {"state", K::kText},
        {"projection_version", K::kInt},
        {"result_ref_json", K::kText},
        {"error_json", K::kText},
        {"updated_at", K::kText},
        {"submitted_by", K::kText},
        {"requested_by", K::kText}},
       "tenant_id, job_id"},
      {"job_events",
       {{"seq", K::kInt},
        {"tenant_id", K::kText},
        {"job_id", K::kText},
        {"event_id", K::kText},
        {"workspace_id", K::kText},
        {"submission_id", K::kText},
        {"execution_id", K::kText},
        {"state", K::kText},
        {"occurred_at", K::kText},
        {"received_at", K::kText},
        {"trace_id", K::kText},
        {"result_ref_json", K::kText},
        {"error_json", K::kText},
        {"fingerprint", K::kText},
        {"applied", K::kBool},
        {"actor_sub", K::kText},
        {"actor_node_id", K::kText}},
       "seq",
       "seq"},
      {"projection_outbox",
       {{"id", K::kInt},
        {"tenant_id", K::kText},
        {"job_id", K::kText},
        {"projection_version", K::kInt},
        {"payload_json", K::kText},
        {"created_at", K::kTime},
        {"attempts", K::kInt},
        {"next_attempt_at", K::kTime},
        {"lease_owner", K::kText},
        {"lease_expires_at", K::kTime},
        {"last_error", K::kText},
        {"dead_at", K::kTime}},
       "id",
       "id"},
      {"nodes",
       {{"tenant_id", K::kText},
        {"node_id", K::kText},
        {"sub", K::kText},
        {"agent_version", K::kText},
        {"executor", K::kText},
        {"catalogue_json", K::kText},
        {"in_flight", K::kInt},
        {"first_seen_ms", K::kInt},
        {"last_seen_ms", K::kInt}},
       "tenant_id, node_id"},
      {"job_leases",
       {{"tenant_id", K::kText},
        {"job_id", K::kText},
        {"node_id", K::kText},
        {"lease_id", K::kText},
        {"granted_at_ms", K::kInt},
        {"expires_at_ms", K::kInt},
        {"released", K::kBool},
        {"grants", K::kInt}},
       "tenant_id, job_id"},
      {"job_cancels",
       {{"tenant_id", K::kText},
        {"job_id", K::kText},
        {"node_id", K::kText},
        {"requested_at_ms", K::kInt},
        {"requested_by", K::kText},
        {"trace_id", K::kText},
        {"delivered_at_ms", K::kInt}},
       "tenant_id, job_id"},
      {"validator_runs",
       {{"run_id", K::kText},
        {"tenant_id", K::kText},
        {"workspace_id", K::kText},
        {"validator", K::kText},
        {"version", K::kText},
        {"launcher", K::kText},
        {"requested_by", K::kText},
        {"created_at", K::kText},
        {"current_callback_id", K::kText},
        {"current_status", K::kText}},
       "run_id"},
      {"validator_executions",
       {{"callback_id", K::kText},
        {"run_id", K::kText},
        {"attempt", K::kInt},
        {"job_id", K::kText},
        {"submission_id", K::kText},
        {"execution_name", K::kText},
        {"status", K::kText},
        {"input_uri", K::kText},
        {"result_uri", K::kText},
        {"findings_json", K::kText},
        {"error", K::kText},
        {"receipt_json", K::kText},
        {"finished_at", K::kText},
        {"trace_id", K::kText},
        {"deadline_us", K::kInt},
        {"event_synced", K::kBool},
        {"created_at", K::kText}},
       "callback_id"},
      {"token_revocations",
       {{"tenant_id", K::kText},
        {"jti", K::kText},
        {"expires_at_ms", K::kInt},
        {"revoked_at_ms", K::kInt},
        {"revoked_by", K::kText}},
       "tenant_id, jti"},
      // The change feed keeps its numbering: a watcher's cursor (tenant,
      // seq) means the same change on the copy.
      {"job_changes",
       {{"tenant_id", K::kText},
        {"seq", K::kInt},
        {"job_id", K::kText},
        {"workspace_id", K::kText},
        {"management_node_id", K::kText},
        {"requested_by", K::kText},
        {"projection_version", K::kInt},
        {"payload_json", K::kText},
        {"created_us", K::kInt}},
       "tenant_id, seq"},
      {"job_change_heads",
       {{"tenant_id", K::kText}, {"last_seq", K::kInt}, {"pruned_through", K::kInt}},
       "tenant_id"},
      {"job_unapplied_events",
       {{"tenant_id", K::kText}, {"job_id", K::kText}, {"stored", K::kInt}},
       "tenant_id, job_id"},
  };
  return kTables;
}

Result<std::unique_ptr<TableIo>> OpenIo(const DatabaseUrl& url) {
  if (url.backend == Backend::kSqlite) return sqlite::OpenSqliteTableIo(url.sqlite_path);
  return postgres::OpenPgTableIo(url.url);
}

int LatestVersion(Backend b) {
  return b == Backend::kSqlite ? sqlite::SqliteDatabase::SchemaVersion()
                               : postgres::PgDatabase::SchemaVersion();
}

// The idempotency records have no table of their own: a submit's is its `jobs` row (key,
// request fingerprint, submission id and the stored 202 body), an event's is its `job_events`
// row (event id and fingerprint). They are copied with those tables; the report checks them on
// lines of their own, so an operator sees that replays will answer as before.
struct IdempotencyView {
  const char* label;
  TableSpec columns;  // a subset of a copied table's columns, in that table's key order
};

// The named columns of a copied table, with their kinds and order as CopiedTables() has them.
TableSpec ColumnsOf(std::string_view table, std::initializer_list<std::string_view> names) {
  for (const TableSpec& spec : CopiedTables()) {
    if (table != spec.name) continue;
    TableSpec subset{spec.name, {}, spec.order_by};
    for (std::string_view name : names) {
      for (const Column& c : spec.columns) {
        if (name == c.name) subset.columns.push_back(c);
      }
    }
    return subset;
  }
  return TableSpec{};  // not reached: the names below are CopiedTables()'
}

const std::vector<IdempotencyView>& IdempotencyViews() {
  static const std::vector<IdempotencyView> kViews = {
      {"idempotency records (jobs: key, fingerprint, stored 202 body)",
       ColumnsOf("jobs", {"tenant_id", "idempotency_key", "request_fingerprint", "submission_id",
                          "response_json"})},
      {"event idempotency records (job_events: event_id, fingerprint)",
       ColumnsOf("job_events", {"tenant_id", "job_id", "event_id", "fingerprint"})},
  };
  return kViews;
}

// A chained SHA-256 over the canonical rows: h = sha256(h || row), so both
// sides can be hashed while streaming. Each value is tagged (NULL vs text)
// and length-prefixed, so no two different rows serialize alike.
struct Digest {
  std::int64_t rows = 0;
  std::string hash = std::string(32, '\0');
  void Add(const Row& row) {
    std::string buf = hash;
    for (const auto& v : row) {
      if (!v) {
        buf += 'N';
      } else {
        buf += 'T' + std::to_string(v->size()) + ':' + *v;
      }
    }
    hash = crypto::Sha256(buf);
    ++rows;
  }
};

Result<Digest> DigestTable(TableIo& io, const TableSpec& spec) {
  Digest d;
  Status s = io.ForEachRow(spec, [&](const Row& row) -> Status {
    d.Add(row);
    return Ok{};
  });
  if (!s) return std::move(s).error();
  return d;
}

Error Prefixed(const char* side, const std::string& url, Error e) {
  e.message = std::string(side) + " " + RedactDatabaseUrl(url) + ": " + e.message;
  return e;
}

}  // namespace

Result<CopyReport> CopyStore(const CopyOptions& o) {
  Result<DatabaseUrl> from = ParseDatabaseUrl(o.from_url);
  if (!from) return Prefixed("--from", o.from_url, std::move(from).error());
  Result<DatabaseUrl> to = ParseDatabaseUrl(o.to_url);
  if (!to) return Prefixed("--to", o.to_url, std::move(to).error());
  if (o.from_url == o.to_url) return InvalidArgument("--from and --to name the same store");
  if (from->backend == Backend::kSqlite && !std::filesystem::exists(from->sqlite_path)) {
    return InvalidArgument("--from: no SQLite file at " + from->sqlite_path);
  }
  // The target is a new home: bring it to this build's schema.
  Result<MigrateReport> migrated = MigrateDatabase(o.to_url);
  if (!migrated) return Prefixed("--to", o.to_url, std::move(migrated).error());

  Result<std::unique_ptr<TableIo>> src = OpenIo(*from);
  if (!src) return Prefixed("--from", o.from_url, std::move(src).error());
  Result<std::unique_ptr<TableIo>> dst = OpenIo(*to);
  if (!dst) return Prefixed("--to", o.to_url, std::move(dst).error());
  TableIo& source = **src;
  TableIo& target = **dst;

  Result<int> version = source.SchemaVersion();
  if (!version) return Prefixed("--from", o.from_url, std::move(version).error());
  if (*version != LatestVersion(from->backend)) {
    return InvalidArgument("--from: schema version " + std::to_string(*version) +
                           ", this build's is " + std::to_string(LatestVersion(from->backend)) +
                           "; run `rtgw migrate --database-url " + RedactDatabaseUrl(o.from_url) +
                           "` first");
  }

  std::vector<const TableSpec*> tables;
  for (const TableSpec& spec : CopiedTables()) {
    Result<bool> in_source = source.HasTable(spec.name);
    if (!in_source) return std::move(in_source).error();
    Result<bool> in_target = target.HasTable(spec.name);
    if (!in_target) return std::move(in_target).error();
    if (!*in_source) continue;  // e.g. a SQLite schema without the outbox yet
    if (!*in_target) {
      return InvalidArgument(std::string("--to has no table ") + spec.name +
                             " that the source has; upgrade rtgw on the target side");
    }
    tables.push_back(&spec);
  }
  if (!o.replace) {
    for (const TableSpec* spec : tables) {
      Result<std::int64_t> n = target.Count(spec->name);
      if (!n) return std::move(n).error();
      if (*n > 0) {
        return InvalidArgument("--to is not empty (" + std::to_string(*n) + " rows in " +
                               spec->name +
                               "); refusing to merge (pass --replace to delete "
                               "the target's rows first)");
      }
    }
  }

  // One target transaction: the copy is all or nothing.
  if (Status s = target.Begin(); !s) return std::move(s).error();
  auto copy = [&]() -> Status {
    if (o.replace) {
      for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
        if (Status s = target.DeleteAll(**it); !s) return s;
      }
    }
    for (const TableSpec* spec : tables) {
      Status s =
          source.ForEachRow(*spec, [&](const Row& row) { return target.Insert(*spec, row); });
      if (!s) return s;
      if (Status r = target.ResetIdentity(*spec); !r) return r;
    }
    return target.Commit();
  };
  if (Status s = copy(); !s) {
    target.Rollback();
    return std::move(s).error();
  }

  // Verify: re-read both sides.
  CopyReport report;
  for (const TableSpec* spec : tables) {
    Result<Digest> a = DigestTable(source, *spec);
    if (!a) return std::move(a).error();
    Result<Digest> b = DigestTable(target, *spec);
    if (!b) return std::move(b).error();
    Result<std::int64_t> counted = target.Count(spec->name);
    if (!counted) return std::move(counted).error();
    TableReport t;
    t.table = spec->name;
    t.source_rows = a->rows;
    t.target_rows = *counted;
    t.source_sha256 = crypto::HexEncode(a->hash);
    t.target_sha256 = crypto::HexEncode(b->hash);
    report.tables.push_back(std::move(t));
  }
  for (const IdempotencyView& view : IdempotencyViews()) {
    const bool copied = std::any_of(tables.begin(), tables.end(), [&](const TableSpec* t) {
      return std::string_view(t->name) == view.columns.name;
    });
    if (!copied) continue;
    Result<Digest> a = DigestTable(source, view.columns);
    if (!a) return std::move(a).error();
    Result<Digest> b = DigestTable(target, view.columns);
    if (!b) return std::move(b).error();
    TableReport t;
    t.table = view.label;
    t.source_rows = a->rows;
    t.target_rows = b->rows;
    t.source_sha256 = crypto::HexEncode(a->hash);
    t.target_sha256 = crypto::HexEncode(b->hash);
    report.tables.push_back(std::move(t));
  }
  return report;
}

std::string FormatCopyReport(const CopyReport& report) {
  std::ostringstream out;
  for (const TableReport& t : report.tables) {
    out << (t.ok() ? "ok       " : "MISMATCH ") << t.table << ": rows " << t.source_rows << " -> "
        << t.target_rows << ", sha256 " << t.source_sha256.substr(0, 16) << " / "
        << t.target_sha256.substr(0, 16) << "\n";
  }
  out << (report.ok() ? "copy verified: every table has the same rows on both sides\n"
                      : "copy NOT verified: see MISMATCH lines\n");
  return out.str();
}

}  // namespace rtgw::storage
