#ifndef RTGW_AGENT_PROC_PROCESS_HPP_
#define RTGW_AGENT_PROC_PROCESS_HPP_

// Runs a program with fork/exec (never through a shell), feeds it stdin,
// collects stdout/stderr and enforces a wall-clock timeout. Arguments are
// passed as a vector, so user data can never be interpolated into a command
// line. Thread-safe: every call is independent (uses only async-signal-safe
// calls between fork and exec).
//
// The child runs in its own process group and gets PR_SET_PDEATHSIG(SIGKILL):
// if the agent dies (kill -9), a half-finished `sbatch` dies with it instead of
// submitting after the restarted agent already looked the job up in Slurm.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rtgw::agent {

struct ProcessResult {
  int exit_code = -1;      // exit status when the child exited normally, else -1
  int term_signal = 0;     // signal that ended the child, 0 if it exited
  bool timed_out = false;  // we killed it (SIGKILL to its process group) at the deadline
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::chrono::milliseconds timeout{30'000};
  std::string stdin_data;
  std::size_t max_output_bytes = 64u << 20;  // per stream; more is discarded (and truncated)
  std::vector<std::string> extra_env;        // "KEY=value" added to the inherited environment
};

// argv[0] is the program: a path, or a name looked up in PATH (execvp).
// Error (kUnavailable) only when the child could not be started at all (fork
// or exec failure; exec failure is reported through a close-on-exec pipe).
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options);

}  // namespace rtgw::agent

#endif  // RTGW_AGENT_PROC_PROCESS_HPP_
