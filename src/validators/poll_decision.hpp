#ifndef RTGW_VALIDATORS_POLL_DECISION_HPP_
#define RTGW_VALIDATORS_POLL_DECISION_HPP_

#include <chrono>
#include <cstdint>
#include <string>

#include "storage/validator_run_store.hpp"
#include "validators/launcher.hpp"

namespace rtgw::validators {

// How long after its callback deadline an execution whose launcher cannot
// answer (Poll errors) is still retried before it is FAILED "launcher unreachable".
inline constexpr std::chrono::minutes kUnreachableLauncherGrace{10};

// What the poller does with one open (PENDING/RUNNING) execution this pass.
struct PollVerdict {
  enum class Action {
    kWait,    // leave it open; poll again next pass
    kFinish,  // end it without a callback with `status` and `error`
  };
  Action action = Action::kWait;
  bool cancel_first = false;  // kFinish: stop the execution first (overdue and still running)
  std::string status;         // kFinish: FAILED | CANCELLED
  std::string error;          // kFinish: the run's error text (API and job event)
  std::string poll_error;     // the launcher could not answer (for the log), else empty
};

// The poll rule (docs/contracts/validator-callback.md "Polling"): asks
// `launcher` (nullptr: the run's launcher is not configured) for the status of
// `execution` unless it has no execution name yet, and decides at `now_us`:
//  - before the deadline: an execution the launcher saw end (FAILED, CANCELLED,
//    gone, or SUCCEEDED without a callback) is finished at once, "ended without
//    a callback; execution FAILED (exit code 3)"; anything else waits (still
//    pending or running, launch not finished, launcher unreachable, or an
//    execution this launcher cannot see);
//  - from the deadline on: an ended one as above but "no callback by the
//    deadline; ...", a still running one is cancelled and FAILED (timed out), a
//    launch that never completed is FAILED, an unreachable launcher is retried
//    for kUnreachableLauncherGrace and then FAILED.
// SUCCEEDED without a callback is FAILED: the result is the callback.
// Blocks in launcher->Poll; no other effect (the caller cancels and stores).
PollVerdict DecidePoll(const storage::ValidatorExecution& execution, Launcher* launcher,
                       std::int64_t now_us);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_POLL_DECISION_HPP_
