#ifndef RTGW_VALIDATORS_SLURM_LAUNCHER_HPP_
#define RTGW_VALIDATORS_SLURM_LAUNCHER_HPP_

#include <string>

#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "validators/launcher.hpp"

namespace rtgw::validators {

// `slurm`: the execution IS a runtime job of a management node
// (docs/contracts/validator-callback.md, docs/agent.md "Validator jobs").
// The validation service submits it to the validator's configured node and
// queue with payload_ref {input_uri: the envelope, validator: {name, version,
// run_id, callback_id, callback_url}} only after the execution is stored; the
// node's `rtgw agent` leases it, runs the validator program it has configured
// for name@version under Slurm with the small env, mints the job's callback ID
// token with its own key (CALLBACK_ID_TOKEN_FILE) and reports the job's
// lifecycle events itself, so the service posts none for these jobs.
//  - Launch: nothing to start (the agent leases the job); the execution name
//    is "slurm/<url-encoded tenant>/<job_id>".
//  - Poll: the runtime job's state: submitted/queued -> PENDING, running ->
//    RUNNING, completed -> SUCCEEDED, failed -> FAILED (its error message),
//    cancelled -> CANCELLED; an unknown job -> FAILED "execution lost". That
//    state is Slurm's as the node's agent reads it (`scontrol show job -o`,
//    agent/slurm) and reports it; the gateway runs no Slurm command itself.
//  - Cancel: a cancel request for the job (NodeStore::RequestCancel); the
//    agent runs scancel.
// Every call BLOCKS on the store (validation service threads only).
// Thread-safety: safe for concurrent use; `jobs` and `nodes` outlive it.
class SlurmLauncher final : public Launcher {
 public:
  SlurmLauncher(storage::JobStore& jobs, storage::NodeStore& nodes) : jobs_(jobs), nodes_(nodes) {}
  std::string_view name() const override { return "slurm"; }
  bool runs_on_agent() const override { return true; }
  Result<std::string> Launch(const LaunchSpec& spec) override;
  Result<ExecutionStatus> Poll(const std::string& execution_name) override;
  Status Cancel(const std::string& execution_name) override;

 private:
  storage::JobStore& jobs_;
  storage::NodeStore& nodes_;
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_SLURM_LAUNCHER_HPP_
