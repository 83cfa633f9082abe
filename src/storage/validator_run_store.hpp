#ifndef RTGW_STORAGE_VALIDATOR_RUN_STORE_HPP_
#define RTGW_STORAGE_VALIDATOR_RUN_STORE_HPP_

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "storage/job_store.hpp"

namespace rtgw::storage {

// Execution status of one validator job (the seed's CloudRunJobStatus).
// PENDING and RUNNING are open; the other three are terminal.
inline constexpr const char* kRunPending = "PENDING";
inline constexpr const char* kRunRunning = "RUNNING";
inline constexpr const char* kRunSucceeded = "SUCCEEDED";
inline constexpr const char* kRunFailed = "FAILED";
inline constexpr const char* kRunCancelled = "CANCELLED";
// Every status, in this order (the run list's status filter and its branches).
inline constexpr std::array<const char*, 5> kRunStatuses = {kRunPending, kRunRunning, kRunSucceeded,
                                                            kRunFailed, kRunCancelled};
inline bool IsTerminalRunStatus(std::string_view status) {
  return status == kRunSucceeded || status == kRunFailed || status == kRunCancelled;
}

// One execution of a validation run. Each execution (the first launch and
// every rerun) has its own callback_id and its own runtime job (job_id).
struct ValidatorExecution {
  std::string callback_id;
  std::string run_id;
  std::int64_t attempt = 1;
  std::string job_id;
  std::string submission_id;
  std::string execution_name;  // launcher's name: "local/<pid>", Cloud Run execution, ...
  std::string status = kRunPending;
  std::string input_uri;                     // the envelope (input.json) of this execution
  std::string result_uri;                    // set by the callback
  std::optional<std::string> findings_json;  // JSON array, set by the callback
  std::optional<std::string> error;          // why it failed (poller, launcher)
  std::optional<std::string> receipt_json;   // set once the callback was applied
  std::string finished_at;                   // RFC 3339, when it became terminal
  std::string trace_id;                      // of the request that started it
  std::int64_t deadline_us = 0;              // callback deadline (Unix microseconds)
  bool event_synced = false;                 // the terminal runtime-job event is stored
  std::string created_at;
};

// A validation run: who asked for which validator, and its current execution.
struct ValidatorRun {
  std::string run_id;
  std::string tenant_id;
  std::string workspace_id;
  std::string validator;
  std::string version;
  std::string launcher;  // "local" | "cloud-run"
  std::string requested_by;
  std::string created_at;
  ValidatorExecution current;  // the latest execution
};

// What applying a callback did.
enum class CallbackDisposition {
  kApplied,     // first delivery: stored, receipt written
  kReplay,      // this callback_id already has a receipt: nothing applied
  kUnknown,     // no execution has this callback_id (or run_id does not match)
  kSuperseded,  // the execution is not the run's current one (a rerun replaced it)
  kFinished,    // the execution already ended without a callback (fallback poll)
};

struct CallbackApply {
  std::string run_id;
  std::string callback_id;
  std::string status;  // terminal status
  std::string result_uri;
  std::optional<std::string> findings_json;
  std::optional<std::string> error;
  std::string receipt_json;  // stored as is on first delivery
  std::string finished_at;
};

struct CallbackOutcome {
  CallbackDisposition disposition = CallbackDisposition::kUnknown;
  std::string receipt_json;         // kApplied: the new one; kReplay: the stored one
  std::optional<ValidatorRun> run;  // known for every disposition but kUnknown
};

// The callback rule both backends apply once `out.run` holds the execution the
// callback names (read under the run's locks) and `current_callback_id` its
// run's current one: kReplay (with the stored receipt) when it has a receipt,
// kSuperseded when it is not the current execution, kFinished when it already
// ended. Returns true when none holds: the caller stores the callback, then
// calls RecordAppliedCallback.
inline bool DecideCallback(CallbackOutcome& out, std::string_view current_callback_id) {
  const ValidatorExecution& e = out.run->current;
  if (e.receipt_json) {
    out.disposition = CallbackDisposition::kReplay;
    out.receipt_json = *e.receipt_json;
  } else if (e.callback_id != current_callback_id) {
    out.disposition = CallbackDisposition::kSuperseded;
  } else if (IsTerminalRunStatus(e.status)) {
    out.disposition = CallbackDisposition::kFinished;
  } else {
    return true;
  }
  return false;
}

// After the callback was stored: kApplied with the new receipt, and the run's
// current execution as the store now holds it.
inline void RecordAppliedCallback(CallbackOutcome& out, const CallbackApply& apply) {
  out.disposition = CallbackDisposition::kApplied;
  out.receipt_json = apply.receipt_json;
  ValidatorExecution& e = out.run->current;
  e.status = apply.status;
  e.result_uri = apply.result_uri;
  e.findings_json = apply.findings_json;
  e.error = apply.error;
  e.receipt_json = apply.receipt_json;
  e.finished_at = apply.finished_at;
}

// Where an execution stands in ListDue's order: its deadline, then its
// callback_id (unique), so a walk can continue after the last one it saw.
// The default key (the lowest deadline, "") is before every execution.
struct DueKey {
  std::int64_t deadline_us = std::numeric_limits<std::int64_t>::min();
  std::string callback_id;  // compared byte by byte (SQLite BINARY, PostgreSQL "C")
  friend auto operator<=>(const DueKey&, const DueKey&) = default;
};

// One page of a tenant's runs (ValidatorRunStore::ListRuns), newest first:
// created_at descending, then run_id descending (a total order; created_at is
// fixed-width RFC 3339, so its text order is its time order).
struct RunListQuery {
  std::string tenant_id;
  // The current execution's status is one of these (kRun*); empty: any.
  std::vector<std::string> statuses;
  std::optional<std::string> validator;  // only runs of this validator name
  struct Key {
    std::string created_at;
    std::string run_id;
  };
  std::optional<Key> after;  // the page starts after this run (the last one of the previous page)
  int limit = 50;            // 1..500 (the API checks it)
};

struct RunPage {
  std::vector<ValidatorRun> runs;  // each with its current execution, as GetRun returns it
  bool more = false;               // at least one more run matches after the last one
};

// Durable state of validator runs (docs/contracts/validator-callback.md).
// Same completion rules as JobStore: every method returns at once and
// completes through its callback on a store thread; writes are acknowledged
// only once durable.
//
// Thread-safety: safe for concurrent use.
class ValidatorRunStore {
 public:
  virtual ~ValidatorRunStore() = default;

  // Inserts a new run with its first execution (run.current).
  // Conflict(.., "run_conflict") when run_id exists.
  virtual void CreateRun(ValidatorRun run, Callback<Ok> done) = 0;
  // Adds a new execution to an existing run and makes it the current one.
  // NotFound when the run does not exist. Conflict(.., "run_not_finished")
  // unless the current execution is terminal.
  virtual void AddExecution(ValidatorExecution execution, Callback<Ok> done) = 0;
  // Sets execution_name/status of an open execution (launch result).
  // Returns false when the execution is already terminal (left unchanged).
  virtual void MarkLaunched(std::string callback_id, std::string execution_name, std::string status,
                            Callback<bool> done) = 0;
  // Ends an open execution without a callback (launch failure, fallback
  // poll). Returns false when it is already terminal (left unchanged).
  virtual void FinishWithoutCallback(std::string callback_id, std::string status, std::string error,
                                     std::string finished_at, Callback<bool> done) = 0;
  // Applies a callback atomically (see CallbackDisposition).
  virtual void ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) = 0;
  // Records that the terminal runtime-job event of an execution is stored.
  virtual void MarkEventSynced(std::string callback_id, Callback<Ok> done) = 0;
  // A run of `tenant_id` (nullopt: any tenant). NotFound otherwise.
  virtual void GetRun(std::optional<std::string> tenant_id, std::string run_id,
                      Callback<ValidatorRun> done) = 0;
  // Runs whose current execution is open with a deadline <= now_us, or
  // terminal with event_synced = false, in DueKey order (deadline_us, then
  // callback_id), the first `limit` after `after` (nullopt: from the start).
  // A keyset walk: pass the last answer's key to go on where it stopped.
  virtual void ListDue(std::int64_t now_us, std::optional<DueKey> after, int limit,
                       Callback<std::vector<ValidatorRun>> done) = 0;
  // One page of `query.tenant_id`'s runs (never another tenant's), in
  // RunListQuery's order, filtered by the current execution's status and the
  // validator. Each page is at most one index range per status (schema
  // migration 7: the run row carries its current execution's status), so it
  // costs O(limit), not O(runs of the tenant).
  virtual void ListRuns(RunListQuery query, Callback<RunPage> done) = 0;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_VALIDATOR_RUN_STORE_HPP_
