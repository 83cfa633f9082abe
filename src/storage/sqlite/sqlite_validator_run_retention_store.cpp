// ValidatorRunRetentionStore of a SqliteDatabase (db_stores.hpp).
// ReadPrunableRuns and CountPrunableRuns run on the reader threads (each run
// with its executions in one read); DeletePrunedRuns is ONE write of the group
// commit, in its own savepoint, so a batch is gone entirely or not at all. No
// cache holds runs. The SQL is shared with PostgreSQL
// (validator_run_retention_sql.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/job_retention_sql.hpp"
#include "storage/sqlite/job_reader.hpp"
#include "storage/sqlite/job_writer.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "storage/validator_run_retention_sql.hpp"

namespace rtgw::storage {

using sqlite::JobReader;
using sqlite::JobWriter;
using sqlite::ResetGuard;
using sqlite::SqliteDatabase;
using sqlite::Statement;

namespace {

Result<PrunableRunBatch> ReadBatch(JobReader& r, const std::string& cutoff,
                                   const std::optional<RunPruneKey>& after, int limit) {
  Result<Statement> keys = r.db().Prepare(RetentionSql(kRunRetentionKeys, '?'));
  Result<Statement> rows = r.db().Prepare(RetentionSql(kRunRetentionExecutions, '?'));
  if (!keys) return std::move(keys).error();
  if (!rows) return std::move(rows).error();
  std::vector<RunPruneKey> found;
  {
    // Bind does not copy text (SQLITE_STATIC): the key must outlive the step,
    // so no temporaries here.
    const std::string after_finished = after ? after->finished_at : "";
    const std::string after_run = after ? after->run_id : "";
    ResetGuard reset(*keys);
    keys->Bind(after_finished, after_run, cutoff, limit);
    Status s = keys->ForEachRow("find prunable validator runs", [&](const Statement& row) {
      found.push_back(RunPruneKey{row.ColumnText(0), row.ColumnText(1)});
    });
    if (!s) return std::move(s).error();
  }
  PrunableRunBatch batch;
  if (static_cast<int>(found.size()) == limit) batch.next = found.back();
  for (const RunPruneKey& k : found) {
    PrunableRun run;
    ResetGuard reset(*rows);
    rows->Bind(k.run_id);
    Status s = rows->ForEachRow("read validator run",
                                [&](const Statement& row) { AddRetentionRow(row, run); });
    if (!s) return std::move(s).error();
    if (!run.executions.empty()) batch.runs.push_back(std::move(run));  // else deleted meanwhile
  }
  return batch;
}

Result<RunPruneCounts> DeleteRuns(JobWriter& w, const std::string& cutoff,
                                  const std::vector<PrunableRun>& runs) {
  Result<Statement> recheck = w.db().Prepare(RetentionSql(kRunRetentionRecheck, '?'));
  Result<Statement> executions = w.db().Prepare(RetentionSql(kRunRetentionDeleteExecutions, '?'));
  Result<Statement> run_row = w.db().Prepare(RetentionSql(kRunRetentionDeleteRun, '?'));
  if (!recheck) return std::move(recheck).error();
  if (!executions) return std::move(executions).error();
  if (!run_row) return std::move(run_row).error();
  RunPruneCounts out;
  for (const PrunableRun& p : runs) {
    const std::string& id = p.run.run_id;
    {
      ResetGuard reset(*recheck);
      Result<bool> still =
          recheck->FirstRow("re-check prunable validator run", id, p.run.current.callback_id,
                            cutoff, static_cast<std::int64_t>(p.executions.size()));
      if (!still) return std::move(still).error();
      if (!*still) continue;  // changed since it was read (a rerun): stays
    }
    if (Status s = executions->Run("delete validator executions", id); !s) return s.error();
    out.executions += executions->Changes();
    if (Status s = run_row->Run("delete validator run", id); !s) return s.error();
    out.runs += run_row->Changes();
  }
  return out;
}

}  // namespace

template <>
void DbValidatorRunRetentionStore<SqliteDatabase>::ReadPrunableRuns(
    std::string cutoff, std::optional<RunPruneKey> after, int limit,
    Callback<PrunableRunBatch> done) {
  db_.Read<PrunableRunBatch>([c = std::move(cutoff), a = std::move(after),
                              limit](JobReader& r) { return ReadBatch(r, c, a, limit); },
                             std::move(done));
}

template <>
void DbValidatorRunRetentionStore<SqliteDatabase>::DeletePrunedRuns(std::string cutoff,
                                                                    std::vector<PrunableRun> runs,
                                                                    Callback<RunPruneCounts> done) {
  db_.Write<RunPruneCounts>(
      [c = std::move(cutoff), rs = std::move(runs)](JobWriter& w) { return DeleteRuns(w, c, rs); },
      std::move(done));
}

template <>
void DbValidatorRunRetentionStore<SqliteDatabase>::CountPrunableRuns(
    std::string cutoff, Callback<RunPruneCounts> done) {
  db_.Read<RunPruneCounts>(
      [c = std::move(cutoff)](JobReader& r) -> Result<RunPruneCounts> {
        Result<Statement> count = r.db().Prepare(RetentionSql(kRunRetentionCount, '?'));
        if (!count) return std::move(count).error();
        ResetGuard reset(*count);
        Result<bool> row = count->FirstRow("count prunable validator runs", c);
        if (!row) return std::move(row).error();
        RunPruneCounts out;
        if (*row) {
          out.runs = count->ColumnInt64(0);
          out.executions = count->ColumnInt64(1);
        }
        return out;
      },
      std::move(done));
}

}  // namespace rtgw::storage
