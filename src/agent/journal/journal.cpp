#include "agent/journal/journal.hpp"

#include <boost/json.hpp>
#include <sqlite3.h>

#include "storage/sqlite/sqlite_db.hpp"

namespace rtgw::agent {

using storage::sqlite::Database;
using storage::sqlite::ResetGuard;
using storage::sqlite::SqliteError;
using storage::sqlite::Statement;

namespace {

namespace json = boost::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  submission_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  lease_id TEXT NOT NULL DEFAULT '',
  phase TEXT NOT NULL,
  backend_id TEXT NOT NULL DEFAULT '',
  intent_at_ms INTEGER NOT NULL DEFAULT 0,
  last_state TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  updated_at_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs(phase);
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  submission_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  delivered_at_ms INTEGER,
  dead_reason TEXT);
CREATE INDEX IF NOT EXISTS events_due ON events(delivered_at_ms, next_attempt_ms);
CREATE INDEX IF NOT EXISTS events_by_job ON events(submission_id, seq);
)sql";

std::string SpecToJson(const JobSpec& s) {
  json::object o;
  o["submission_id"] = s.submission_id;
  o["job_id"] = s.job_id;
  o["tenant_id"] = s.tenant_id;
  o["workspace_id"] = s.workspace_id;
  o["trace_id"] = s.trace_id;
  o["cpu"] = s.cpu;
  o["memory_mib"] = s.memory_mib;
  o["walltime_seconds"] = s.walltime_seconds;
  o["input_uri"] = s.input_uri;
  o["partition"] = s.partition;
  o["account"] = s.account;
  o["qos"] = s.qos;
  if (s.max_walltime_minutes) o["max_walltime_minutes"] = *s.max_walltime_minutes;
  if (s.validator) {
    o["validator"] = json::object{{"name", s.validator->name},
                                  {"version", s.validator->version},
                                  {"run_id", s.validator->run_id},
                                  {"callback_id", s.validator->callback_id},
                                  {"callback_url", s.validator->callback_url}};
  }
  return json::serialize(o);
}

Result<JobSpec> SpecFromJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("journal: corrupt spec_json");
  const json::object& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    const json::value* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto num = [&](const char* k, std::int64_t d) -> std::int64_t {
    const json::value* x = o.if_contains(k);
    return x && x->is_int64() ? x->as_int64() : d;
  };
  JobSpec s;
  s.submission_id = str("submission_id");
  s.job_id = str("job_id");
  s.tenant_id = str("tenant_id");
  s.workspace_id = str("workspace_id");
  s.trace_id = str("trace_id");
  s.cpu = num("cpu", 1);
  s.memory_mib = num("memory_mib", 1024);
  s.walltime_seconds = num("walltime_seconds", 3600);
  s.input_uri = str("input_uri");
  s.partition = str("partition");
  s.account = str("account");
  s.qos = str("qos");
  if (o.if_contains("max_walltime_minutes"))
    s.max_walltime_minutes = num("max_walltime_minutes", 0);
  if (const json::value* vv = o.if_contains("validator"); vv && vv->is_object()) {
    const json::object& vo = vv->as_object();
    auto vstr = [&](const char* k) -> std::string {
      const json::value* x = vo.if_contains(k);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    s.validator = ValidatorCall{vstr("name"), vstr("version"), vstr("run_id"), vstr("callback_id"),
                                vstr("callback_url")};
  }
  return s;
}

JournalPhase PhaseFrom(const std::string& s) {
  if (s == "submitting") return JournalPhase::kSubmitting;
  if (s == "submitted") return JournalPhase::kSubmitted;
  if (s == "terminal") return JournalPhase::kTerminal;
  if (s == "released") return JournalPhase::kReleased;
  return JournalPhase::kLeased;
}

}  // namespace

std::string_view ToString(JournalPhase phase) {
  switch (phase) {
    case JournalPhase::kLeased:
      return "leased";
    case JournalPhase::kSubmitting:
      return "submitting";
    case JournalPhase::kSubmitted:
      return "submitted";
    case JournalPhase::kTerminal:
      return "terminal";
    case JournalPhase::kReleased:
      return "released";
  }
  return "leased";
}

struct Journal::Impl {
  Database db;

  Status Exec(const std::string& sql) { return db.Exec(sql, "journal"); }

  // Runs `sql` with text/int binds; returns rows via `row` callback.
  template <class Bind, class Row>
  Status Query(std::string_view sql, Bind&& bind, Row&& row) {
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.error();
    Statement& s = *st;
    ResetGuard guard(s);
    bind(s);
    while (true) {
      const int rc = s.Step();
      if (rc == SQLITE_ROW) {
        row(s);
        continue;
      }
      if (rc == SQLITE_DONE) return Ok{};
      return SqliteError(rc, db.handle(), "journal query");
    }
  }
  template <class Bind>
  Status Run(std::string_view sql, Bind&& bind) {
    return Query(sql, std::forward<Bind>(bind), [](Statement&) {});
  }

  // The jobs rows matching `where` (an SQL condition on jobs, binds from ?1).
  template <class Bind>
  Result<std::vector<JournalJob>> Jobs(const std::string& where, Bind&& bind) {
    std::vector<JournalJob> out;
    std::optional<Error> err;
    Status st = Query(
        "SELECT spec_json, lease_id, phase, backend_id, intent_at_ms, last_state, "
        "cancel_requested FROM jobs WHERE " +
            where,
        std::forward<Bind>(bind), [&](Statement& s) { out.push_back(RowToJob(s, &err)); });
    if (!st.ok()) return st.error();
    if (err) return *err;
    return out;
  }

  Result<std::optional<JournalJob>> Get(const std::string& sid) {
    auto jobs = Jobs("submission_id = ?1", [&](Statement& s) { s.BindText(1, sid); });
    if (!jobs.ok()) return jobs.error();
    if (jobs->empty()) return std::optional<JournalJob>();
    return std::optional<JournalJob>(std::move(jobs->front()));
  }

  // The events rows matching `tail` (an SQL condition and order on events `e`, binds from ?1).
  template <class Bind>
  Result<std::vector<JournalEvent>> Events(const std::string& tail, Bind&& bind) {
    std::vector<JournalEvent> out;
    Status st = Query(
        "SELECT seq, event_id, submission_id, job_id, body, attempts FROM events e WHERE " + tail,
        std::forward<Bind>(bind), [&](Statement& s) {
          JournalEvent e;
          e.seq = s.ColumnInt64(0);
          e.event_id = s.ColumnText(1);
          e.submission_id = s.ColumnText(2);
          e.job_id = s.ColumnText(3);
          e.body = s.ColumnText(4);
          e.attempts = static_cast<int>(s.ColumnInt64(5));
          out.push_back(std::move(e));
        });
    if (!st.ok()) return st.error();
    return out;
  }

  // Runs the jobs INSERT `sql` with ?1..?4 bound to the ids, spec JSON and lease; `bind_more`
  // binds the rest.
  template <class Bind>
  Status InsertJob(const char* sql, const JobSpec& spec, const std::string& lease_id,
                   Bind&& bind_more) {
    const std::string spec_json = SpecToJson(spec);
    return Run(sql, [&](Statement& s) {
      s.BindText(1, spec.submission_id);
      s.BindText(2, spec.job_id);
      s.BindText(3, spec_json);
      s.BindText(4, lease_id);
      bind_more(s);
    });
  }

  Status MarkSubmitted(const std::string& sid, const std::string& backend_id) {
    return Run(
        "UPDATE jobs SET phase = 'submitted', backend_id = ?2 "
        "WHERE submission_id = ?1 AND phase IN ('leased', 'submitting')",
        [&](Statement& s) {
          s.BindText(1, sid);
          s.BindText(2, backend_id);
        });
  }

  static JournalJob RowToJob(Statement& s, std::optional<Error>* err) {
    JournalJob j;
    auto spec = SpecFromJson(s.ColumnText(0));
    if (!spec.ok()) {
      *err = spec.error();
    } else {
      j.spec = *spec;
    }
    j.lease_id = s.ColumnText(1);
    j.phase = PhaseFrom(s.ColumnText(2));
    j.backend_id = s.ColumnText(3);
    j.intent_at_ms = s.ColumnInt64(4);
    j.last_state = s.ColumnText(5);
    j.cancel_requested = s.ColumnInt64(6) != 0;
    return j;
  }
};

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Journal::~Journal() = default;

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path) {
  auto db = Database::Open(path, Database::Mode::kReadWriteCreate, 5000);
  if (!db.ok()) return db.error();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    auto r = impl->db.QueryText(pragma, "journal pragma");
    if (!r.ok()) return r.error();
  }
  Status st = impl->Exec(kSchema);
  if (!st.ok()) return st.error();
  return std::unique_ptr<Journal>(new Journal(std::move(impl)));
}

Result<std::optional<JournalJob>> Journal::Get(const std::string& submission_id) {
  std::lock_guard lock(mu_);
  return impl_->Get(submission_id);
}

Result<JournalJob> Journal::RecordLease(const JobSpec& spec, const std::string& lease_id) {
  std::lock_guard lock(mu_);
  Status st = impl_->InsertJob(
      "INSERT INTO jobs(submission_id, job_id, spec_json, lease_id, phase) "
      "VALUES(?1, ?2, ?3, ?4, 'leased') ON CONFLICT(submission_id) DO UPDATE SET "
      "lease_id = excluded.lease_id, "
      "phase = CASE WHEN phase = 'released' THEN 'leased' ELSE phase END",
      spec, lease_id, [](Statement&) {});
  if (!st.ok()) return st.error();
  auto j = impl_->Get(spec.submission_id);
  if (!j.ok()) return j.error();
  if (!j->has_value()) return Internal("journal: lease row missing after insert");
  return std::move(**j);
}

Status Journal::MarkSubmitting(const std::string& submission_id, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  return impl_->Run(
      "UPDATE jobs SET phase = 'submitting', intent_at_ms = ?2 "
      "WHERE submission_id = ?1 AND phase IN ('leased', 'submitting')",
      [&](Statement& s) {
        s.BindText(1, submission_id);
        s.BindInt64(2, now_ms);
      });
}

Status Journal::MarkSubmitted(const std::string& submission_id, const std::string& backend_id) {
  std::lock_guard lock(mu_);
  return impl_->MarkSubmitted(submission_id, backend_id);
}

Status Journal::MarkReleased(const std::string& submission_id) {
  std::lock_guard lock(mu_);
  return impl_->Run(
      "UPDATE jobs SET phase = 'released' WHERE submission_id = ?1 AND phase = 'leased'",
      [&](Statement& s) { s.BindText(1, submission_id); });
}

Status Journal::MarkCancelRequested(const std::string& submission_id) {
  std::lock_guard lock(mu_);
  return impl_->Run("UPDATE jobs SET cancel_requested = 1 WHERE submission_id = ?1",
                    [&](Statement& s) { s.BindText(1, submission_id); });
}

Status Journal::RecordIntent(const JobSpec& spec, const std::string& lease_id,
                             std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Status st = impl_->InsertJob(
      "INSERT INTO jobs(submission_id, job_id, spec_json, lease_id, phase, intent_at_ms) "
      "VALUES(?1, ?2, ?3, ?4, 'submitting', ?5)",
      spec, lease_id, [&](Statement& s) { s.BindInt64(5, now_ms); });
  if (!st.ok() && st.error().code == ErrorCode::kInternal) {
    return Conflict("journal: submission " + spec.submission_id + " already journaled");
  }
  return st;
}

Status Journal::RecordEvent(const std::string& submission_id, const std::string& state,
                            const std::string& body, bool terminal, const std::string& backend_id) {
  std::lock_guard lock(mu_);
  // The commit after a successful sbatch need not reach the disk before we go on: a process
  // crash keeps it (WAL in the page cache), the next FULL commit (the next intent) flushes
  // it, and if power loss drops it the job is still `submitting` and the tag lookup finds
  // the Slurm job. So it is written with synchronous=NORMAL: one fsync per submission.
  const bool relaxed = !backend_id.empty();
  if (relaxed) (void)impl_->Exec("PRAGMA synchronous=NORMAL");
  struct Restore {
    Impl* impl;
    bool on;
    ~Restore() {
      if (on) (void)impl->Exec("PRAGMA synchronous=FULL");
    }
  } restore{impl_.get(), relaxed};
  Status st = impl_->Exec("BEGIN IMMEDIATE");
  if (!st.ok()) return st;
  std::string job_id;
  st = impl_->Query(
      "SELECT job_id FROM jobs WHERE submission_id = ?1",
      [&](Statement& s) { s.BindText(1, submission_id); },
      [&](Statement& s) { job_id = s.ColumnText(0); });
  if (st.ok() && job_id.empty()) st = NotFound("journal: unknown submission " + submission_id);
  const std::string event_id = EventId(submission_id, state);  // outlives the Step (SQLITE_STATIC)
  if (st.ok()) {
    st = impl_->Run(
        "INSERT OR IGNORE INTO events(event_id, submission_id, job_id, body) VALUES(?1, ?2, ?3, "
        "?4)",
        [&](Statement& s) {
          s.BindText(1, event_id);
          s.BindText(2, submission_id);
          s.BindText(3, job_id);
          s.BindText(4, body);
        });
  }
  if (st.ok() && !backend_id.empty()) {
    st = impl_->MarkSubmitted(submission_id, backend_id);
  }
  if (st.ok()) {
    st = impl_->Run(
        "UPDATE jobs SET last_state = ?2, phase = CASE WHEN ?3 = 1 THEN 'terminal' ELSE phase END "
        "WHERE submission_id = ?1",
        [&](Statement& s) {
          s.BindText(1, submission_id);
          s.BindText(2, state);
          s.BindInt64(3, terminal ? 1 : 0);
        });
  }
  if (!st.ok()) {
    (void)impl_->Exec("ROLLBACK");
    return st;
  }
  return impl_->Exec("COMMIT");
}

Result<std::vector<JournalJob>> Journal::Active() {
  std::lock_guard lock(mu_);
  return impl_->Jobs("phase IN ('leased', 'submitting', 'submitted')", [](Statement&) {});
}

Result<std::vector<JournalEvent>> Journal::DueEvents(std::int64_t now_ms, int limit) {
  std::lock_guard lock(mu_);
  return impl_->Events(
      "delivered_at_ms IS NULL AND dead_reason IS NULL AND next_attempt_ms <= ?1 "
      "AND NOT EXISTS (SELECT 1 FROM events p WHERE p.submission_id = e.submission_id "
      "AND p.seq < e.seq AND p.delivered_at_ms IS NULL AND p.dead_reason IS NULL) "
      "ORDER BY seq LIMIT ?2",
      [&](Statement& s) {
        s.BindInt64(1, now_ms);
        s.BindInt64(2, limit);
      });
}

Result<std::vector<JournalEvent>> Journal::EventsOf(const std::string& submission_id) {
  std::lock_guard lock(mu_);
  return impl_->Events("submission_id = ?1 ORDER BY seq",
                       [&](Statement& s) { s.BindText(1, submission_id); });
}

Status Journal::MarkDelivered(const std::string& event_id, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  return impl_->Run("UPDATE events SET delivered_at_ms = ?2 WHERE event_id = ?1",
                    [&](Statement& s) {
                      s.BindText(1, event_id);
                      s.BindInt64(2, now_ms);
                    });
}

Status Journal::MarkRetry(const std::string& event_id, int attempts, std::int64_t next_attempt_ms) {
  std::lock_guard lock(mu_);
  return impl_->Run("UPDATE events SET attempts = ?2, next_attempt_ms = ?3 WHERE event_id = ?1",
                    [&](Statement& s) {
                      s.BindText(1, event_id);
                      s.BindInt64(2, attempts);
                      s.BindInt64(3, next_attempt_ms);
                    });
}

Status Journal::MarkDead(const std::string& event_id, const std::string& reason) {
  std::lock_guard lock(mu_);
  return impl_->Run("UPDATE events SET dead_reason = ?2 WHERE event_id = ?1", [&](Statement& s) {
    s.BindText(1, event_id);
    s.BindText(2, reason);
  });
}

Status Journal::ReannounceInFlight() {
  std::lock_guard lock(mu_);
  return impl_->Exec(
      "UPDATE events SET delivered_at_ms = NULL, next_attempt_ms = 0 WHERE dead_reason IS NULL "
      "AND submission_id IN (SELECT submission_id FROM jobs WHERE phase IN ('submitting', "
      "'submitted'))");
}

Result<std::int64_t> Journal::UndeliveredCount() {
  std::lock_guard lock(mu_);
  std::int64_t n = 0;
  Status st = impl_->Query(
      "SELECT count(*) FROM events WHERE delivered_at_ms IS NULL AND dead_reason IS NULL",
      [](Statement&) {}, [&](Statement& s) { n = s.ColumnInt64(0); });
  if (!st.ok()) return st.error();
  return n;
}

}  // namespace rtgw::agent

namespace rtgw::agent {

Result<std::int64_t> Journal::Prune(std::int64_t delivered_before_ms) {
  std::lock_guard lock(mu_);
  Status st = impl_->Run(
      "DELETE FROM events WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < ?1 AND "
      "submission_id IN (SELECT submission_id FROM jobs WHERE phase = 'terminal')",
      [&](Statement& s) { s.BindInt64(1, delivered_before_ms); });
  if (!st.ok()) return st.error();
  st = impl_->Exec(
      "DELETE FROM jobs WHERE phase IN ('terminal', 'released') AND NOT EXISTS "
      "(SELECT 1 FROM events e WHERE e.submission_id = jobs.submission_id)");
  if (!st.ok()) return st.error();
  return static_cast<std::int64_t>(sqlite3_changes(impl_->db.handle()));
}

}  // namespace rtgw::agent
