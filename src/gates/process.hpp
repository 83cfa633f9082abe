#ifndef RTGW_GATES_PROCESS_HPP_
#define RTGW_GATES_PROCESS_HPP_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::gates {

// Runs one command as a child process (posix_spawn, never a shell of ours
// unless argv says so) with a wall-clock limit. The child gets /dev/null as
// stdin, its stdout and stderr go to the given files, it runs in its own
// process group, and that whole group is killed when the limit is reached
// (SIGTERM, then SIGKILL after `kill_grace`) and also once the child exits
// (so a step cannot leave background processes behind).
// Blocking: the calling thread waits for the child. Thread-compatible.

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is looked up on PATH
  std::string cwd;                         // empty: inherit
  std::map<std::string, std::string> env;  // added to (and overriding) the environment
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds kill_grace{2000};
  std::string stdout_path;
  std::string stderr_path;
};

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal or not started
  int term_signal = 0;  // signal that ended it, 0 if none
  bool timed_out = false;
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point finished_at;
  double wall_seconds = 0;
  // "exit 0", "exit 3", "signal 9", "timeout after 5s (killed)".
  std::string Describe() const;
};

// kUnavailable when the process could not be started (spawn failure, an
// output file that cannot be opened); else the result however it ended.
Result<ProcessResult> RunProcess(const ProcessSpec& spec);

// The first directory on PATH holding an executable `name` ("" if none);
// `name` with a '/' is checked as a path.
std::string FindOnPath(const std::string& name);

}  // namespace rtgw::gates

#endif  // RTGW_GATES_PROCESS_HPP_
