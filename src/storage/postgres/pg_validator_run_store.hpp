#ifndef RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_STORE_HPP_
#define RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_STORE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/validator_run_store.hpp"

namespace rtgw::storage::postgres {

class PgDatabase;

// ValidatorRunStore of a PgDatabase: writes join the group-commit batches,
// reads are tasks (a read follows every write acknowledged before it: acks
// come after COMMIT). The SQL is in pg_validator_run_ops.cpp.
// Thread-safety: safe for concurrent use.
class PgValidatorRunStore final : public ValidatorRunStore {
 public:
  explicit PgValidatorRunStore(PgDatabase& db) : db_(db) {}

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
  PgDatabase& db_;
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_VALIDATOR_RUN_STORE_HPP_
