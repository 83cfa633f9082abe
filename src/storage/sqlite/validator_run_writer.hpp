#ifndef RTGW_STORAGE_SQLITE_VALIDATOR_RUN_WRITER_HPP_
#define RTGW_STORAGE_SQLITE_VALIDATOR_RUN_WRITER_HPP_

// Private to storage/sqlite: the validator_runs / validator_executions
// statements of the write connection (semantics in
// storage/validator_run_store.hpp).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/validator_run_list_sql.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage::sqlite {

// Blocking calls on the writer connection, inside the writer's transaction
// (each call runs in its own savepoint; an error rolls it back).
//
// Thread-safety: not thread-safe; used only by the writer thread.
class ValidatorRunWriter {
 public:
  // `db` must outlive this object and be migrated to schema v7 or later.
  static Result<ValidatorRunWriter> Create(Database& db);

  Status CreateRun(const ValidatorRun& run);
  Status AddExecution(const ValidatorExecution& execution);
  Result<bool> MarkLaunched(const std::string& callback_id, const std::string& execution_name,
                            const std::string& status);
  Result<bool> FinishWithoutCallback(const std::string& callback_id, const std::string& status,
                                     const std::string& error, const std::string& finished_at);
  Result<CallbackOutcome> ApplyCallback(const CallbackApply& apply);
  Status MarkEventSynced(const std::string& callback_id);
  Result<ValidatorRun> GetRun(const std::optional<std::string>& tenant_id,
                              const std::string& run_id);
  Result<std::vector<ValidatorRun>> ListDue(std::int64_t now_us, const std::optional<DueKey>& after,
                                            int limit);
  Result<RunPage> ListRuns(const RunListQuery& query);

 private:
  ValidatorRunWriter() = default;
  Status InsertExecution(const ValidatorExecution& e);
  // The run with the execution `callback_id` as `current` (nullopt: none).
  Result<std::optional<ValidatorRun>> RunByCallback(const std::string& callback_id);
  // After an UPDATE that changed the status of execution `callback_id`: the
  // run's copy of it (validator_runs.current_status, the list's index key).
  Status SyncRunStatus(const std::string& callback_id, const std::string& status);

  Statement insert_run_;
  Statement insert_execution_;
  Statement set_current_;
  Statement current_of_run_;
  Statement mark_launched_;
  Statement finish_;
  Statement apply_;
  Statement synced_;
  Statement get_run_;
  Statement by_callback_;
  Statement list_due_;
  Statement sync_status_;
  std::array<Statement, kRunListShapes> list_runs_;  // by RunListShape()
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_VALIDATOR_RUN_WRITER_HPP_
