#include "jobs/job_state.hpp"

#include <string>

namespace rtgw::jobs {

std::string_view ToString(JobState s) {
  switch (s) {
    case JobState::kSubmitted:
      return "submitted";
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "submitted";
}

std::optional<JobState> ParseJobState(std::string_view s, bool allow_submitted) {
  if (s == "queued") return JobState::kQueued;
  if (s == "running") return JobState::kRunning;
  if (s == "completed") return JobState::kCompleted;
  if (s == "failed") return JobState::kFailed;
  if (s == "cancelled") return JobState::kCancelled;
  if (allow_submitted && s == "submitted") return JobState::kSubmitted;
  return std::nullopt;
}

Result<JobState> ParseStoredJobState(std::string_view s, bool allow_submitted) {
  std::optional<JobState> state = ParseJobState(s, allow_submitted);
  if (!state) return Internal("stored job state is not a known state: '" + std::string(s) + "'");
  return *state;
}

bool IsTerminal(JobState s) {
  return s == JobState::kCompleted || s == JobState::kFailed || s == JobState::kCancelled;
}

int Rank(JobState s) {
  switch (s) {
    case JobState::kSubmitted:
      return 0;
    case JobState::kQueued:
      return 1;
    case JobState::kRunning:
      return 2;
    case JobState::kCompleted:
    case JobState::kFailed:
    case JobState::kCancelled:
      return 3;
  }
  return 0;
}

bool ShouldApply(JobState current, JobState reported) {
  if (IsTerminal(current)) return false;
  return Rank(reported) > Rank(current);
}

std::string_view ProjectionStatus(JobState s) {
  switch (s) {
    case JobState::kSubmitted:
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kCompleted:
      return "finished";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

}  // namespace rtgw::jobs
