// ValidatorRunRetentionStore of a PgDatabase (db_stores.hpp).
// ReadPrunableRuns and CountPrunableRuns are read tasks. DeletePrunedRuns is
// a task with its own short transaction, never part of a group-commit batch:
// it locks each run row (FOR UPDATE) before re-checking it, as a rerun and a
// callback lock it first (pg_validator_run_ops.hpp), so a rerun that comes
// meanwhile either commits first (the re-check then sees a new current
// execution and keeps the run) or waits and then finds no run. Several
// replicas pruning at once delete each run once. The SQL is shared with SQLite
// (validator_run_retention_sql.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/job_retention_sql.hpp"
#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_database.hpp"
#include "storage/validator_run_retention_sql.hpp"

namespace rtgw::storage {

using postgres::Params;
using postgres::PgConn;
using postgres::PgDatabase;
using postgres::PgResult;
using postgres::PgRow;

namespace {

Result<PrunableRunBatch> ReadBatch(PgConn& c, const std::string& cutoff,
                                   const std::optional<RunPruneKey>& after, int limit) {
  const std::string from_finished = after ? after->finished_at : "";
  const std::string from_run = after ? after->run_id : "";
  Result<PgResult> keys = c.QueryPrepared("vr_retention_keys", kRunRetentionKeys,
                                          Params::Of(from_finished, from_run, cutoff, limit),
                                          "find prunable validator runs");
  if (!keys) return std::move(keys).error();
  PrunableRunBatch batch;
  if (keys->rows() == limit) {
    batch.next = RunPruneKey{keys->Text(limit - 1, 0), keys->Text(limit - 1, 1)};
  }
  for (int i = 0; i < keys->rows(); ++i) {
    const std::string run_id = keys->Text(i, 1);
    Result<PgResult> rows = c.QueryPrepared("vr_retention_rows", kRunRetentionExecutions,
                                            Params::Of(run_id), "read validator run");
    if (!rows) return std::move(rows).error();
    PrunableRun run;
    for (int j = 0; j < rows->rows(); ++j) AddRetentionRow(PgRow(*rows, j), run);
    if (!run.executions.empty()) batch.runs.push_back(std::move(run));  // else deleted meanwhile
  }
  return batch;
}

Result<RunPruneCounts> DeleteInTransaction(PgConn& c, const std::string& cutoff,
                                           const std::vector<PrunableRun>& runs) {
  static const std::string kRecheck = RetentionSql(kRunRetentionRecheck, '$') + " FOR UPDATE OF r";
  RunPruneCounts out;
  for (const PrunableRun& p : runs) {
    const std::string& id = p.run.run_id;
    Result<PgResult> still =
        c.QueryPrepared("vr_retention_recheck", kRecheck.c_str(),
                        Params::Of(id, p.run.current.callback_id, cutoff,
                                   static_cast<std::int64_t>(p.executions.size())),
                        "re-check prunable validator run");
    if (!still) return std::move(still).error();
    if (still->rows() == 0) continue;  // changed since it was read (a rerun): stays
    Result<PgResult> executions =
        c.QueryPrepared("vr_retention_del_executions", kRunRetentionDeleteExecutions,
                        Params::Of(id), "delete validator executions");
    if (!executions) return std::move(executions).error();
    out.executions += executions->Affected();
    Result<PgResult> run = c.QueryPrepared("vr_retention_del_run", kRunRetentionDeleteRun,
                                           Params::Of(id), "delete validator run");
    if (!run) return std::move(run).error();
    out.runs += run->Affected();
  }
  return out;
}

}  // namespace

template <>
void DbValidatorRunRetentionStore<PgDatabase>::ReadPrunableRuns(std::string cutoff,
                                                                std::optional<RunPruneKey> after,
                                                                int limit,
                                                                Callback<PrunableRunBatch> done) {
  db_.Task<PrunableRunBatch>([c = std::move(cutoff), a = std::move(after),
                              limit](PgConn& conn) { return ReadBatch(conn, c, a, limit); },
                             std::move(done), /*rerunnable=*/true);
}

template <>
void DbValidatorRunRetentionStore<PgDatabase>::DeletePrunedRuns(std::string cutoff,
                                                                std::vector<PrunableRun> runs,
                                                                Callback<RunPruneCounts> done) {
  db_.Task<RunPruneCounts>(
      [c = std::move(cutoff), rs = std::move(runs)](PgConn& conn) -> Result<RunPruneCounts> {
        if (Status s = conn.Exec("BEGIN", "begin"); !s) return std::move(s).error();
        Result<RunPruneCounts> out = DeleteInTransaction(conn, c, rs);
        Status end = conn.Exec(out ? "COMMIT" : "ROLLBACK", "end transaction");
        if (out && !end) return std::move(end).error();
        return out;
      },
      std::move(done), /*rerunnable=*/true);
}

template <>
void DbValidatorRunRetentionStore<PgDatabase>::CountPrunableRuns(std::string cutoff,
                                                                 Callback<RunPruneCounts> done) {
  db_.Task<RunPruneCounts>(
      [c = std::move(cutoff)](PgConn& conn) -> Result<RunPruneCounts> {
        Result<PgResult> r = conn.QueryPrepared("vr_retention_count", kRunRetentionCount,
                                                Params::Of(c), "count prunable validator runs");
        if (!r) return std::move(r).error();
        RunPruneCounts out;
        if (r->rows() > 0) {
          out.runs = r->Int(0, 0);
          out.executions = r->Int(0, 1);
        }
        return out;
      },
      std::move(done), /*rerunnable=*/true);
}

}  // namespace rtgw::storage
