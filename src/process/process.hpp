#ifndef RTGW_PROCESS_PROCESS_HPP_
#define RTGW_PROCESS_PROCESS_HPP_

// The one way rtgw starts a child process (the agent's Slurm commands and
// local jobs, gate steps, local validators). Programs are started with an
// argument vector, never through a shell of ours, so data can never become
// command text.
//
// Every child gets, whatever the caller's state:
//   - an empty signal mask and every signal at its default action (a server
//     that ignores SIGPIPE or blocks SIGTERM for its sigwait thread does not
//     hand that on to a shell pipeline or a job);
//   - no descriptor of ours beyond stdin/stdout/stderr (all others are made
//     close-on-exec in the child, whether or not we opened them so);
//   - by default its own process group, whose id is its pid, so Signal()
//     reaches whatever it started.
// Between fork and exec the child makes only async-signal-safe calls: every
// string and array it needs is built before. vfork (fork for the detached
// double fork) rather than posix_spawn because parent-death signals, the
// double fork and reporting which step failed need code in the child.
//
// Errors: Result<...> with kInvalidArgument for a bad Spec and kUnavailable
// when the program could not be started (not found, exec failed, an output
// file or the working directory could not be opened), with the reason.
// Thread-safety: every function may be called from any thread at once; a
// Child is used by one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rtgw::process {

// Where one of the child's standard streams goes.
struct Stream {
  enum class Kind {
    kInherit,  // ours
    kNull,     // /dev/null
    kFile,     // `path`: stdin reads it, stdout/stderr truncate or create it (0644)
    kPipe,     // a pipe to us (Child::stdin_fd() etc.); Run feeds and captures it
  };
  Kind kind = Kind::kInherit;
  std::string path;

  static Stream Inherit() { return {}; }
  static Stream Null() { return {Kind::kNull, {}}; }
  static Stream File(std::string path) { return {Kind::kFile, std::move(path)}; }
  static Stream Pipe() { return {Kind::kPipe, {}}; }
};

struct Spec {
  // argv[0] is the program: a path, or a name looked up on this process's
  // PATH (FindOnPath).
  std::vector<std::string> argv;
  // "KEY=value" entries. kExtend: our environment with these added (a key
  // given here replaces ours); kReplace: only these.
  enum class Env { kExtend, kReplace };
  Env env_mode = Env::kExtend;
  std::vector<std::string> env;
  std::string cwd;  // empty: ours
  // Defaults fit Run: no input, output captured. A pipe nobody reads stalls
  // the child once it is full, so Spawn callers usually pick other streams.
  Stream stdin_stream = Stream::Null();
  Stream stdout_stream = Stream::Pipe();
  Stream stderr_stream = Stream::Pipe();
  // The child leads a new process group (its pgid is its pid).
  bool new_process_group = true;
  // PR_SET_PDEATHSIG(SIGKILL): the child is killed when the thread that
  // spawned it exits (the kernel ties it to the thread, not the process), and
  // is not started if we are already gone. For children that must not outlive
  // a crashed parent, such as an `sbatch` the restarted agent will look up.
  bool die_with_parent = false;
};

// How a child ended.
struct ExitStatus {
  int exit_code = -1;   // its exit status when it exited, else -1
  int term_signal = 0;  // the signal that ended it, else 0

  static ExitStatus FromWaitStatus(int wait_status);
  bool exited() const { return term_signal == 0 && exit_code >= 0; }
};

struct RunOptions {
  // Wall-clock limit from the start; then the child is stopped (Stop with
  // `kill_grace`) and the result says timed_out.
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds kill_grace{0};
  // Once the child ends, SIGKILL what is left in its process group, so a step
  // cannot leave background processes behind.
  bool kill_group_on_exit = false;
  // Written to a Stream::Pipe stdin, which is then closed (EOF). A child that
  // stops reading does not stall or kill us (EPIPE is handled, no SIGPIPE).
  std::string stdin_data;
  // Per captured stream; more is read and discarded.
  std::size_t max_output_bytes = 64u << 20;
};

struct RunResult {
  ExitStatus status;
  bool timed_out = false;
  std::string out;  // captured stdout (Stream::Pipe), at most max_output_bytes
  std::string err;  // captured stderr
  bool out_truncated = false;
  bool err_truncated = false;
  std::chrono::steady_clock::duration wall{};
};

// A started child process and our ends of its pipes (closed by the
// destructor). Destroying a Child neither signals nor waits for it: a child
// that is never waited for stays a zombie until this process exits. Movable,
// not copyable.
class Child {
 public:
  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // Our ends of Stream::Pipe streams, -1 otherwise. Close*() gives one up.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  void CloseStdin();
  void CloseStdout();
  void CloseStderr();

  // True once the child has ended, without reaping it: its pid (and process
  // group id) stay reserved, so Signal() can never reach another process.
  bool HasEnded();
  // Reaps the child if it has ended. Error (kUnavailable) when it is not (or
  // no longer) our child to wait for.
  Result<std::optional<ExitStatus>> TryWait();
  // Waits until the child ends (reaping it) or `deadline` passes (nullopt).
  std::optional<ExitStatus> WaitUntil(std::chrono::steady_clock::time_point deadline);
  ExitStatus Wait();
  // Sends `signal` to the child's process group when it leads one, else to
  // the child. Nothing once it has been reaped.
  void Signal(int signal);
  // SIGTERM, up to `grace` for the child to end, then SIGKILL (to the group
  // as Signal does, even if the child ended: it may leave processes behind),
  // and reaps it. A zero grace kills at once.
  ExitStatus Stop(std::chrono::milliseconds grace);

 private:
  friend Result<Child> Spawn(const Spec& spec);
  friend Result<RunResult> Run(const Spec& spec, const RunOptions& options);
  // Like HasEnded, but waits for it until `deadline`.
  bool WaitEndedUntil(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the child ended (pidfd_open), or -1
  bool group_leader_ = false;
  bool reaped_ = false;
  ExitStatus status_;  // once reaped
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
};

// Starts `spec` and returns once the program runs (exec succeeded) or with the
// reason it could not start.
Result<Child> Spawn(const Spec& spec);

// Starts `spec` detached: a double fork whose grandchild makes a new session
// (so it is its own process group leader), runs `spec` and is reparented to
// init, so it survives us and is never our zombie. Returns the grandchild's
// pid once its exec succeeded. Pipes and die_with_parent are refused
// (kInvalidArgument).
Result<pid_t> SpawnDetached(const Spec& spec);

// Spawns `spec`, feeds stdin, captures stdout/stderr, and returns once the
// child has ended and both pipes reached end of file, or at the timeout.
// Blocks the calling thread; the child is always reaped.
Result<RunResult> Run(const Spec& spec, const RunOptions& options = {});

// The first executable regular file `name` in a directory on PATH ("" if
// none; an empty PATH entry is the current directory, an unset PATH is
// /usr/local/bin:/usr/bin:/bin); a `name` with a '/' is returned if it is
// executable.
std::string FindOnPath(const std::string& name);

}  // namespace rtgw::process

#endif  // RTGW_PROCESS_PROCESS_HPP_
