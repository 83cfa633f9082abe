#ifndef RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_OPS_HPP_
#define RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_OPS_HPP_

// Private to storage/postgres: the ValidatorRunStore operations
// (storage/validator_run_store.hpp) as plain blocking calls on one
// connection, with the semantics of the SQLite store.
//
// Writes run inside the caller's transaction (the group-commit batch) and are
// safe against other replicas: everything that reads a run's current
// execution and then decides (AddExecution, ApplyCallback) first locks the run
// row (validator_runs FOR UPDATE) and then the execution row, and re-reads
// under those locks. So of concurrent deliveries of one callback exactly one
// is kApplied (the others see its receipt: kReplay), a rerun and a late
// callback of the execution it replaces are decided one after the other
// (kSuperseded), and a fallback poll ending the execution at the same moment
// yields kFinished. MarkLaunched / FinishWithoutCallback are conditional
// UPDATEs on open executions, after the run row's lock (the same order). Each
// write that changes the current execution's status also writes it to the
// run row (validator_runs.current_status, the key of the list's indexes).
// Reads are single autocommit statements.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage::postgres {

class PgConn;

Status PgCreateRun(PgConn& conn, const ValidatorRun& run);
Status PgAddExecution(PgConn& conn, const ValidatorExecution& execution);
Result<bool> PgMarkLaunched(PgConn& conn, const std::string& callback_id,
                            const std::string& execution_name, const std::string& status);
Result<bool> PgFinishWithoutCallback(PgConn& conn, const std::string& callback_id,
                                     const std::string& status, const std::string& error,
                                     const std::string& finished_at);
Result<CallbackOutcome> PgApplyCallback(PgConn& conn, const CallbackApply& apply);
Status PgMarkEventSynced(PgConn& conn, const std::string& callback_id);
Result<ValidatorRun> PgGetRun(PgConn& conn, const std::optional<std::string>& tenant_id,
                              const std::string& run_id);
Result<std::vector<ValidatorRun>> PgListDue(PgConn& conn, std::int64_t now_us,
                                            const std::optional<DueKey>& after, int limit);
Result<RunPage> PgListRuns(PgConn& conn, const RunListQuery& query);

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_OPS_HPP_
