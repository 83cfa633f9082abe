#ifndef RTGW_VALIDATORS_VALIDATION_SERVICE_HPP_
#define RTGW_VALIDATORS_VALIDATION_SERVICE_HPP_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "storage/job_store.hpp"
#include "storage/validator_run_store.hpp"
#include "validators/callback_token.hpp"
#include "validators/launcher.hpp"
#include "validators/object_storage.hpp"
#include "validators/registry.hpp"

namespace rtgw::validators {

struct InputFile {
  std::string name;   // [A-Za-z0-9._-], 1-128, not starting with '.'
  std::string bytes;  // decoded content
};

struct LaunchRequest {
  std::string tenant_id;
  std::string subject;  // token sub: requested_by.user_id
  std::string workspace_id;
  std::string validator;
  std::optional<std::string> version;
  std::string document_json;  // the input document (any JSON value), serialized
  std::vector<InputFile> files;
  // Optional: a retry with the same key (same tenant) gets the same run back
  // and starts nothing; another request under the key is 409.
  std::optional<std::string> idempotency_key;
  std::string trace_id;
};

struct CallbackRequest {
  std::string run_id;
  std::string callback_id;
  std::string status;  // SUCCEEDED | FAILED | CANCELLED
  std::string result_uri;
  std::optional<std::string> findings_json;  // JSON array text
  std::optional<std::string> error_message;
  std::string bearer_token;
  std::string trace_id;
};

struct ValidationServiceOptions {
  std::vector<ValidatorSpec> validators;
  std::string callback_url;  // exact URL jobs call back to (the token audience)
  // The poller asks the launcher of every open execution for its status this often, so an
  // execution that ended without calling back is finished within about two intervals.
  std::chrono::milliseconds poll_interval{1'000};
  // Executions one poll pass looks at (open ones by deadline, each pass going on where the last
  // one stopped, and terminal ones whose job event is not stored yet); each open one costs one
  // launcher Poll.
  int poll_max_executions = 64;
  int threads = 2;
  // Launches, reruns and callbacks waiting for a worker thread. Beyond it the call is answered
  // at once with 503 "overloaded" (Retry-After 1) and nothing is started.
  std::size_t max_queued = 1'024;
};

// Validation runs (docs/contracts/validator-callback.md): launch, rerun,
// read, callbacks, and the poller. Every blocking step (storage,
// process spawn, Google APIs, store waits) runs on the service's own threads;
// the public methods only enqueue and return, and `done` is called once from
// a service thread. Results are domain values (the run, the callback's receipt)
// or an Error whose api_code is in api/error_codes.hpp; api/validator_handlers
// renders them.
//
// A run's execution is also a runtime job (JobStore::Submit, then
// AppendEvent running / completed | failed | cancelled with event ids
// "<run_id>:<callback_id>:<state>"), so it shows in the job routes and the
// projection like any other job.
//
// Thread-safety: safe for concurrent use. Everything passed in must outlive
// the service; Stop() (or the destructor) joins its threads.
class ValidationService {
 public:
  ValidationService(ValidationServiceOptions options, storage::JobStore& jobs,
                    storage::ValidatorRunStore& runs, ObjectStorage& storage,
                    std::map<std::string, Launcher*> launchers,
                    const CallbackTokenVerifier& verifier);
  ~ValidationService();

  using RunDone = std::function<void(Result<storage::ValidatorRun>)>;
  // The new run (or, for a keyed retry, the stored one).
  void Launch(LaunchRequest request, RunDone done);
  // The run with its new execution; Conflict "run_not_finished" while one is open.
  void Rerun(std::string tenant_id, std::string run_id, std::string trace_id, RunDone done);
  void Get(std::string tenant_id, std::string run_id, RunDone done);
  // One page of the tenant's runs (ValidatorRunStore::ListRuns; `query.tenant_id` set by the
  // caller).
  void List(storage::RunListQuery query, std::function<void(Result<storage::RunPage>)> done);
  // The receipt JSON (stored with the callback; a replay's has "replay": true).
  void Callback(CallbackRequest request, std::function<void(Result<std::string>)> done);

  // Starts the poller (worker role): every poll_interval each open execution
  // is polled through its launcher (DecidePoll, validators/poll_decision.hpp):
  // one that ended without a callback is finished at once, one still running
  // at its deadline is cancelled and finished; terminal ones whose job event
  // is not stored yet get it.
  void StartPoller();
  // One poller pass (exposed for tests; one thread at a time): at most
  // poll_max_executions executions, going on after the last one the previous
  // pass polled (ListDue's keyset order) and wrapping around at the end, so
  // with more open executions than that each is polled every
  // ceil(open / poll_max_executions) passes.
  void PollOnce();
  void Stop();

 private:
  // Queues `task` for a worker thread; when max_queued tasks wait already, calls `refuse`
  // at once with Unavailable "overloaded" instead.
  void Post(std::function<void()> task, const std::function<void(Error)>& refuse);
  void WorkerLoop();
  void PollerLoop();
  Result<storage::ValidatorRun> DoLaunch(const LaunchRequest& request);
  Result<storage::ValidatorRun> DoRerun(const std::string& tenant_id, const std::string& run_id,
                                        const std::string& trace_id);
  Result<std::string> DoCallback(const CallbackRequest& request);
  // Writes the envelope, submits the runtime job, stores the execution and
  // starts it. `run` has everything but the execution's ids filled in.
  Result<storage::ValidatorRun> StartExecution(storage::ValidatorRun run, bool first,
                                               const std::string& document_json,
                                               const std::string& files_json,
                                               const std::string& launch_fingerprint,
                                               const std::string& trace_id);
  // The answer to a keyed launch whose run exists: the run, or Conflict
  // "idempotency_conflict" when the stored envelope's fingerprint differs.
  Result<storage::ValidatorRun> ReplayLaunch(const storage::ValidatorRun& run,
                                             const std::string& fingerprint,
                                             const std::string& trace_id);
  void SyncTerminalEvent(const storage::ValidatorRun& run);
  void PollRun(const storage::ValidatorRun& run, std::int64_t now_us);
  Launcher* LauncherFor(const std::string& name) const;

  ValidationServiceOptions options_;
  storage::JobStore& jobs_;
  storage::ValidatorRunStore& runs_;
  ObjectStorage& storage_;
  std::map<std::string, Launcher*> launchers_;
  const CallbackTokenVerifier& verifier_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread poller_;
  std::optional<storage::DueKey> poll_after_;  // where the next pass goes on; PollOnce only
};

// Run JSON as the API shows it (docs/contracts/validator-callback.md).
std::string RunJson(const storage::ValidatorRun& run);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_VALIDATION_SERVICE_HPP_
