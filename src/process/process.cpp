#include "process/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

extern char** environ;

namespace rtgw::process {
namespace {

using Clock = std::chrono::steady_clock;

#ifndef CLOSE_RANGE_CLOEXEC
constexpr unsigned kCloseRangeCloexec = 1U << 2;  // linux/close_range.h, Linux 5.11
#else
constexpr unsigned kCloseRangeCloexec = CLOSE_RANGE_CLOEXEC;
#endif
// Without close_range, descriptors up to this bound are marked close-on-exec one by one.
constexpr int kMaxFdScanned = 65536;
// Waiting without a descriptor to poll: sleep 1 ms, doubling up to this.
constexpr std::chrono::milliseconds kMaxPause{20};

// What the child tells the parent through the close-on-exec status pipe. A successful
// exec says nothing (the pipe just closes); a detached grandchild first sends its pid.
enum class Stage : int { kPid, kStdin, kStdout, kStderr, kCwd, kExec, kFork };
struct Report {
  Stage stage;
  int value;  // the pid, or errno
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Keeps our descriptors off 0..2 (they may be free when a daemon closed its stdio), so the
// child's dup2 onto its standard streams can never overwrite one it still needs.
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool Open() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    read = AboveStdio(p[0]);
    write = AboveStdio(p[1]);
    return read >= 0 && write >= 0;
  }
  ~Pipe() {
    CloseFd(read);
    CloseFd(write);
  }
};

// Everything the child uses, built before fork: after fork only async-signal-safe calls.
struct Prepared {
  std::string program;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int max_fd = kMaxFdScanned;
};

Result<Prepared> Prepare(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return InvalidArgument("empty command");
  Prepared p;
  p.program = spec.argv[0].find('/') == std::string::npos ? FindOnPath(spec.argv[0]) : spec.argv[0];
  if (p.program.empty()) {
    return Unavailable("cannot start '" + spec.argv[0] + "': not found on PATH");
  }
  if (spec.env_mode == Spec::Env::kExtend) {
    std::set<std::string, std::less<>> replaced;
    for (const std::string& kv : spec.env) replaced.insert(kv.substr(0, kv.find('=')));
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view kv = *e;
      if (replaced.count(kv.substr(0, kv.find('='))) == 0) p.env_strings.emplace_back(kv);
    }
  }
  p.env_strings.insert(p.env_strings.end(), spec.env.begin(), spec.env.end());
  for (const std::string& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (std::string& e : p.env_strings) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    p.max_fd = static_cast<int>(std::min<rlim_t>(files.rlim_cur, kMaxFdScanned));
  }
  return p;
}

// One standard stream of the child: its target fd, how it is set up, the pipe end it
// takes (kPipe) and the open flags (kNull/kFile).
struct ChildStream {
  int target;
  Stage stage;
  const Stream* stream;
  int pipe_end;
  int flags;
};

void Tell(int status_fd, Stage stage, int value) {
  const Report r{stage, value};
  const ssize_t ignored = ::write(status_fd, &r, sizeof r);
  (void)ignored;
}

// The child after fork: async-signal-safe calls only. Signals are all blocked (by the
// parent around fork) until the dispositions are reset, so no handler of ours runs here.
[[noreturn]] void ExecChild(const Prepared& p, const Spec& spec,
                            const std::array<ChildStream, 3>& streams, int status_fd) {
  for (const ChildStream& s : streams) {
    int fd = -1;
    switch (s.stream->kind) {
      case Stream::Kind::kInherit:
        continue;
      case Stream::Kind::kPipe:
        fd = s.pipe_end;
        break;
      case Stream::Kind::kNull:
        fd = ::open("/dev/null", s.flags | O_CLOEXEC, 0644);
        break;
      case Stream::Kind::kFile:
        fd = ::open(s.stream->path.c_str(), s.flags | O_CLOEXEC, 0644);
        break;
    }
    if (fd < 0) {
      Tell(status_fd, s.stage, errno);
      ::_exit(127);
    }
    // dup2 onto itself keeps close-on-exec, so clear it instead.
    const int rc = fd == s.target ? ::fcntl(fd, F_SETFD, 0) : ::dup2(fd, s.target);
    if (rc < 0) {
      Tell(status_fd, s.stage, errno);
      ::_exit(127);
    }
  }
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
    Tell(status_fd, Stage::kCwd, errno);
    ::_exit(127);
  }
#ifdef SYS_close_range
  const bool marked = ::syscall(SYS_close_range, 3U, ~0U, kCloseRangeCloexec) == 0;
#else
  const bool marked = false;
#endif
  if (!marked) {
    for (int fd = 3; fd < p.max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);  // EINVAL ignored
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.program.c_str(), p.argv.data(), p.envp.data());
  Tell(status_fd, Stage::kExec, errno);
  ::_exit(127);
}

std::string Describe(const Spec& spec, const Report& r) {
  std::string what;
  switch (r.stage) {
    case Stage::kStdin:
      what = "stdin " + spec.stdin_stream.path + ": ";
      break;
    case Stage::kStdout:
      what = "stdout " + spec.stdout_stream.path + ": ";
      break;
    case Stage::kStderr:
      what = "stderr " + spec.stderr_stream.path + ": ";
      break;
    case Stage::kCwd:
      what = "cwd " + spec.cwd + ": ";
      break;
    case Stage::kFork:
      what = "fork: ";
      break;
    case Stage::kPid:
    case Stage::kExec:
      break;
  }
  return "cannot start '" + spec.argv[0] + "': " + what + std::strerror(r.value);
}

// Reads the child's reports until the status pipe closes (exec succeeded or it died).
struct Reports {
  pid_t pid = -1;
  std::optional<Report> failure;
};
Reports ReadReports(int fd) {
  Reports out;
  while (true) {
    Report r{};
    const ssize_t n = ::read(fd, &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) return out;  // reports are written whole
    if (r.stage == Stage::kPid) {
      out.pid = r.value;
    } else {
      out.failure = r;
    }
  }
}

pid_t WaitPid(pid_t pid, int* status, int flags) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

// fork (or vfork) with every signal blocked in the calling thread (restored in the parent),
// so that no handler of ours can run in the child before ExecChild resets them.
//
// vfork: the child borrows our memory and this thread waits until it has exec'd or exited,
// so starting a child costs the same whatever our size (fork copies the page tables: about
// 100 ms per GiB of a server's heap, while its other threads stall on page faults). The
// child only makes system calls and reads what the parent prepared (CPython's subprocess
// does the same). fork where the child must itself fork (SpawnDetached).
enum class Fork { kShareMemory, kCopy };
template <class InChild>
[[gnu::noinline]] pid_t ForkBlocked(Fork how, const InChild& in_child) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = how == Fork::kShareMemory ? ::vfork() : ::fork();
  if (pid == 0) in_child();  // does not return
  const int saved = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return pid;
}

bool HasPipe(const Spec& spec) {
  return spec.stdin_stream.kind == Stream::Kind::kPipe ||
         spec.stdout_stream.kind == Stream::Kind::kPipe ||
         spec.stderr_stream.kind == Stream::Kind::kPipe;
}

// A descriptor that polls readable once `pid` (our unreaped child) ends; -1 where the kernel
// has no pidfd_open (before Linux 5.3), and callers then poll with a growing pause.
int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// How long to wait in poll() for an event other than the child's end: until `deadline`,
// or at most `pause` when only checking again can tell that it ended.
int PollMs(Clock::time_point deadline, bool have_pidfd, std::chrono::milliseconds pause) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (!have_pidfd) left = std::min(left, pause);
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
}

// Blocks SIGPIPE in this thread while Run writes a child's stdin (a child that stops
// reading makes write fail with EPIPE instead of killing us) and discards the SIGPIPE
// such a write raised.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
  ~SigpipeBlocked() {
    if (raised_) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void Raised() { raised_ = true; }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool raised_ = false;
};

// Appends what `fd` has to `sink` up to `cap` bytes; closes `fd` at end of file.
void Drain(int& fd, std::string& sink, bool& truncated, std::size_t cap) {
  char buf[16384];
  const ssize_t got = ::read(fd, buf, sizeof buf);
  if (got > 0) {
    const std::size_t room = sink.size() < cap ? cap - sink.size() : 0;
    const std::size_t kept = std::min(room, static_cast<std::size_t>(got));
    sink.append(buf, kept);
    truncated = truncated || kept < static_cast<std::size_t>(got);
  } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
    CloseFd(fd);
  }
}

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  ExitStatus s;
  if (WIFEXITED(wait_status)) s.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) s.term_signal = WTERMSIG(wait_status);
  return s;
}

Child::Child(Child&& other) noexcept { *this = std::move(other); }

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    CloseStdin();
    CloseStdout();
    CloseStderr();
    CloseFd(pidfd_);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    group_leader_ = other.group_leader_;
    reaped_ = std::exchange(other.reaped_, false);
    status_ = other.status_;
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    stderr_fd_ = std::exchange(other.stderr_fd_, -1);
  }
  return *this;
}

Child::~Child() {
  CloseFd(pidfd_);
  CloseStdin();
  CloseStdout();
  CloseStderr();
}

void Child::CloseStdin() { CloseFd(stdin_fd_); }
void Child::CloseStdout() { CloseFd(stdout_fd_); }
void Child::CloseStderr() { CloseFd(stderr_fd_); }

bool Child::HasEnded() {
  if (reaped_ || pid_ <= 0) return true;
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 || info.si_pid != 0;  // ECHILD: not ours to wait for any more
}

Result<std::optional<ExitStatus>> Child::TryWait() {
  if (reaped_) return std::optional<ExitStatus>(status_);
  int ws = 0;
  const pid_t r = WaitPid(pid_, &ws, WNOHANG);
  if (r == 0) return std::optional<ExitStatus>();
  if (r < 0) return Unavailable("waitpid " + std::to_string(pid_) + ": " + std::strerror(errno));
  reaped_ = true;
  CloseFd(pidfd_);
  status_ = ExitStatus::FromWaitStatus(ws);
  return std::optional<ExitStatus>(status_);
}

bool Child::WaitEndedUntil(Clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(1);
  while (!HasEnded()) {
    if (Clock::now() >= deadline) return false;
    pollfd end{pidfd_, POLLIN, 0};  // fd -1: a plain sleep
    ::poll(&end, 1, PollMs(deadline, pidfd_ >= 0, pause));
    pause = std::min(pause * 2, kMaxPause);
  }
  return true;
}

std::optional<ExitStatus> Child::WaitUntil(Clock::time_point deadline) {
  if (!WaitEndedUntil(deadline)) return std::nullopt;
  return Wait();
}

ExitStatus Child::Wait() {
  if (reaped_) return status_;
  int ws = 0;
  reaped_ = true;
  CloseFd(pidfd_);
  status_ = WaitPid(pid_, &ws, 0) == pid_ ? ExitStatus::FromWaitStatus(ws) : ExitStatus{};
  return status_;
}

void Child::Signal(int signal) {
  if (reaped_ || pid_ <= 0) return;  // the pid may belong to someone else by now
  ::kill(group_leader_ ? -pid_ : pid_, signal);
}

ExitStatus Child::Stop(std::chrono::milliseconds grace) {
  if (grace.count() > 0) {
    Signal(SIGTERM);
    WaitEndedUntil(Clock::now() + grace);
  }
  Signal(SIGKILL);
  return Wait();
}

Result<Child> Spawn(const Spec& spec) {
  auto prepared = Prepare(spec);
  if (!prepared) return prepared.error();
  Pipe in;
  Pipe out;
  Pipe err;
  Pipe status;
  if ((spec.stdin_stream.kind == Stream::Kind::kPipe && !in.Open()) ||
      (spec.stdout_stream.kind == Stream::Kind::kPipe && !out.Open()) ||
      (spec.stderr_stream.kind == Stream::Kind::kPipe && !err.Open()) || !status.Open()) {
    return Unavailable(std::string("pipe: ") + std::strerror(errno));
  }
  const int write_flags = O_WRONLY | O_CREAT | O_TRUNC;
  const std::array<ChildStream, 3> streams{{
      {STDIN_FILENO, Stage::kStdin, &spec.stdin_stream, in.read, O_RDONLY},
      {STDOUT_FILENO, Stage::kStdout, &spec.stdout_stream, out.write, write_flags},
      {STDERR_FILENO, Stage::kStderr, &spec.stderr_stream, err.write, write_flags},
  }};
  const pid_t parent = ::getpid();
  const pid_t pid = ForkBlocked(Fork::kShareMemory, [&] {
    if (spec.new_process_group) ::setpgid(0, 0);
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent is already gone
    }
    ExecChild(*prepared, spec, streams, status.write);
  });
  if (pid < 0) return Unavailable(std::string("fork: ") + std::strerror(errno));
  CloseFd(status.write);
  CloseFd(in.read);
  CloseFd(out.write);
  CloseFd(err.write);
  const Reports reports = ReadReports(status.read);
  Child child;
  child.pid_ = pid;
  child.pidfd_ = OpenPidFd(pid);
  child.group_leader_ = spec.new_process_group;
  if (reports.failure) {
    child.Wait();
    return Unavailable(Describe(spec, *reports.failure));
  }
  child.stdin_fd_ = std::exchange(in.write, -1);
  child.stdout_fd_ = std::exchange(out.read, -1);
  child.stderr_fd_ = std::exchange(err.read, -1);
  return child;
}

Result<pid_t> SpawnDetached(const Spec& spec) {
  if (HasPipe(spec) || spec.die_with_parent) {
    return InvalidArgument("a detached process has no pipes to us and outlives us");
  }
  auto prepared = Prepare(spec);
  if (!prepared) return prepared.error();
  Pipe status;
  if (!status.Open()) return Unavailable(std::string("pipe: ") + std::strerror(errno));
  const std::array<ChildStream, 3> streams{{
      {STDIN_FILENO, Stage::kStdin, &spec.stdin_stream, -1, O_RDONLY},
      {STDOUT_FILENO, Stage::kStdout, &spec.stdout_stream, -1, O_WRONLY | O_CREAT | O_TRUNC},
      {STDERR_FILENO, Stage::kStderr, &spec.stderr_stream, -1, O_WRONLY | O_CREAT | O_TRUNC},
  }};
  const pid_t middle = ForkBlocked(Fork::kCopy, [&] {
    const pid_t grandchild = ::fork();
    if (grandchild < 0) Tell(status.write, Stage::kFork, errno);
    if (grandchild != 0) ::_exit(0);
    // A new session: the grandchild leads its own process group and has no terminal.
    ::setsid();
    Tell(status.write, Stage::kPid, static_cast<int>(::getpid()));
    ExecChild(*prepared, spec, streams, status.write);
  });
  if (middle < 0) return Unavailable(std::string("fork: ") + std::strerror(errno));
  CloseFd(status.write);
  const Reports reports = ReadReports(status.read);
  int ignored = 0;
  WaitPid(middle, &ignored, 0);
  if (reports.failure) return Unavailable(Describe(spec, *reports.failure));
  if (reports.pid <= 0) return Unavailable("cannot start '" + spec.argv[0] + "': no pid");
  return reports.pid;
}

Result<RunResult> Run(const Spec& spec, const RunOptions& options) {
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  std::optional<SigpipeBlocked> sigpipe;
  if (spec.stdin_stream.kind == Stream::Kind::kPipe && !options.stdin_data.empty()) {
    sigpipe.emplace();
  }
  auto spawned = Spawn(spec);
  if (!spawned) return spawned.error();
  Child& child = *spawned;
  if (child.stdin_fd() >= 0 && options.stdin_data.empty()) child.CloseStdin();
  if (child.stdin_fd() >= 0) ::fcntl(child.stdin_fd(), F_SETFL, O_NONBLOCK);
  std::size_t in_offset = 0;

  RunResult result;
  bool ended = false;
  int poll_errno = 0;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (!ended && child.HasEnded()) {
      ended = true;
      if (options.kill_group_on_exit) child.Signal(SIGKILL);
      child.CloseStdin();
    }
    if (ended && child.stdout_fd() < 0 && child.stderr_fd() < 0) break;
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    // Indexes: 0 stdout, 1 stderr, 2 stdin, 3 the child's end (a process it left behind
    // may hold the pipes open); fd -1 is ignored by poll.
    std::array<pollfd, 4> fds{{{child.stdout_fd(), POLLIN, 0},
                               {child.stderr_fd(), POLLIN, 0},
                               {child.stdin_fd(), POLLOUT, 0},
                               {ended ? -1 : child.pidfd_, POLLIN, 0}}};
    const int rc =
        ::poll(fds.data(), fds.size(), PollMs(deadline, ended || child.pidfd_ >= 0, pause));
    if (rc < 0 && errno != EINTR) {
      poll_errno = errno;
      break;
    }
    if (rc == 0) pause = std::min(pause * 2, kMaxPause);
    if (rc <= 0) continue;
    if (fds[0].revents != 0) {
      Drain(child.stdout_fd_, result.out, result.out_truncated, options.max_output_bytes);
    }
    if (fds[1].revents != 0) {
      Drain(child.stderr_fd_, result.err, result.err_truncated, options.max_output_bytes);
    }
    if ((fds[2].revents & (POLLERR | POLLHUP)) != 0) {
      child.CloseStdin();
    } else if (fds[2].revents != 0) {
      const ssize_t put = ::write(child.stdin_fd(), options.stdin_data.data() + in_offset,
                                  options.stdin_data.size() - in_offset);
      if (put > 0) in_offset += static_cast<std::size_t>(put);
      if (put < 0 && errno == EPIPE) sigpipe->Raised();
      if ((put < 0 && errno != EAGAIN && errno != EINTR) ||
          in_offset >= options.stdin_data.size()) {
        child.CloseStdin();
      }
    }
  }
  child.CloseStdin();
  child.CloseStdout();
  child.CloseStderr();
  if (!ended) {
    result.status = child.Stop(options.kill_grace);
  } else {
    if (result.timed_out) child.Signal(SIGKILL);  // what still held the pipes
    result.status = child.Wait();
  }
  result.wall = Clock::now() - start;
  if (poll_errno != 0) return Internal(std::string("poll: ") + std::strerror(poll_errno));
  return result;
}

std::string FindOnPath(const std::string& name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  }
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    std::size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(pos, end - pos);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace rtgw::process
