#include "validators/poll_decision.hpp"

namespace rtgw::validators {

namespace {

PollVerdict Finish(std::string status, std::string error, bool cancel_first = false) {
  PollVerdict v;
  v.action = PollVerdict::Action::kFinish;
  v.cancel_first = cancel_first;
  v.status = std::move(status);
  v.error = std::move(error);
  return v;
}

}  // namespace

PollVerdict DecidePoll(const storage::ValidatorExecution& e, Launcher* launcher,
                       std::int64_t now_us) {
  const bool overdue = now_us >= e.deadline_us;
  if (e.execution_name.empty() || launcher == nullptr) {
    // Before the deadline an empty name means the launch is still under way
    // on a worker thread (it stores the name once the launcher answered).
    if (!overdue) return {};
    return Finish(storage::kRunFailed, "no callback by the deadline; the launch did not complete");
  }
  Result<ExecutionStatus> polled = launcher->Poll(e.execution_name);
  if (!polled) {
    PollVerdict wait;
    wait.poll_error = polled.error().message;
    const std::int64_t grace_us =
        std::chrono::duration_cast<std::chrono::microseconds>(kUnreachableLauncherGrace).count();
    if (!overdue || now_us - e.deadline_us < grace_us) return wait;
    PollVerdict give_up =
        Finish(storage::kRunFailed, "no callback by the deadline; launcher unreachable");
    give_up.poll_error = std::move(wait.poll_error);
    return give_up;
  }
  const bool ended = storage::IsTerminalRunStatus(polled->status);
  if (!overdue && (!ended || !polled->observed)) return {};
  if (!ended) {
    return Finish(storage::kRunFailed,
                  "no callback by the deadline; execution cancelled (timed out)", true);
  }
  const std::string status =
      polled->status == storage::kRunCancelled ? storage::kRunCancelled : storage::kRunFailed;
  return Finish(status,
                std::string(overdue ? "no callback by the deadline" : "ended without a callback") +
                    "; execution " + polled->status + " (" + polled->detail + ")");
}

}  // namespace rtgw::validators
