#ifndef RTGW_JOBS_JOB_STATE_HPP_
#define RTGW_JOBS_JOB_STATE_HPP_

#include <optional>
#include <string_view>

#include "common/error.hpp"

namespace rtgw::jobs {

// Lifecycle of a runtime job. Moves only forward:
//   submitted -> queued -> running -> completed | failed | cancelled
// A terminal state is final. Pure; no I/O.
enum class JobState { kSubmitted, kQueued, kRunning, kCompleted, kFailed, kCancelled };

std::string_view ToString(JobState s);
// Parses the wire names. "submitted" is accepted only when `allow_submitted`
// (it is a gateway state; execution events never carry it).
std::optional<JobState> ParseJobState(std::string_view s, bool allow_submitted = false);
// ParseJobState for a state read back from a store: a name it does not know
// means a corrupt or foreign row, Internal("stored job state is not a known state").
Result<JobState> ParseStoredJobState(std::string_view s, bool allow_submitted);

bool IsTerminal(JobState s);

// Forward rank: submitted 0, queued 1, running 2, terminal 3.
int Rank(JobState s);

// True when an event reporting `reported` moves a job that is in `current`.
// An event at the same or a lower rank, or any event after a terminal state,
// is kept in history but not applied.
bool ShouldApply(JobState current, JobState reported);

// App-facing status of the projection: submitted/queued -> "queued",
// running -> "running", completed -> "finished", failed -> "failed",
// cancelled -> "cancelled".
std::string_view ProjectionStatus(JobState s);

}  // namespace rtgw::jobs

#endif  // RTGW_JOBS_JOB_STATE_HPP_
