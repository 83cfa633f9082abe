#ifndef RTGW_STORAGE_SQLITE_SQLITE_VALIDATOR_RUN_STORE_HPP_
#define RTGW_STORAGE_SQLITE_SQLITE_VALIDATOR_RUN_STORE_HPP_

#include "storage/validator_run_store.hpp"

namespace rtgw::storage::sqlite {

class SqliteDatabase;

// ValidatorRunStore of a SqliteDatabase: every call (reads too) is a write
// task on the database's single writer thread, so it joins the same group
// commit and sees every job write queued before it.
//
// Thread-safety: safe for concurrent use.
class SqliteValidatorRunStore final : public ValidatorRunStore {
 public:
  explicit SqliteValidatorRunStore(SqliteDatabase& db) : db_(db) {}

  void CreateRun(ValidatorRun run, Callback<Ok> done) override;
  void AddExecution(ValidatorExecution execution, Callback<Ok> done) override;
  void MarkLaunched(std::string callback_id, std::string execution_name, std::string status,
                    Callback<bool> done) override;
  void FinishWithoutCallback(std::string callback_id, std::string status, std::string error,
                             std::string finished_at, Callback<bool> done) override;
  void ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) override;
  void MarkEventSynced(std::string callback_id, Callback<Ok> done) override;
  void GetRun(std::optional<std::string> tenant_id, std::string run_id,
              Callback<ValidatorRun> done) override;
  void ListDue(std::int64_t now_us, int limit, Callback<std::vector<ValidatorRun>> done) override;

 private:
  SqliteDatabase& db_;
};

}  // namespace rtgw::storage::sqlite

#endif  // RTGW_STORAGE_SQLITE_SQLITE_VALIDATOR_RUN_STORE_HPP_
